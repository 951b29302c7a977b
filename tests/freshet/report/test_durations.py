"""Step durations: an inline SVG of one bar per step, drawn without matplotlib."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

from freshet.report import write_report
from freshet.report.dag import STATE_COLORS
from freshet.report.durations import render_durations_svg
from tests.freshet.ops_fixtures import STEPS, make_summary

SVG = "{http://www.w3.org/2000/svg}"


def _rows(svg: str) -> list[dict[str, str]]:
    """Each bar's step name, duration label, bar width and colors, read from the SVG."""
    root = ElementTree.fromstring(svg)
    rows = []
    for group in root.iter(f"{SVG}g"):
        texts = [t.text or "" for t in group.iter(f"{SVG}text")]
        rect = next(group.iter(f"{SVG}rect"))
        rows.append(
            {
                "name": texts[0],
                "label": texts[1],
                "width": rect.get("width", ""),
                "fill": rect.get("fill", ""),
                "stroke": rect.get("stroke", ""),
            }
        )
    return rows


def test_the_page_shows_each_steps_name_and_seconds_without_a_png(tmp_path: Path) -> None:
    summary = make_summary(tmp_path, "training-1", failed_step="gate").model_dump()
    summary["steps"][0]["seconds"] = 0.04
    summary["steps"][1]["cached"] = True
    summary["steps"][2]["seconds"] = 75.0
    html = write_report(summary, tmp_path / "r.html").read_text()
    section = html.split("<h2>Where the time went</h2>", 1)[1].split("</section>", 1)[0]
    assert "<img" not in section
    match = re.search(r'<svg class="durations".*?</svg>', section)
    assert match is not None, section
    rows = _rows(match.group(0))
    assert [r["name"] for r in rows] == list(STEPS)
    assert [r["label"] for r in rows] == [
        "0.0 s",
        "1.5 s · cached",
        "1 min 15 s",
        "1.5 s",
        "1.5 s",  # gate failed after 1.5 s
        "skipped",
    ]
    assert float(rows[2]["width"]) > float(rows[3]["width"]) > float(rows[0]["width"])
    expected = ["succeeded"] * 4 + ["failed", "skipped"]
    assert [(r["fill"], r["stroke"]) for r in rows] == [STATE_COLORS[s] for s in expected]


def test_names_are_escaped_and_unknown_states_drawn_as_pending() -> None:
    svg = render_durations_svg(
        [
            {"name": "<b>&fetch", "status": "succeeded", "seconds": 2.0},
            {"name": 'say "hi"', "status": "weird", "seconds": 1.0},
        ]
    )
    rows = _rows(svg)  # parses: nothing unescaped broke the XML
    assert [r["name"] for r in rows] == ["<b>&fetch", 'say "hi"']
    assert "<b>&fetch" not in svg and "&lt;b&gt;&amp;fetch" in svg
    assert (rows[1]["fill"], rows[1]["stroke"]) == STATE_COLORS["pending"]
    assert rows[1]["label"] == "pending"
    assert render_durations_svg([]) == ""
