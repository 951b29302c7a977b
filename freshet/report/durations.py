"""Where a run's time went, as an inline SVG: one bar per step, colored by its state.

Drawn by hand like the DAG (no matplotlib): the figure changes on every run, so it can never
come from the figure cache, and importing matplotlib for it cost more than the rest of the page.
"""

from __future__ import annotations

from html import escape
from typing import Any

from freshet.report.dag import STATE_COLORS, duration_text

_ROW_H, _BAR_H, _PAD, _BAR_W, _VALUE_W = 26, 18, 10, 300, 110
_CHAR_W = 7.6  # the width of one character of a 13 px label, generously


def _state(step: dict[str, Any]) -> str:
    state = str(step.get("status", "pending"))
    return state if state in STATE_COLORS else "pending"


def _label(step: dict[str, Any]) -> str:
    state = _state(step)
    if state not in ("succeeded", "failed"):
        return state
    text = duration_text(float(step.get("seconds", 0.0)))
    return f"{text} · cached" if step.get("cached") else text


def render_durations_svg(steps: list[dict[str, Any]]) -> str:
    """Horizontal bars of each step's seconds, in step order, with the name and the duration.

    Args:
        steps: The summary's step records (`name`, `status`, `seconds`, `cached`).

    Returns:
        An `<svg>` element (empty string when there are no steps).
    """
    if not steps:
        return ""
    seconds = [max(0.0, float(s.get("seconds", 0.0))) for s in steps]
    longest = max(seconds) or 1.0
    name_w = round(min(28, max(len(str(s["name"])) for s in steps)) * _CHAR_W) + _PAD
    width = _PAD + name_w + _BAR_W + _VALUE_W
    height = _PAD * 2 + len(steps) * _ROW_H
    axis_x = _PAD + name_w
    parts = [
        f'<svg class="durations" role="img" aria-label="step durations" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{axis_x}" y1="{_PAD - 2}" x2="{axis_x}" y2="{height - _PAD + 2}" '
        'stroke="#dadce0"/>',
    ]
    for row, (step, value) in enumerate(zip(steps, seconds, strict=True)):
        state = _state(step)
        fill, stroke = STATE_COLORS[state]
        y = _PAD + row * _ROW_H
        middle = y + _ROW_H / 2
        bar = max(2.0, round(_BAR_W * value / longest, 1))
        name = escape(str(step["name"]))
        label = escape(_label(step))
        parts.append(
            f'<g class="duration step-{escape(state)}">'
            f"<title>{name}: {escape(state)}, {value:.3f} s</title>"
            f'<text x="{axis_x - 8}" y="{middle}" text-anchor="end" dominant-baseline="middle" '
            f'class="duration-name">{name}</text>'
            f'<rect x="{axis_x}" y="{y + (_ROW_H - _BAR_H) / 2}" width="{bar}" height="{_BAR_H}" '
            f'rx="3" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'
            f'<text x="{axis_x + bar + 6}" y="{middle}" dominant-baseline="middle" '
            f'class="duration-value" fill="{stroke}">{label}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
