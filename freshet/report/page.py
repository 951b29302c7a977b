"""The report as one self-contained HTML page: inline CSS and SVG, PNG images as data URIs."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from freshet.report.dag import STATE_COLORS, render_svg
from freshet.report.data import Comparison, ReportData
from freshet.report.durations import render_durations_svg
from freshet.report.figure_cache import FigureCache
from freshet.summary import lower_is_better, metric_order

_CSS = """
:root { --ink:#202124; --muted:#5f6368; --line:#dadce0; --bg:#f8f9fa; --ok:#1e8e3e;
  --bad:#d93025; --warn:#f9ab00; --accent:#1a73e8; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
  color:var(--ink); background:var(--bg); }
main { max-width:1180px; margin:0 auto; padding:24px 28px 48px; }
header { display:flex; align-items:center; gap:16px; flex-wrap:wrap; }
h1 { font-size:22px; margin:0; font-weight:600; }
h2 { font-size:17px; margin:0 0 12px; font-weight:600; }
.badge { display:inline-block; padding:3px 12px; border-radius:999px; font-weight:600;
  font-size:13px; text-transform:uppercase; letter-spacing:.04em; color:#fff;
  background:var(--muted); }
.b-succeeded,.b-passed { background:var(--ok); } .b-failed,.b-rejected { background:var(--bad); }
.b-none { background:var(--muted); }
.meta { color:var(--muted); font-size:13.5px; margin:6px 0 18px; }
.meta span { margin-right:18px; white-space:nowrap; }
.meta code { color:var(--ink); }
section { background:#fff; border:1px solid var(--line); border-radius:10px; padding:18px 20px;
  margin:16px 0; }
.grid { display:grid; grid-template-columns:repeat(auto-fit,minmax(330px,1fr)); gap:16px;
  margin:16px 0; }
.grid section { margin:0; }
.cards { display:flex; gap:12px; flex-wrap:wrap; }
.card { border:1px solid var(--line); border-radius:8px; padding:10px 16px; min-width:150px; }
.card .k { color:var(--muted); font-size:12.5px; text-transform:uppercase; letter-spacing:.04em; }
.card .v { font-size:26px; font-weight:600; font-variant-numeric:tabular-nums; }
.card .d { font-size:12.5px; }
.up { color:var(--ok); } .down { color:var(--bad); } .flat { color:var(--muted); }
table { border-collapse:collapse; width:100%; font-size:14px; }
th,td { text-align:left; padding:6px 10px; border-bottom:1px solid var(--line);
  vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:12.5px; text-transform:uppercase; }
