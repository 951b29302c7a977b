"""The pipeline DAG as an inline SVG: one box per step, colored by state, with its duration."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

STATE_COLORS = {
    "succeeded": ("#e6f4ea", "#1e8e3e"),
    "failed": ("#fce8e6", "#d93025"),
    "skipped": ("#f1f3f4", "#80868b"),
    "running": ("#fef7e0", "#f9ab00"),
    "pending": ("#f1f3f4", "#80868b"),
}
_BOX_W, _BOX_H, _GAP_X, _GAP_Y, _PAD = 132, 54, 34, 18, 12


def dag_edges(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """(upstream, downstream) pairs between executable tasks, sub-DAGs (dsl.If) flattened.

    A task inside a sub-DAG depends on whatever the sub-DAG depends on, plus its siblings.
    """
    from freshet.lint.spec import tasks_of

    edges = {(up, task.name) for task in tasks_of(spec) for up in task.upstream}
    return transitive_reduction(sorted(edges))


def transitive_reduction(edges: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The edges without those implied by a longer path (fewer crossing lines)."""
    children: dict[str, set[str]] = {}
    for up, down in edges:
        children.setdefault(up, set()).add(down)

    def reachable(start: str, skip: tuple[str, str]) -> set[str]:
        seen: set[str] = set()
        stack = [start]
        while stack:
            node = stack.pop()
            for child in children.get(node, ()):
                if (node, child) != skip and child not in seen:
                    seen.add(child)
                    stack.append(child)
        return seen

    return [(u, d) for u, d in edges if d not in reachable(u, (u, d))]


def load_edges(template_path: str | None) -> list[tuple[str, str]] | None:
    """Edges of a compiled template file, or None when it cannot be read."""
    if not template_path or not Path(template_path).exists():
        return None
    import yaml

    from freshet.params import yaml_documents

    try:
        # libyaml: the pure-Python parser took ~0.15 s of a cached report. A template with
        # Kubernetes settings has a second document (the platform spec): the first is the DAG.
        spec = next(iter(yaml_documents(Path(template_path).read_text())), None)
        return dag_edges(spec) if isinstance(spec, dict) else None
    except (OSError, yaml.YAMLError):
        return None


def layers(names: list[str], edges: list[tuple[str, str]]) -> list[list[str]]:
    """Steps grouped by depth (longest path from a root), in the given order inside a layer."""
    depth = {name: 0 for name in names}
    for _ in names:  # relax: at most len(names) rounds in a DAG
        changed = False
        for up, down in edges:
            if up in depth and down in depth and depth[down] < depth[up] + 1:
                depth[down] = depth[up] + 1
                changed = True
        if not changed:
            break
    grouped: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for name in names:
        grouped[depth[name]].append(name)
    return grouped


def render_svg(steps: list[dict[str, Any]], edges: list[tuple[str, str]] | None) -> str:
    """The DAG of a run's steps as an SVG element (a chain in step order when edges are unknown)."""
    names = [s["name"] for s in steps]
    if edges is None:
        edges = list(zip(names, names[1:], strict=False))
    by_name = {s["name"]: s for s in steps}
    grouped = layers(names, edges)
    tallest = max((len(g) for g in grouped), default=1)
    width = _PAD * 2 + len(grouped) * _BOX_W + (len(grouped) - 1) * _GAP_X
    height = _PAD * 2 + tallest * _BOX_H + (tallest - 1) * _GAP_Y
    where: dict[str, tuple[float, float]] = {}
    for col, group in enumerate(grouped):
        offset = (tallest - len(group)) * (_BOX_H + _GAP_Y) / 2
        for row, name in enumerate(group):
            where[name] = (_PAD + col * (_BOX_W + _GAP_X), _PAD + offset + row * (_BOX_H + _GAP_Y))
    parts = [
        f'<svg class="dag" role="img" aria-label="pipeline steps" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#9aa0a6"/></marker>'
        "</defs>",
    ]
    for up, down in edges:
        if up in where and down in where:
            x1, y1 = where[up][0] + _BOX_W, where[up][1] + _BOX_H / 2
            x2, y2 = where[down][0], where[down][1] + _BOX_H / 2
            mid = (x1 + x2) / 2
            parts.append(
                f'<path d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2 - 2},{y2}" fill="none" '
                'stroke="#9aa0a6" stroke-width="1.5" marker-end="url(#arrow)"/>'
            )
    for name, (x, y) in where.items():
        step = by_name[name]
        fill, stroke = STATE_COLORS.get(step.get("status", "pending"), STATE_COLORS["pending"])
        detail = step.get("status", "pending")
        if step.get("status") in ("succeeded", "failed"):
            detail += " · cached" if step.get("cached") else f" · {duration_text(step['seconds'])}"
        parts.append(
            f'<g class="step step-{escape(step.get("status", "pending"))}">'
            f"<title>{escape(name)}: {escape(detail)}</title>"
            f'<rect x="{x}" y="{y}" width="{_BOX_W}" height="{_BOX_H}" rx="8" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="2"/>'
            f'<text x="{x + _BOX_W / 2}" y="{y + 22}" text-anchor="middle" class="step-name">'
            f"{escape(name)}</text>"
            f'<text x="{x + _BOX_W / 2}" y="{y + 41}" text-anchor="middle" class="step-detail" '
            f'fill="{stroke}">{escape(detail)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def duration_text(seconds: float) -> str:
    """Seconds as people read them: `4.2 s` under a minute, `3 min 07 s` above."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest:02d} s"
