"""Plots of sweep results (matplotlib, Agg backend, PNG)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .status import Status

if TYPE_CHECKING:  # the callers that hand in datasets import xarray
    import xarray as xr

FACTOR_COLOURS = {"L": "#4C72B0", "H": "#DD8452", "M": "#55A868", "unused": "#FFFFFF"}
EXTRA_COLOURS = ["#55A868", "#C44E52", "#8172B3", "#937860"]
FACTOR_LABELS = {"L": "low-skill labour L", "H": "high-skill labour H", "M": "model M"}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _colours(names):
    out, extra = [], iter(EXTRA_COLOURS)
    for n in names:
        out.append(FACTOR_COLOURS.get(str(n)) or next(extra))
    return out


def _caption(fig, ds):
    """Scenario, version and commit in small grey type along the bottom edge, in a strip kept free of the axes."""
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set"):
        engine.set(rect=(0, 0.025, 1, 0.975))
    fig.text(0.01, 0.005, f"{ds.attrs.get('scenario_name', '')} · llm-labor {ds.attrs.get('package_version', '')} · "
             f"{ds.attrs.get('git_commit', '')[:12]}", fontsize=6, color="grey")


def _middle(ds, keep):
    """Fix every dimension not in ``keep`` at its middle index."""
    sel = {d: ds.sizes[d] // 2 for d in ds["status"].dims if d not in keep}
    sub = ds.isel(sel)
    return sub, {d: float(f"{float(sub[d]):.4g}") for d in sel}


def _thin(sub: xr.Dataset, dims, limit: int) -> tuple[xr.Dataset, str]:
    """Every k-th value along ``dims`` so that at most ``limit`` remain (large sweeps plot fast)."""
    steps = {d: -(-sub.sizes[d] // limit) for d in dims if sub.sizes[d] > limit}
    if not steps:
        return sub, ""
    note = ", ".join(f"every {k}th {d}" for d, k in steps.items())
    return sub.isel({d: slice(None, None, k) for d, k in steps.items()}), f" ({note} shown)"


STATUS_COLOURS = {Status.PENDING: "#BBBBBB", Status.UNBOUNDED: "#C44E52", Status.NOT_CONVERGED: "#8172B3",
                  Status.INADMISSIBLE: "#937860", Status.NO_BRACKET: "#DA8BC3", Status.ILL_CONDITIONED: "#E5AE38"}
#: a status without a colour above (e.g. one added later) is drawn in this one
OTHER_STATUS_COLOUR = "#999999"
#: hatch of each status band: an equilibrium whose values are not vouched for is cross-hatched, the others slashed
STATUS_HATCHES = {Status.ILL_CONDITIONED: "xx"}
DEFAULT_HATCH = "//"
#: a premium axis is logarithmic when its largest value exceeds its smallest by more than this factor
LOG_SPAN = 5.0


def _status_name(code: int) -> str:
    try:
        return Status(int(code)).name.lower().replace("_", " ")
    except ValueError:
        return f"status {int(code)}"


def _status_colour(code: int) -> str:
    try:
        return STATUS_COLOURS.get(Status(int(code)), OTHER_STATUS_COLOUR)
    except ValueError:
        return OTHER_STATUS_COLOUR


def _status_hatch(code: int) -> str:
    try:
        return STATUS_HATCHES.get(Status(int(code)), DEFAULT_HATCH)
    except ValueError:
        return DEFAULT_HATCH


def _accuracy(ds) -> float | None:
    """The accuracy ``ok`` vouches for in a sweep (the ``error`` variable's attribute), or None."""
    value = ds["error"].attrs.get("accuracy") if "error" in ds.variables else None
    return None if value is None else float(value)


def _status_text(code: int, accuracy: float | None = None) -> str:
    """What a status band means: 'ill conditioned: error above accuracy 1e-08', 'no equilibrium: unbounded'."""
    if code == Status.ILL_CONDITIONED:
        return "ill conditioned: error above accuracy" + (f" {accuracy:.3g}" if accuracy is not None else "")
    if code == Status.PENDING:
        return "not solved yet: pending"
    return f"no equilibrium: {_status_name(code)}"


def _status_label(code: int, n: int, unit: str = "points", accuracy: float | None = None) -> str:
    return f"{_status_text(code, accuracy)} ({n:,} {unit if n != 1 else unit.rstrip('s')})"


def _status_handles(status: np.ndarray, unit: str = "points", accuracy: float | None = None) -> list:
    """One hatched legend patch per status other than ok that occurs in ``status``, with its count."""
    from matplotlib.patches import Patch

    codes = np.asarray(status).ravel()
    handles = []
    for code in sorted(set(codes[codes != Status.OK].tolist())):
        n = int(np.sum(codes == code))
        handles.append(Patch(facecolor=_status_colour(code), alpha=0.6, hatch=_status_hatch(code), edgecolor="white",
                             label=_status_label(code, n, unit, accuracy)))
    return handles


def axis_label(ds: xr.Dataset, name: str) -> str:
    """A coordinate's label in words with its symbol: 'parameter count G', 'training tokens N̄'.

    Units other than the parameter registry's (dimensionless, or counts the long name already says) are appended.
    """
    from .params import all_parameters
    from .sweep import parameter_attrs

    attrs = ds[name].attrs if name in ds.variables else {}
    label = attrs.get("long_name") or parameter_attrs(name)["long_name"]
    units = attrs.get("units", "1")
    if units not in {"", *(p.unit for p in all_parameters())} and "since" not in units:
        label += f" ({units})"
    return label


def _fixed_text(fixed: dict) -> str:
    """``{'eta': 1.0, 'H': 0.6}`` -> ``'η = 1, H = 0.6'``."""
    from .sweep import parameter_symbol

    return ", ".join(f"{parameter_symbol(k)} = {v:.4g}" for k, v in fixed.items())


def _plain_log_ticks(axis) -> None:
    """Label a logarithmic axis spanning a few decades with plain numbers (2, 5, 10, 20) instead of 2×10⁰."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    low, high = sorted(axis.get_view_interval())
    fmt = FuncFormatter(lambda v, _: f"{v:g}")
    axis.set_major_formatter(fmt)
    if low > 0 and high / low < 100:
        axis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
        axis.set_minor_formatter(fmt)


def _log_premium(values) -> bool:
    """Whether a premium axis spanning ``values`` should be logarithmic (positive, more than LOG_SPAN apart)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return bool(v.size and v.min() > 0 and v.max() / v.min() > LOG_SPAN)


def premium_heatmap(ds: xr.Dataset, path: Path, log_dims=(), figure: bool = False):
    """Premium W_H/W_L over the first two swept dimensions at ``ok`` points; every other point hatched by status
    (``ill_conditioned`` points, whose values are not vouched for, cross-hatched in their own band).

    The colour scale is logarithmic when the premium spans more than a factor
    ``LOG_SPAN``.  Returns the path (or, with ``figure=True``, the matplotlib
    Figure, left open); None with fewer than two swept dimensions.
    """
    dims = ds["status"].dims
    if len(dims) < 2:
        return None
    plt = _plt()
    from matplotlib.colors import LogNorm

    xd, yd = dims[1], dims[0]
    sub, fixed = _middle(ds, (xd, yd))
    sub, thinned = _thin(sub, (xd, yd), 600)
    status = sub["status"].values
    z = np.ma.masked_where(status != Status.OK, sub["premium"].values)
    fig, ax = plt.subplots(figsize=(6.4, 5.2), constrained_layout=True)
    norm = LogNorm(vmin=float(z.min()), vmax=float(z.max())) if z.count() and _log_premium(z.compressed()) else None
    xe, ye = _edges(sub[xd].values, xd in log_dims), _edges(sub[yd].values, yd in log_dims)
    mesh = ax.pcolormesh(xe, ye, z, shading="flat", cmap="viridis", norm=norm)
    bar = fig.colorbar(mesh, ax=ax, label="skill premium $W_H/W_L$" + (" (log scale)" if norm is not None else ""))
    if norm is not None:
        _plain_log_ticks(bar.ax.yaxis)
    if "m" in sub:
        adopted = (sub["shares"].isel(factor=slice(2, None)).sum("factor") > 0).values.astype(float)
        adopted = np.where(status == Status.OK, adopted, np.nan)  # the frontier between ok points only
        if np.isfinite(adopted).any() and 0 < np.nanmean(adopted) < 1:
            ax.contour(sub[xd].values, sub[yd].values, adopted, levels=[0.5], colors="white", linewidths=1.2)
    for code in sorted(set(status[status != Status.OK].tolist())):
        _band(ax, xe, ye, status == code, _status_colour(code), _status_hatch(code))
    for d, setter in ((xd, ax.set_xscale), (yd, ax.set_yscale)):
        if d in log_dims:
            setter("log")
    ax.set_xlabel(axis_label(sub, xd))
    ax.set_ylabel(axis_label(sub, yd))
    title = "Skill premium $W_H/W_L$"
    if "m" in sub:
        title += " (white line: adoption frontier)"
    ax.set_title(title + thinned + (f"\nother parameters at {_fixed_text(fixed)}" if fixed else ""), fontsize=10)
    handles = _status_handles(status, accuracy=_accuracy(ds))
    if handles:
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=7, frameon=False,
                  ncol=min(len(handles), 2))
    _caption(fig, ds)
    return _finish(plt, fig, path, figure)