td.n { text-align:right; font-variant-numeric:tabular-nums; }
.ok { color:var(--ok); font-weight:600; } .no { color:var(--bad); font-weight:600; }
.error { border-color:#f5c2bd; background:#fef4f3; }
.error pre { white-space:pre-wrap; margin:8px 0 0; font-size:13px; }
.dagwrap { overflow-x:auto; }
svg.dag { max-width:100%; height:auto; font-family:inherit; }
svg.dag .step-name { font-size:14px; font-weight:600; fill:var(--ink); }
svg.dag .step-detail { font-size:12px; }
svg.durations { max-width:100%; height:auto; display:block; font-family:inherit; }
svg.durations .duration-name { font-size:13px; fill:var(--ink); }
svg.durations .duration-value { font-size:12px; font-variant-numeric:tabular-nums; }
img.fig { max-width:100%; height:auto; display:block; margin:0 auto; }
ul.reasons { margin:8px 0 0; padding-left:20px; }
.legend span { display:inline-flex; align-items:center; gap:6px; margin-right:14px;
  font-size:12.5px; color:var(--muted); }
.legend i { width:12px; height:12px; border-radius:3px; display:inline-block; border:2px solid; }
.muted { color:var(--muted); }
details summary { cursor:pointer; color:var(--accent); }
td code { overflow-wrap:anywhere; }
code { font-family:ui-monospace,SFMono-Regular,Menlo,monospace; font-size:12.5px; }
"""


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return escape(str(value))


def _when(iso: str | None) -> str:
    if not iso:
        return "–"
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    except ValueError:
        return escape(iso)


def _badge(state: str | None) -> str:
    text = state or "none"
    return f'<span class="badge b-{escape(text)}">{escape(text)}</span>'


def _delta(
    name: str, mine: float | None, theirs: float | None, gate: dict[str, Any] | None = None
) -> str:
    if mine is None or theirs is None:
        return '<span class="flat">–</span>'
    diff = mine - theirs
    if abs(diff) < 5e-5:
        return '<span class="flat">±0</span>'
    better = diff < 0 if lower_is_better(name, gate) else diff > 0
    arrow = "▲" if diff > 0 else "▼"
    return f'<span class="{"up" if better else "down"}">{arrow} {diff:+.4f}</span>'


def _header(s: dict[str, Any]) -> str:
    title = f"{escape(s.get('pipeline', '?'))} · run {escape(s.get('run_id', '?'))}"
    meta = {
        "started": _when(s.get("started_at")),
        "duration": f"{float(s.get('seconds', 0)):.1f} s",
        "trigger": escape(str(s.get("reason", "manual"))),
        "data": f"<code>{escape(str(s.get('data_uri') or '–'))}</code>",
        "data version": f"<code>{escape(str(s.get('data_version') or '–'))}</code>",
        "template": f"<code>{escape(str((s.get('template') or {}).get('version', '–')))}</code>",
    }
    spans = " ".join(f"<span>{k}: {v}</span>" for k, v in meta.items())
    gate = f" gate {_badge(s['decision'])}" if s.get("decision") else ""
    return (
        f"<header><h1>{title}</h1>{_badge(s.get('status'))}{gate}</header>"
        f'<div class="meta">{spans}</div>'
    )


def _error(s: dict[str, Any]) -> str:
    if not s.get("error") and s.get("status") != "failed":
        return ""
    failed = next((st["name"] for st in s.get("steps", []) if st.get("status") == "failed"), None)
    where = f"Step <b>{escape(failed)}</b> failed." if failed else "The run failed."
    log = f'<p class="muted">Full log: <code>{escape(s["log"])}</code></p>' if s.get("log") else ""
    return (
        f'<section class="error"><h2>What went wrong</h2>{where}'
        f"<pre>{escape(s.get('error') or 'no error message')}</pre>{log}</section>"
    )


def _dag(data: ReportData) -> str:
    steps = data.summary.get("steps", [])
    if not steps:
        return ""
    legend = "".join(
        f'<span><i style="background:{fill};border-color:{stroke}"></i>{state}</span>'
        for state, (fill, stroke) in STATE_COLORS.items()
        if state in ("succeeded", "failed", "skipped")
    )
    total = sum(float(st.get("seconds", 0.0)) for st in steps)
    cached = sum(1 for st in steps if st.get("cached"))
    return (
        f'<section><h2>Pipeline</h2><div class="dagwrap">{render_svg(steps, data.edges)}</div>'
        f'<div class="legend">{legend}<span>{len(steps)} steps, {cached} from cache, '
        f"{total:.1f} s in steps</span></div></section>"
    )


def _metrics(data: ReportData) -> str:
    metrics = data.summary.get("metrics") or {}
    if not metrics:
        return ""
    theirs = {name: champ for name, _, champ in (data.comparison.rows if data.comparison else [])}
    gate = data.summary.get("gate") or {}
    cards = []
    for name in metric_order(metrics, gate):
        value = metrics[name]
        digits = 0 if float(value).is_integer() and name != gate.get("metric") else 4
        delta = ""
        if theirs.get(name) is not None:
            delta = f'<div class="d">{_delta(name, value, theirs[name], gate)} vs champion</div>'
        cards.append(
            f'<div class="card"><div class="k">{escape(name)}</div>'
            f'<div class="v">{_fmt(float(value), digits)}</div>{delta}</div>'
        )
    return f'<section><h2>Metrics</h2><div class="cards">{"".join(cards)}</div></section>'


def _breakdowns(s: dict[str, Any], figures: FigureCache) -> str:
    """Counts by category that the run's metrics artifacts declared, as bars and a table."""
    from freshet.report.figures import counts_png

    sections = []
    for name, counts in (s.get("breakdowns") or {}).items():
        if not counts:
            continue
        title = name.replace("_", " ")
        total = sum(counts.values()) or 1.0
        rows = "".join(
            f'<tr><td>{escape(k)}</td><td class="n">{_fmt(float(v), 0)}</td>'
            f'<td class="n">{v / total:.1%}</td></tr>'
            for k, v in counts.items()
        )
        bars = figures.figure(counts_png, title=title, counts=counts)
        sections.append(
            f"<section><h2>{escape(title.capitalize())}</h2>"
            f'<img class="fig" alt="{escape(title)}" src="{bars}">'
            f"<details><summary>Table</summary><table><tr><th>{escape(title)}</th>"
            f"<th>count</th><th>share</th></tr>{rows}</table></details></section>"
        )
    return f'<div class="grid">{"".join(sections)}</div>' if sections else ""


def _had_gate(s: dict[str, Any]) -> bool:
    """Whether the run's pipeline judges a model (a gate record, a decision or a gate step)."""
    steps = s.get("steps") or []
    return bool(s.get("gate") or s.get("decision") or any(st.get("name") == "gate" for st in steps))


def _gate(s: dict[str, Any]) -> str:
    gate = s.get("gate") or {}
    if not gate:
        return '<section><h2>Gate</h2><p class="muted">The gate did not run.</p></section>'
    reasons = "".join(f"<li>{escape(str(r))}</li>" for r in gate.get("reasons", []))
    # Whatever the gate recorded: its metric, threshold, scores (and an older gate's policy).
    shown = {
        k: v
        for k, v in gate.items()
        if k not in ("decision", "reasons", "policy") and not isinstance(v, dict | list)
    }
    shown.update(gate.get("policy") or {})
    rules = ", ".join(f"{escape(str(k))} = {_fmt(v)}" for k, v in shown.items() if v is not None)
    champion = s.get("champion") or {}
    outcome = ""
    if champion:
        outcome = (
            f"<p>Champion is now <b>v{escape(str(champion.get('version')))}</b>"
            + (" (promoted by this run)." if champion.get("promoted_by_this_run") else ".")
            + "</p>"
        )
    return (
        f"<section><h2>Gate {_badge(gate.get('decision'))}</h2>"
        f'<ul class="reasons">{reasons}</ul><p class="muted">Gate record: {rules}</p>'
        f"{outcome}</section>"
    )


def _comparison(c: Comparison | None, gate: dict[str, Any]) -> str:
    if c is None:
        return (
            "<section><h2>Against the champion</h2>"
            '<p class="muted">There was no champion to compare with.</p></section>'
        )
    rows = "".join(
        f'<tr><td>{escape(n)}</td><td class="n">{_fmt(mine)}</td><td class="n">{_fmt(theirs)}</td>'
        f'<td class="n">{_delta(n, mine, theirs, gate)}</td></tr>'
        for n, mine, theirs in c.rows
    )
    return (
        "<section><h2>Against the champion</h2>"
        f'<p class="muted">Compared with {escape(c.note)}: trained by run '
        f"<code>{escape(c.champion_run_id or '–')}</code> on data "
        f"<code>{escape(c.champion_data_version or '–')}</code>.</p>"
        "<table><tr><th>metric</th><th>this run</th>"
        f"<th>champion v{c.champion_version}</th><th>change</th></tr>{rows}</table></section>"
    )


def _evaluation(data: ReportData, figures: FigureCache) -> str:
    ev = data.evaluation
    if not ev or not ev.get("confusion_matrix"):
        return ""
    from freshet.report.figures import confusion_matrix_png, per_class_png

    matrix = figures.figure(
        confusion_matrix_png, labels=ev["labels"], matrix=ev["confusion_matrix"]
    )
    per_class = ev.get("per_class") or {}
    rows = "".join(
        f'<tr><td>{escape(label)}</td><td class="n">{_fmt(v.get("precision"), 3)}</td>'
        f'<td class="n">{_fmt(v.get("recall"), 3)}</td><td class="n">{_fmt(v.get("f1"), 3)}</td>'
        f'<td class="n">{int(v.get("support", 0))}</td></tr>'
        for label, v in sorted(per_class.items(), key=lambda item: item[1].get("f1", 0.0))
    )
    bars = (
        f'<img class="fig" alt="per-class precision, recall and F1" '
        f'src="{figures.figure(per_class_png, per_class=per_class)}">'
        if per_class
        else ""
    )
    return (
        '<div class="grid"><section><h2>Confusion matrix</h2>'
        '<img class="fig" id="confusion-matrix"'
        f' alt="confusion matrix on {ev.get("test_rows", "?")} test rows" src="{matrix}"></section>'
        f"<section><h2>Per class</h2>{bars}<details><summary>Table (worst F1 first)</summary>"
        "<table><tr><th>class</th><th>precision</th><th>recall</th><th>f1</th><th>support</th></tr>"
        f"{rows}</table></details></section></div>"
    )


def _verification(data: ReportData) -> str:
    v = data.verification
    if v is None:
        state = data.summary.get("verification")
        if not state:
            return ""
        return f"<section><h2>Verification {_badge(str(state))}</h2></section>"
    checks = "".join(
        f"<tr><td>{escape(c.get('name', ''))}</td>"
        f'<td class="{"ok" if c.get("passed") else "no"}">{"pass" if c.get("passed") else "FAIL"}'
        f"</td><td>{escape(c.get('detail', ''))}</td></tr>"
        for c in v.get("checks", [])
    )
    latency = v.get("latency") or {}
    cards = ""
    if latency:
        slo = latency.get("slo_p99_ms")
        p99_class = "up" if slo is None or latency.get("p99_ms", 0) <= slo else "down"
        items = [
            ("p50", f"{_fmt(latency.get('p50_ms'), 2)} ms", ""),
            ("p99", f"{_fmt(latency.get('p99_ms'), 2)} ms", f"SLO ≤ {_fmt(slo, 0)} ms"),
            ("mean", f"{_fmt(latency.get('mean_ms'), 2)} ms", ""),
            ("throughput", f"{_fmt(latency.get('requests_per_s'), 0)}/s", "sequential"),
            ("requests", f"{latency.get('requests', '–')}", f"{latency.get('errors', 0)} errors"),
        ]
        cards = (
            '<div class="cards" style="margin-bottom:12px">'
            + "".join(
                f'<div class="card"><div class="k">{k}</div><div class="v">{val}</div>'
                f'<div class="d {p99_class if k == "p99" else "flat"}">{note}</div></div>'
                for k, val, note in items
            )
            + "</div>"
        )
    state = "passed" if v.get("passed") else "failed"
    startup = f'<p class="muted">Healthy after {_fmt(v.get("startup_s"), 2)} s.</p>'
    return (
        f"<section><h2>Verification of the serving bundle {_badge(state)}</h2>{cards}"
        f"<table><tr><th>check</th><th>result</th><th>detail</th></tr>{checks}</table>"
        f"{startup if v.get('startup_s') is not None else ''}</section>"
    )


def _details(data: ReportData) -> str:
    s = data.summary
    params = "".join(
        f"<tr><td>{escape(k)}</td><td><code>{escape(str(v))}</code></td></tr>"
        for k, v in sorted((s.get("parameters") or {}).items())
    )
    artifacts = "".join(
        f"<tr><td>{escape(k)}</td><td><code>{escape(str(v))}</code></td></tr>"
        for k, v in sorted((s.get("artifacts") or {}).items())
    )
    notes = "".join(f'<p class="muted">{escape(n)}</p>' for n in data.notes)
    durations = render_durations_svg(s.get("steps") or [])
    return (
        f'<div class="grid"><section><h2>Where the time went</h2>{durations}</section>'
        f"<section><h2>Parameters</h2><table>{params}</table></section></div>"
        f"<section><h2>Artifacts</h2><table>{artifacts}</table>{notes}</section>"
    )


def render(data: ReportData, figures: FigureCache | None = None) -> str:
    """The whole page for one run.

    Args:
        data: What the page shows.
        figures: Where PNG figures are drawn or reused (default: drawn every time).
    """
    figures = figures or FigureCache(None)
    s = data.summary
    body = "".join(
        [
            _header(s),
            _error(s),
            _dag(data),
            _metrics(data),
            _breakdowns(s, figures),
            '<div class="grid">' if _had_gate(s) else "",
            _gate(s) if _had_gate(s) else "",
            _comparison(data.comparison, s.get("gate") or {}) if _had_gate(s) else "",
            "</div>" if _had_gate(s) else "",
            _evaluation(data, figures),
            _verification(data),
            _details(data),
        ]
    )
    title = f"{s.get('pipeline', 'run')} {s.get('run_id', '')}: {s.get('status', '')}"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
        f'<body><main>{body}<footer class="muted">freshet report · generated '
        f"{datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}</footer></main></body></html>"
    )
