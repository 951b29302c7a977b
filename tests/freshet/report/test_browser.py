"""The report in a real browser: headless Chromium loads it, nothing errs, images decode."""

from __future__ import annotations

import os
from pathlib import Path

import numpy
import pytest
from PIL import Image

from freshet.report import write_report
from tests.freshet.ops_fixtures import make_summary, register_champion
from tests.freshet.report.browser import chromium_binary, chromium_page


@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        return chromium_binary()
    except RuntimeError as exc:
        pytest.fail(str(exc))  # never a skip: CI installs Chromium


def test_report_renders_with_decoded_images_and_a_visible_confusion_matrix(
    chromium: str, tmp_path: Path
) -> None:
    version = register_champion(tmp_path, "training-old", accuracy=0.95)
    summary = make_summary(tmp_path, "training-new", accuracy=0.97, champion_version=version)
    page_path = write_report(summary.model_dump(), tmp_path / "report.html")

    with chromium_page() as page:
        loaded = page.load(page_path.as_uri())
        images = page.evaluate(
            "Array.from(document.images).map(i => ({id: i.id, alt: i.alt, "
            "complete: i.complete, width: i.naturalWidth, height: i.naturalHeight}))"
        )
        box = page.evaluate(
            "(() => { const r = document.getElementById('confusion-matrix')"
            ".getBoundingClientRect(); return {x: r.x + scrollX, y: r.y + scrollY, "
            "width: r.width, height: r.height}; })()"
        )
        durations = page.evaluate(
            "(() => { const s = document.querySelector('svg.durations'); "
            "const r = s.getBoundingClientRect(); return {width: r.width, height: r.height, "
            "bars: s.querySelectorAll('rect').length, text: s.textContent}; })()"
        )
        overflow = page.evaluate("document.documentElement.scrollWidth > innerWidth")
        shot = page.screenshot(tmp_path / "report.png")

    assert loaded.errors == []
    assert all(url.startswith(("file:", "data:")) for url in loaded.requests), loaded.requests
    assert len(images) == 2  # the confusion matrix and the per-class bars
    assert all(i["complete"] and i["width"] > 0 and i["height"] > 0 for i in images), images
    assert not overflow, "the page scrolls sideways at 1280 px"
    assert box["width"] > 250 and box["height"] > 250
    assert durations["width"] > 250 and durations["height"] > 100, durations
    assert durations["bars"] == 6 and "train" in durations["text"], durations

    # The screenshot shows the matrix: its diagonal is the darkest blue of the color map.
    with Image.open(shot) as image:
        crop = image.convert("RGB").crop(
            (
                int(box["x"]),
                int(box["y"]),
                int(box["x"] + box["width"]),
                int(box["y"] + box["height"]),
            )
        )
        pixels = numpy.asarray(crop, dtype=int)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    dark_blue = int(((blue > 90) & (red < 40) & (green < 90)).sum())
    assert dark_blue > 0.02 * crop.width * crop.height
    keep = os.environ.get("FRESHET_REPORT_SCREENSHOT")
    if keep:
        Path(keep).write_bytes(shot.read_bytes())


def test_failed_run_report_loads_without_errors(chromium: str, tmp_path: Path) -> None:
    summary = make_summary(tmp_path, "training-bad", status="failed", failed_step="evaluate")
    page_path = write_report(summary.model_dump(), tmp_path / "report.html")
    with chromium_page() as page:
        loaded = page.load(page_path.as_uri())
        text = page.evaluate("document.body.innerText")
    assert loaded.errors == []
    assert "Step evaluate failed." in text
    assert "out of memory" in text