def _edges(x: np.ndarray, log: bool) -> np.ndarray:
    """Cell edges (n+1,) around coordinates ``x`` (n,): midpoints, geometric on a log axis, the ends mirrored."""
    x = np.asarray(x, dtype=float)
    if x.size == 1:
        return np.array([x[0] * 0.9, x[0] * 1.1]) if x[0] else np.array([-0.5, 0.5])
    mids = np.sqrt(x[1:] * x[:-1]) if log else 0.5 * (x[1:] + x[:-1])
    first, last = (x[0] ** 2 / mids[0], x[-1] ** 2 / mids[-1]) if log else (2 * x[0] - mids[0], 2 * x[-1] - mids[-1])
    return np.concatenate([[first], mids, [last]])


def _band(ax, xe: np.ndarray, ye: np.ndarray, mask: np.ndarray, colour: str, hatch: str):
    """Hatched rectangles over the cells where ``mask`` (ny, nx) is True, one per run along x (a PolyCollection:
    a QuadMesh does not draw hatches)."""
    from matplotlib.collections import PolyCollection

    verts = [[(xe[a], ye[r]), (xe[b], ye[r]), (xe[b], ye[r + 1]), (xe[a], ye[r + 1])]
             for r in range(mask.shape[0]) for a, b in _runs(mask[r])]
    band = PolyCollection(verts, facecolors=colour, alpha=0.6, hatch=hatch, edgecolors="white", linewidths=0)
    ax.add_collection(band, autolim=False)
    return band


