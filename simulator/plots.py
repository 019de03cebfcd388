"""Plots of sweep results (matplotlib, Agg backend, PNG)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from .status import Status

FACTOR_COLOURS = {"L": "#4C72B0", "H": "#DD8452", "M": "#55A868", "unused": "#FFFFFF"}
EXTRA_COLOURS = ["#55A868", "#C44E52", "#8172B3", "#937860"]


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


def premium_heatmap(ds: xr.Dataset, path: Path, log_dims=()) -> Path | None:
    """Premium W_H/W_L over the first two swept dimensions; failed points hatched grey."""
    dims = ds["status"].dims
    if len(dims) < 2:
        return None
    plt = _plt()
    xd, yd = dims[1], dims[0]
    sub, fixed = _middle(ds, (xd, yd))
    sub, thinned = _thin(sub, (xd, yd), 600)
    z = np.ma.masked_where(sub["status"].values != Status.OK, sub["premium"].values)
    fig, ax = plt.subplots(figsize=(6.4, 4.8), constrained_layout=True)
    mesh = ax.pcolormesh(sub[xd].values, sub[yd].values, z, shading="nearest", cmap="viridis")
    fig.colorbar(mesh, ax=ax, label="skill premium $W_H/W_L$")
    if "m" in sub:
        adopted = (sub["shares"].isel(factor=slice(2, None)).sum("factor") > 0).values.astype(float)
        if 0 < adopted.mean() < 1:
            ax.contour(sub[xd].values, sub[yd].values, adopted, levels=[0.5], colors="white", linewidths=1.2)
    failed = sub["status"].values != Status.OK
    if failed.any():
        ax.pcolormesh(sub[xd].values, sub[yd].values, np.ma.masked_where(~failed, failed.astype(float)),
                      shading="nearest", cmap="Greys", vmin=0, vmax=2, alpha=0.6)
    for d, setter in ((xd, ax.set_xscale), (yd, ax.set_yscale)):
        if d in log_dims:
            setter("log")
    ax.set_xlabel(xd)
    ax.set_ylabel(yd)
    title = "Skill premium"
    if "m" in sub:
        title += " (white line: adoption frontier)"
    ax.set_title(title + thinned + (f"\nother parameters at {fixed}" if fixed else ""), fontsize=10)
    _caption(fig, ds)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def thresholds(ds: xr.Dataset, path: Path, log_dims=()) -> Path | None:
    """Task assignment along [0,1] (bands) and the premium against the first swept parameter."""
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
    fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(6.4, 6.0), sharex=True, constrained_layout=True,
                                   gridspec_kw={"height_ratios": [2, 1]})
    b, f = sub["boundaries"].values, sub["segment_factor"].values
    ok = sub["status"].values == Status.OK
    edges = np.empty(x.size + 1)
    if x.size > 1:
        mids = np.sqrt(x[1:] * x[:-1]) if xd in log_dims else 0.5 * (x[1:] + x[:-1])
        edges[1:-1] = mids
        edges[0] = x[0] ** 2 / mids[0] if xd in log_dims else 2 * x[0] - mids[0]
        edges[-1] = x[-1] ** 2 / mids[-1] if xd in log_dims else 2 * x[-1] - mids[-1]
    else:
        edges[:] = [x[0] * 0.9, x[0] * 1.1]
    for j in range(x.size):
        if not ok[j]:
            ax0.fill_between([edges[j], edges[j + 1]], 0, 1, color="lightgrey", hatch="//", linewidth=0)
            continue
        for k in range(f.shape[1]):
            if f[j, k] >= 0 and b[j, k + 1] > b[j, k]:
                ax0.fill_between([edges[j], edges[j + 1]], b[j, k], b[j, k + 1], color=colours[f[j, k]], linewidth=0)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colours]
    ax0.legend(handles, names, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, title="factor")
    ax0.set_ylabel("task i")
    ax0.set_ylim(0, 1)
    ax0.set_title("Who performs each task" + thinned + (f" (other parameters at {fixed})" if fixed else ""), fontsize=10)
    prem = np.where(ok, sub["premium"].values, np.nan)
    ax1.plot(x, prem, color="black")
    ax1.set_ylabel("$W_H/W_L$")
    ax1.set_xlabel(xd)
    if xd in log_dims:
        ax1.set_xscale("log")
    _caption(fig, ds)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def assignment(ds: xr.Dataset, path: Path, points: list[dict], labels: list[str]) -> Path | None:
    """Bars along [0,1] coloured by the factor performing each task, one per chosen point."""
    if not points:
        return None
    plt = _plt()
    names = [str(n) for n in ds["factor"].values]
    colours = _colours(names)
    fig, ax = plt.subplots(figsize=(7.0, 0.6 + 0.5 * len(points)), constrained_layout=True)
    for row, (index, label) in enumerate(zip(points, labels)):
        p = ds.isel(index) if index else ds
        if int(p["status"]) != Status.OK:
            ax.barh(row, 1.0, left=0.0, color="lightgrey", hatch="//")
            ax.text(0.5, row, Status(int(p["status"])).name.lower(), ha="center", va="center", fontsize=8)
            continue
        b, f = p["boundaries"].values, p["segment_factor"].values
        for k in range(f.size):
            if f[k] >= 0 and b[k + 1] > b[k]:
                ax.barh(row, b[k + 1] - b[k], left=b[k], color=colours[f[k]], edgecolor="white", linewidth=0.5)
        ax.text(1.01, row, f"premium {float(p['premium']):.3f}", va="center", fontsize=8)
    ax.set_yticks(range(len(points)), labels, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("task i (complexity)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colours]
    ax.legend(handles, names, ncol=len(names), loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=8, frameon=False)
    _caption(fig, ds)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
