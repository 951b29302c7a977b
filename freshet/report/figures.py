"""Figures of a run as PNG data URIs (matplotlib, Agg backend: no display, no network)."""

from __future__ import annotations

import base64
import io
from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _data_uri(figure: Any) -> str:
    plt = _pyplot()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def confusion_matrix_png(labels: list[str], matrix: list[list[int]]) -> str:
    """An annotated heat map: rows are true classes, columns predicted; off-diagonal in red.

    Args:
        labels: Class names.
        matrix: `matrix[i][j]` counts rows of true `labels[i]` predicted as `labels[j]`.

    Returns:
        A `data:image/png;base64,...` URI.
    """
    import numpy as np

    plt = _pyplot()
    counts = np.asarray(matrix, dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    size = max(4.0, 0.5 * len(labels) + 2.0)
    figure, axes = plt.subplots(figsize=(size + 1.2, size))
    image = axes.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(len(labels)):
        for j in range(len(labels)):
            value = int(counts[i, j])
            if value == 0:
                continue
            color = "white" if share[i, j] > 0.55 else ("#c5221f" if i != j else "#202124")
            weight = "bold" if i != j else "normal"
            axes.text(j, i, str(value), ha="center", va="center", color=color, fontweight=weight)
    axes.set_xticks(range(len(labels)), labels=labels)
    axes.set_yticks(range(len(labels)), labels=labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title("Confusion matrix (color: share of the true class)")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    return _data_uri(figure)


def per_class_png(per_class: dict[str, dict[str, float]]) -> str:
    """Precision, recall and F1 of each class as grouped bars, with the support below.

    Returns:
        A `data:image/png;base64,...` URI.
    """
    import numpy as np

    plt = _pyplot()
    labels = list(per_class)
    x = np.arange(len(labels))
    width = 0.27
    figure, axes = plt.subplots(figsize=(max(6.0, 0.7 * len(labels) + 2.0), 3.6))
    colors = {"precision": "#1a73e8", "recall": "#f9ab00", "f1": "#1e8e3e"}
    for k, (name, color) in enumerate(colors.items()):
        values = [per_class[label].get(name, 0.0) for label in labels]
        axes.bar(x + (k - 1) * width, values, width, label=name, color=color)
    lowest = min((per_class[label].get("f1", 1.0) for label in labels), default=1.0)
    axes.set_ylim(max(0.0, min(0.8, lowest - 0.1)), 1.02)
    axes.set_xticks(
        x,
        labels=[f"{label}\nn={int(per_class[label].get('support', 0))}" for label in labels],
    )
    axes.set_ylabel("score")
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, frameon=False)
    return _data_uri(figure)


def counts_png(title: str, counts: dict[str, float]) -> str:
    """One horizontal bar per category, in the given order, labelled with its count.

    Returns:
        A `data:image/png;base64,...` URI.
    """
    plt = _pyplot()
    names = list(counts)[::-1]
    values = [float(counts[name]) for name in names]
    figure, axes = plt.subplots(figsize=(6.5, 0.3 * len(names) + 1.0))
    bars = axes.barh(names, values, color="#1a73e8")
    axes.bar_label(bars, labels=[f"{v:g}" for v in values], padding=3, fontsize=8)
    axes.set_xlim(0, max(values, default=1.0) * 1.18 + 0.1)
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_title(title)
    return _data_uri(figure)