def _finish(plt, fig, path, figure: bool):
    """Save ``fig`` to ``path``; return the Figure (``figure=True``, left open) or the path (closed)."""
    if path is not None:
        fig.savefig(path, dpi=130)
    if figure:
        return fig
    plt.close(fig)
    return path


def thresholds(ds: xr.Dataset, path: Path, log_dims=(), figure: bool = False):
    """Task assignment along [0,1] (bands) and the premium against the first swept parameter.

    Points that are not ``ok`` (no equilibrium, or ``ill_conditioned``: values
    not vouched for) are hatched bands coloured by status, each status named
    in the legend, and left out of the premium line; the premium axis is logarithmic when it spans
    more than a factor ``LOG_SPAN``.  Returns the path (or the Figure, with
    ``figure=True``).
    """
    dims = ds["status"].dims
    if not dims:
        return None
    plt = _plt()
    xd = dims[0]
    sub, fixed = _middle(ds, (xd,))
    sub, thinned = _thin(sub, (xd,), 400)
    x = sub[xd].values
    names = [str(n) for n in ds["factor"].values]
    colours = _colours(names)
    fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(8.0, 6.0), sharex=True, constrained_layout=True,
                                   gridspec_kw={"height_ratios": [2, 1]})
    b, f = sub["boundaries"].values, sub["segment_factor"].values
    ok = sub["status"].values == Status.OK
    if x.dtype.kind == "M":  # dates (a path sweep)
        half = (x[1:] - x[:-1]) / 2 if x.size > 1 else np.array([np.timedelta64(15, "D")], dtype=x.dtype.str.replace("M", "m"))
        edges = np.concatenate([[x[0] - half[0]], x[:-1] + half, [x[-1] + half[-1]]])
    else:
        edges = _edges(x, xd in log_dims)
    status = sub["status"].values
    for j in range(x.size):
        if not ok[j]:
            ax0.fill_between([edges[j], edges[j + 1]], 0, 1, facecolor=_status_colour(status[j]), alpha=0.6,
                             hatch=_status_hatch(status[j]), edgecolor="white", linewidth=0)
            continue
        for k in range(f.shape[1]):
            if f[j, k] >= 0 and b[j, k + 1] > b[j, k]:
                ax0.fill_between([edges[j], edges[j + 1]], b[j, k], b[j, k + 1], color=colours[f[j, k]], linewidth=0)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colours]
    labels = [FACTOR_LABELS.get(n, f"model {n}") for n in names]
    status_handles = _status_handles(status, accuracy=_accuracy(ds))
    ax0.legend(handles + status_handles, labels + [h.get_label() for h in status_handles], loc="upper left",
               bbox_to_anchor=(1.0, 1.0), fontsize=7, title="performed by")
    ax0.set_ylabel("task i (complexity)")
    ax0.set_ylim(0, 1)
    ax0.set_title("Who performs each task" + thinned + (f"\nother parameters at {_fixed_text(fixed)}" if fixed else ""),
                  fontsize=10)
    prem = np.where(ok, sub["premium"].values, np.nan)
    ax1.plot(x, prem, color="black")
    if _log_premium(prem):
        ax1.set_yscale("log")
        _plain_log_ticks(ax1.yaxis)
    ax1.set_ylabel("skill premium\n$W_H/W_L$")
    ax1.set_xlabel(axis_label(sub, xd))
    if xd in log_dims:
        ax1.set_xscale("log")
    _caption(fig, ds)
    return _finish(plt, fig, path, figure)


