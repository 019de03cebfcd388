"""Figures (matplotlib, Agg backend): Figure 1 scatter, exposure bars (Figures 2, 6, 7, 10-12, 15),
and exposure against wages.

Chinese labels use the bundled WenQuanYi Micro Hei subset (``data/fonts``), registered as a
fallback after DejaVu Sans so Latin text keeps its usual look.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

    from .provenance import Provenance

CJK_FAMILY = "WenQuanYi Micro Hei"
LANGS = ("en", "zh", "both")


def setup_fonts() -> list[str]:
    """Select the Agg backend, register the bundled CJK font and return the font family list."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager

    from .data import FONT_PATH

    families = ["DejaVu Sans"]
    if FONT_PATH.is_file():
        if CJK_FAMILY not in {f.name for f in font_manager.fontManager.ttflist}:
            font_manager.fontManager.addfont(str(FONT_PATH))
        families.append(CJK_FAMILY)
    return families


def _with_fonts(func):
    """Run a figure builder with the CJK-capable font family list in effect."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        families = setup_fonts()
        import matplotlib.pyplot as plt

        with plt.rc_context({"font.family": families}):
            return func(*args, **kwargs)

    return wrapper


def _new(figsize):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


def label(code: str, en: str | None, zh: str | None, lang: str) -> str:
    """``"2-08 Teachers"``, ``"2-08 教学人员"`` or ``"2-08 教学人员 Teachers"``."""
    if lang not in LANGS:
        raise InputError(f"label language must be one of {LANGS}, got {lang!r}")
    parts = [code]
    if lang in ("zh", "both") and zh:
        parts.append(zh)
    if lang in ("en", "both") and en:
        parts.append(en)
    return " ".join(parts)


@_with_fonts
def bar_chart(values: pd.Series, labels: Sequence[str] | None = None, *, title: str, xlabel: str = "Exposure score", sort: bool = True, color: str = "#3a6ea5") -> Figure:
    """Horizontal bars of one score per unit (highest on top when ``sort``)."""
    import numpy as np

    v = values.astype(float)
    lab = list(labels) if labels is not None else [str(i) for i in v.index]
    if len(lab) != len(v):
        raise InputError(f"bar chart {title!r}: {len(lab)} labels for {len(v)} values")
    lab = [t if len(t) <= 72 else t[:71] + "…" for t in lab]
    order = np.argsort(v.to_numpy(), kind="stable") if sort else np.arange(len(v))[::-1]
    h = max(2.5, 0.26 * len(v) + 1.2)
    fig, ax = _new((12, h))
    y = np.arange(len(v))
    ax.barh(y, v.to_numpy()[order], color=color)
    ax.set_yticks(y, [lab[i] for i in order], fontsize=8)
    ax.set_xlabel(xlabel)
    fig.suptitle(title)
    ax.set_ylim(-0.6, len(v) - 0.4)
    ax.set_xlim(0, max(float(np.nanmax(v.to_numpy())), 1e-9) * 1.12)
    ax.grid(axis="x", alpha=0.3)
    for yi, xi in zip(y, v.to_numpy()[order]):
        ax.text(xi, yi, f" {xi:.2f}", va="center", fontsize=7)
    return fig


@_with_fonts
def grouped_bar_chart(table: pd.DataFrame, labels: Sequence[str], *, title: str, legend: dict[str, str] | None = None, xlabel: str = "Exposure score") -> Figure:
    """Horizontal grouped bars: one group per row, one bar per column."""
    import numpy as np

    k = table.shape[1]
    h = max(3.0, 0.22 * len(table) * k + 1.5)
    fig, ax = _new((12, h))
    y = np.arange(len(table))[::-1]
    width = 0.8 / k
    for j, col in enumerate(table.columns):
        ax.barh(y + (k - 1 - 2 * j) * width / 2, table[col].to_numpy(dtype=float), height=width, label=(legend or {}).get(col, col))
    ax.set_yticks(y, list(labels), fontsize=8)
    ax.set_xlabel(xlabel)
    fig.suptitle(title)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return fig


@_with_fonts
def scatter_fit(x, y, *, xlabel: str, ylabel: str, title: str, r: float | None = None, annotate: Sequence[str] | None = None, logy: bool = False) -> Figure:
    """Scatter with the least-squares line (of ``y`` or ``log y``) and ``r`` in the title."""
    import numpy as np

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    fig, ax = _new((7, 5.5))
    ax.scatter(x, y, s=22, alpha=0.75, color="#3a6ea5", edgecolor="white", linewidth=0.5)
    yy = np.log(y) if logy else y
    b, a = np.polyfit(x, yy, 1)
    xs = np.linspace(x.min(), x.max(), 50)
    ax.plot(xs, np.exp(a + b * xs) if logy else a + b * xs, color="#c0392b", lw=1.5, label="least-squares fit")
    if logy:
        ax.set_yscale("log")
    if annotate is not None:
        for xi, yi, t in zip(x, y, annotate):
            ax.annotate(t, (xi, yi), fontsize=7, xytext=(3, 2), textcoords="offset points")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title + (f" (r = {r:.2f})" if r is not None else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


@_with_fonts
def save(fig: Figure, path: str | Path, provenance: Provenance | None = None, *, dpi: int = 130) -> Path:
    """Write a PNG (provenance JSON in its ``Description`` text chunk) and close the figure."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"Software": "llm-labor"}
    if provenance is not None:
        meta["Description"] = provenance.to_json()
        meta["Software"] = f"llm-labor {provenance.version}"
    fig.savefig(path, dpi=dpi, metadata=meta)
    plt.close(fig)
    return path
