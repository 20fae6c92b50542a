"""Figures and plot data for 2-D maps of latent codes (see ``fmae.latent.projection``).

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot global state), so
concurrent UI requests never share a figure; Agg renders them. matplotlib is imported inside
``embedding_figure`` (about 1 s), so importing ``fmae.latent`` stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fmae.latent.projection import LABELS, Projection

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

DRAWING_LABEL = "your drawing"
_COLORS = [
    f"tab:{c}" for c in ("blue", "orange", "green", "red", "purple", "brown", "pink", "gray", "olive", "cyan")
]


def projection_title(projection: Projection) -> str:
    """'t-SNE · 3.1 s' plus a second line of scores when the projection has them."""
    head = f"{LABELS.get(projection.method, projection.method)} · {projection.seconds:.1f} s"
    s = projection.scores
    if not s:
        return head
    return (
        f"{head}\ntrust {s.get('trustworthiness', float('nan')):.3f} · "
        f"kNN 2-D {s.get('knn2d_acc', float('nan')):.2f} (latent {s.get('knn_latent_acc', float('nan')):.2f})"
    )


def _labels_of(projection: Projection) -> np.ndarray:
    if projection.labels is None:
        return np.zeros(len(projection), np.int64)
    return np.asarray(projection.labels, np.int64)


def _frame(ax: Any, coords: np.ndarray, extra: np.ndarray | None) -> None:
    """Zoom to the central 96% when a few outliers would squash the rest (LLE does that)."""
    lo, hi = np.quantile(coords, [0.02, 0.98], axis=0)
    full = np.ptp(coords, axis=0)
    if np.all(full <= 3 * np.maximum(hi - lo, 1e-12)):
        return
    if extra is not None:
        lo, hi = np.minimum(lo, extra), np.maximum(hi, extra)
    pad = 0.25 * np.maximum(hi - lo, 1e-12)
    ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
    ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])


def embedding_figure(
    projections: Sequence[Projection],
    class_names: Sequence[str],
    drawing: Mapping[str, np.ndarray] | None = None,
    panel_size: float = 4.2,
) -> Figure:
    """One scatter per projection side by side, coloured by class, titled with time and scores.

    ``drawing`` maps a method name to the (2,) position of the user's drawing on that map
    (from ``fmae.latent.place``); it is drawn as a large black-edged star on that panel.
    """
    count = max(len(projections), 1)
    from matplotlib.figure import Figure  # deferred: matplotlib costs ~1 s to import
    from matplotlib.lines import Line2D

    fig = Figure(figsize=(panel_size * count, panel_size + 0.9), layout="constrained")
    axes = fig.subplots(1, count, squeeze=False)[0]
    size = 4.0 if max((len(p) for p in projections), default=0) > 3000 else 8.0
    for ax, projection in zip(axes, projections, strict=False):  # no projections: one empty axis
        labels = _labels_of(projection)
        colors = np.array(_COLORS, dtype=object)[labels % len(_COLORS)]
        ax.scatter(projection.coords[:, 0], projection.coords[:, 1], c=list(colors), s=size, linewidths=0)
        point = None if drawing is None else drawing.get(projection.method)
        xy = None if point is None else np.asarray(point, np.float64).reshape(-1, 2)[0]
        _frame(ax, projection.coords, xy)
        if xy is not None:
            ax.scatter(
                [xy[0]], [xy[1]], marker="*", s=420, c="gold", edgecolors="black", linewidths=1.5, zorder=5
            )
        ax.set_title(projection_title(projection), fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    if not projections:
        axes[0].set_axis_off()
        axes[0].text(0.5, 0.5, "no maps yet", ha="center", va="center")
    handles = [
        Line2D([], [], marker="o", linestyle="", color=_COLORS[i % len(_COLORS)], label=name)
        for i, name in enumerate(class_names)
    ]
    if drawing:
        handles.append(
            Line2D(
                [],
                [],
                marker="*",
                linestyle="",
                markersize=14,
                color="gold",
                markeredgecolor="black",
                label=DRAWING_LABEL,
            )
        )
    fig.legend(
        handles=handles, loc="outside lower center", ncol=min(len(handles), 6), fontsize=9, frameon=False
    )
    return fig


def scatter_records(
    projection: Projection, class_names: Sequence[str], drawing: np.ndarray | None = None
) -> list[dict[str, Any]]:
    """Plain rows {x, y, class, index} for an interactive plot; ``index`` is the source-set row.

    With ``drawing`` (a (2,) position) one more row is added: class "your drawing", index -1.
    """
    labels = _labels_of(projection)
    indices = np.arange(len(projection)) if projection.indices is None else projection.indices
    rows = [
        {"x": float(x), "y": float(y), "class": class_names[int(c)], "index": int(i)}
        for (x, y), c, i in zip(projection.coords.tolist(), labels, indices, strict=True)
    ]
    if drawing is not None:
        xy = np.asarray(drawing, np.float64).reshape(-1, 2)[0]
        rows.append({"x": float(xy[0]), "y": float(xy[1]), "class": DRAWING_LABEL, "index": -1})
    return rows


def scatter_frame(
    projection: Projection, class_names: Sequence[str], drawing: np.ndarray | None = None
) -> pd.DataFrame:
    """``scatter_records`` as a DataFrame, what ``gr.ScatterPlot(x="x", y="y", color="class")`` takes."""
    import pandas as pd  # gradio depends on pandas; the library itself does not need it

    return pd.DataFrame(
        scatter_records(projection, class_names, drawing), columns=["x", "y", "class", "index"]
    )