def assignment(ds: xr.Dataset, path: Path, points: list[dict], labels: list[str], figure: bool = False):
    """Bars along [0,1] coloured by the factor performing each task, one per chosen point.

    A point that is not ``ok`` is a hatched bar coloured and named by its
    status (an ``ill_conditioned`` one with its error estimate).  Returns the path (or the Figure, with ``figure=True``).
    """
    if not points:
        return None
    plt = _plt()
    names = [str(n) for n in ds["factor"].values]
    colours = _colours(names)
    fig, ax = plt.subplots(figsize=(7.5, 1.1 + 0.5 * len(points)), constrained_layout=True)
    accuracy = _accuracy(ds)
    shown = []
    for row, (index, label) in enumerate(zip(points, labels)):
        p = ds.isel(index) if index else ds
        shown.append(int(p["status"]))
        code = int(p["status"])
        if code != Status.OK:
            ax.barh(row, 1.0, left=0.0, facecolor=_status_colour(code), alpha=0.6, hatch=_status_hatch(code), edgecolor="white")
            text = _status_text(code, accuracy)
            if code == Status.ILL_CONDITIONED and "error" in p:
                text = text.replace("error above", f"error {float(p['error']):.1e} above")
            ax.text(0.5, row, text, ha="center", va="center", fontsize=8)
            continue
        b, f = p["boundaries"].values, p["segment_factor"].values
        for k in range(f.size):
            if f[k] >= 0 and b[k + 1] > b[k]:
                ax.barh(row, b[k + 1] - b[k], left=b[k], color=colours[f[k]], edgecolor="white", linewidth=0.5)
        ax.text(1.01, row, f"premium {float(p['premium']):.3f}", va="center", fontsize=8)
    ax.set_yticks(range(len(points)), labels, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("task i (complexity)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colours] + _status_handles(shown, accuracy=accuracy)
    legend_labels = [FACTOR_LABELS.get(n, f"model {n}") for n in names] + [h.get_label() for h in handles[len(names):]]
    ax.legend(handles, legend_labels, ncol=min(len(handles), 4), loc="lower center", bbox_to_anchor=(0.5, 1.0),
              fontsize=7, frameon=False)
    ax.invert_yaxis()  # first point on top
    _caption(fig, ds)
    return _finish(plt, fig, path, figure)


def _frontier_axes(ds: xr.Dataset) -> tuple[str, str]:
    """Names of the G and N_bar coordinates of a path sweep (marked by their ``frontier_axis`` attribute)."""
    found = {ds[c].attrs.get("frontier_axis"): c for c in ds.coords}
    return found["G"], found["N_bar"]


def _factor_raster(boundaries: np.ndarray, factors: np.ndarray, ok: np.ndarray, rows: int = 1000) -> np.ndarray:
    """Factor index at ``rows`` task cells for each point: (rows, points), NaN where the point is not ok."""
    centres = (np.arange(rows) + 0.5) / rows
    out = np.full((rows, boundaries.shape[0]), np.nan)
    for j in np.flatnonzero(ok):
        b = np.nan_to_num(boundaries[j], nan=1.0)
        seg = np.clip(np.searchsorted(b, centres, side="right") - 1, 0, factors.shape[1] - 1)
        f = factors[j][seg].astype(float)
        out[:, j] = np.where(f >= 0, f, np.nan)
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs [a, b) of True in a boolean vector."""
    padded = np.concatenate([[False], mask, [False]]).astype(int)
    change = np.flatnonzero(np.diff(padded))
    return list(zip(change[::2], change[1::2]))


def frontier(ds: xr.Dataset, path: Path, max_labels: int = 45, figure: bool = False):
    """A path sweep over calendar time, in stacked panels sharing the date axis.

    From the top: the models that moved the frontier (labels; dotted lines
    through every panel), G(t) and N(t) (log), the skill premium W_H/W_L (log
    when it spans more than a factor 5), who performs each task of [0, 1],
    the LLM's task share, output Y.  The path is a step function: each value
    holds from its date to the next.  Points whose status is not ``ok`` are
    shaded, with a legend entry naming the status.  Returns the path (or the
    Figure, with ``figure=True``); None unless ``ds`` has a ``date`` dimension.
    """
    import json

    if ds["status"].dims != ("date",):
        return None
    plt = _plt()
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    from .params import ScalingLLM, parameter

    ds = ds.load() if hasattr(ds, "load") else ds
    x = ds["date"].values.astype("datetime64[s]")
    n = x.size
    step = x[-1] - x[-2] if n > 1 else np.timedelta64(31, "D").astype("timedelta64[s]")
    edges = np.concatenate([x, [x[-1] + step]])
    status = ds["status"].values.astype(int)
    ok = status == Status.OK
    g_name, n_name = _frontier_axes(ds)

    def stepped(values):
        return edges, np.append(values, values[-1])

    fig, axes = plt.subplots(6, 1, figsize=(8.0, 11.5), sharex=True, constrained_layout=True,
                             gridspec_kw={"height_ratios": [0.9, 1.5, 1.2, 1.6, 0.9, 0.9]})
    ax_labels, ax_gn, ax_prem, ax_tasks, ax_share, ax_y = axes

    # frontier moves: dotted lines everywhere, names in the top strip (thinned when crowded)
    moved = [k for k, m in enumerate(ds["frontier_model"].values) if str(m)]
    span = (edges[-1] - edges[0]).astype(float)
    shown, last = 0, None
    for k in moved:
        for ax in axes:
            ax.axvline(x[k], color="grey", linestyle=":", linewidth=0.7, zorder=0.5)
        if last is None or (x[k] - last).astype(float) >= span / max_labels:
            name = str(ds["frontier_model"].values[k])
            name = name if len(name) <= 34 else name[:33] + "…"
            ax_labels.text(x[k], 0.02, name, rotation=90, fontsize=5.5, va="bottom", ha="right", clip_on=False)
            shown, last = shown + 1, x[k]
    ax_labels.set_yticks([])
    for side in ("left", "right", "top"):
        ax_labels.spines[side].set_visible(False)
    note = f" ({shown} of {len(moved)} named)" if shown < len(moved) else ""
    ax_labels.set_title(f"models that moved the frontier{note}", fontsize=8, loc="left")

    # the path itself
    G, N = parameter(ScalingLLM, "G"), parameter(ScalingLLM, "N_bar")
    ax_gn.step(*stepped(ds[g_name].values), where="post", color="#4C72B0", label=G.long_name)
    ax_gn.step(*stepped(ds[n_name].values), where="post", color="#C44E52", label=N.long_name)
    ax_gn.set_yscale("log")
    ax_gn.set_ylabel(f"{G.long_name},\n{N.long_name}")
    ax_gn.legend(fontsize=7, loc="upper left")

    # skill premium
    prem = np.where(ok, ds["premium"].values, np.nan)
    ax_prem.step(*stepped(prem), where="post", color="black")
    finite = prem[np.isfinite(prem)]
    if finite.size and finite.min() > 0 and finite.max() / finite.min() > 5:
        ax_prem.set_yscale("log")
    ax_prem.set_ylabel("skill premium\n$W_H/W_L$")

    # who performs which task
    names = [str(f) for f in ds["factor"].values]
    colours = _colours(names)
    raster = _factor_raster(ds["boundaries"].values, ds["segment_factor"].values, ok)
    cmap = ListedColormap(colours).with_extremes(bad=(1, 1, 1, 0))
    ax_tasks.pcolormesh(edges, np.linspace(0, 1, raster.shape[0] + 1), np.ma.masked_invalid(raster), cmap=cmap,
                        norm=BoundaryNorm(np.arange(len(names) + 1) - 0.5, len(names)), shading="flat", rasterized=True)
    ax_tasks.set_ylim(0, 1)
    ax_tasks.set_ylabel("task i (complexity)")
    labels = {"L": "low-skill labour L", "H": "high-skill labour H", "M": "LLM M"}
    ax_tasks.legend([Patch(color=c) for c in colours], [labels.get(nm, nm) for nm in names], fontsize=7,
                    loc="upper left", bbox_to_anchor=(1.0, 1.0), title="performed by", title_fontsize=7)

    # the LLM's task share
    for k in range(2, len(names)):
        share = np.where(ok, ds["shares"].values[:, k], np.nan)
        ax_share.step(*stepped(share), where="post", color=colours[k], label=labels.get(names[k], names[k]))
    ax_share.set_ylabel("LLM task\nshare")
    ax_share.set_ylim(bottom=0)

    # output
    ax_y.step(*stepped(np.where(ok, ds["Y"].values, np.nan)), where="post", color="#55A868")
    ax_y.set_ylabel("output Y")
    ax_y.set_xlabel("date")
    ax_y.set_xlim(edges[0], edges[-1])

    # dates that are not ok: no equilibrium, or ill_conditioned (values not vouched for, left out like the others)
    handles = []
    for code in sorted(set(status[~ok].tolist())):
        colour, hatch = _status_colour(code), _status_hatch(code)
        for a, b in _runs(status == code):
            for ax in axes[1:]:
                ax.axvspan(edges[a], edges[b], color=colour, alpha=0.3, linewidth=0, hatch=hatch, zorder=0.4)
        handles.append(Patch(color=colour, alpha=0.3, hatch=hatch,
                             label=_status_label(code, int(np.sum(status == code)), "dates", _accuracy(ds))))
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=7, frameon=False)

    record = json.loads(ds.attrs.get("sweep_path", "{}") or "{}")
    if record.get("source") == "epoch":
        region = {"china": "China's", "world": "World"}.get(record.get("region"), record.get("region", ""))
        title = f"{region} frontier of released language models ({record.get('rule', '')}, {G.symbol}(t) and {N.symbol}(t))"
    elif record.get("source") == "csv":
        title = f"path from {Path(record.get('csv', '')).name}"
    else:
        title = "path sweep"
    fig.suptitle(f"{ds.attrs.get('scenario_name', '')}: {title}", fontsize=10)
    _caption(fig, ds)
    if record.get("attribution"):
        fig.text(0.99, 0.005, record["attribution"], fontsize=6, color="grey", ha="right")
    return _finish(plt, fig, path, figure)
