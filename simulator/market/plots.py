"""Plots of a market path (matplotlib, Agg backend, PNG)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from ..plots import FACTOR_LABELS, _caption, _colours, _plt
from ..sweep import parameter_attrs, parameter_symbol


def _segments_over_time(ax, ds, prefix, **style):
    """Draw the switch points of every period as points (one line per boundary slot)."""
    b = ds[f"{prefix}boundaries"].values
    t = ds["period"].values
    inner = b[:, 1:-1] if b.shape[1] > 2 else b[:, :0]
    for k in range(inner.shape[1]):
        col = inner[:, k].copy()
        col[(col <= 0) | (col >= 1)] = np.nan
        if np.isfinite(col).any():
            ax.plot(t, col, **style)


def paths(ds: xr.Dataset, path: Path) -> Path:
    """Parameters, premium, wages, output and models, unemployment and layoffs, switch points over time."""
    plt = _plt()
    t = ds["period"].values
    has_eq = "eq_premium" in ds
    fig, axes = plt.subplots(3, 2, figsize=(10, 8.5), sharex=True, constrained_layout=True)
    ax = axes[0, 0]
    if "parameter_value" in ds:
        for name in ds["parameter"].values:
            v = ds["parameter_value"].sel(parameter=name).values
            sym = parameter_symbol(str(name))
            ax.plot(t, v / v[0] if v[0] != 0 else v, label=f"{parameter_attrs(str(name))['long_name']}: {sym}(t) / {sym}(0)")
        if np.nanmax(np.abs(ds["parameter_value"].values)) > 0 and np.all(ds["parameter_value"].values > 0):
            ax.set_yscale("log")
        ax.legend(fontsize=7)
    ax.set_title("moving parameters (relative to period 0)", fontsize=9)
    ax = axes[0, 1]
    ax.plot(t, ds["premium"].values, color="black", label="market")
    if has_eq:
        ax.plot(t, ds["eq_premium"].values, color="black", ls="--", lw=1, label="equilibrium at the period's parameters")
    ax.set_title("skill premium $W_H/W_L$", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[1, 0]
    for var, colour in (("W_L", "#4C72B0"), ("W_H", "#DD8452")):
        ax.plot(t, ds[var].values, color=colour, label={"W_L": "low-skill wage $W_L$", "W_H": "high-skill wage $W_H$"}[var])
        if has_eq:
            ax.plot(t, ds[f"eq_{var}"].values, color=colour, ls="--", lw=1)
    ax.set_title("wages (dashed: equilibrium)", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[1, 1]
    ax.plot(t, ds["Y"].values, color="black", label="output Y")
    if has_eq:
        ax.plot(t, ds["eq_Y"].values, color="black", ls="--", lw=1)
    if "m" in ds:
        for name in ds["technology"].values:
            ax.plot(t, ds["m"].sel(technology=name).values, label=f"model units rented m ({name})")
    ax.set_title("output and model units", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[2, 0]
    for k, skill in enumerate(ds["skill"].values):
        colour = ("#4C72B0", "#DD8452")[k]
        ax.plot(t, ds["unemployment"].values[:, k], color=colour, label=f"out of work ({skill})")
        ax.plot(t, ds["displaced"].values[:, k], color=colour, ls=":", label=f"displaced ({skill})")
    ax.set_title("unemployment and layoffs (share of supply)", fontsize=9)
    ax.legend(fontsize=7)
    ax.set_xlabel("period")
    ax = axes[2, 1]
    _segments_over_time(ax, ds, "", color="black", lw=1.2)
    if has_eq:
        _segments_over_time(ax, ds, "eq_", color="red", ls="--", lw=0.8)
    ax.set_ylim(0, 1)
    ax.set_title("switch points (red dashed: equilibrium)", fontsize=9)
    ax.set_xlabel("period")
    _caption(fig, ds)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def assignment_time(ds: xr.Dataset, path: Path) -> Path:
    """Tasks against time, each cell coloured by the factor producing most of its output."""
    from matplotlib.colors import ListedColormap

    plt = _plt()
    names = [str(n) for n in ds["factor"].values]
    colours = _colours(names)
    share = ds["assignment"].values  # (T, n, K)
    dominant = np.where(share.max(axis=2) > 0, share.argmax(axis=2), -1)
    t = ds["period"].values
    fig, ax = plt.subplots(figsize=(8, 4.8), constrained_layout=True)
    cmap = ListedColormap(["#FFFFFF"] + colours)
    extent = (t[0] - 0.5, t[-1] + 0.5, 0.0, 1.0)
    ax.imshow(dominant.T + 1, origin="lower", aspect="auto", extent=extent, cmap=cmap, vmin=0, vmax=len(names),
              interpolation="nearest")
    if "eq_boundaries" in ds:
        _segments_over_time(ax, ds, "eq_", color="black", ls="--", lw=0.8)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colours]
    ax.legend(handles, [FACTOR_LABELS.get(n, f"model {n}") for n in names], loc="upper left", bbox_to_anchor=(1.0, 1.0),
              fontsize=8, title="performed by")
    ax.set_xlabel("period")
    ax.set_ylabel("task i (complexity)")
    ax.set_title("Who performs each task over time (dashed: equilibrium switch points)", fontsize=10)
    _caption(fig, ds)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def wages(ds: xr.Dataset, path: Path) -> Path:
    """Wage quantiles by skill over time, and earnings per efficiency unit by task at the last period."""
    plt = _plt()
    t = ds["period"].values
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    q = ds["wage_quantiles"].values
    quantiles = list(ds["quantile"].values)
    mid = quantiles.index(0.5) if 0.5 in quantiles else len(quantiles) // 2
    for k, (skill, colour) in enumerate(zip(ds["skill"].values, ("#4C72B0", "#DD8452"))):
        ax0.fill_between(t, q[:, k, 0], q[:, k, -1], color=colour, alpha=0.25, linewidth=0)
        ax0.plot(t, q[:, k, mid], color=colour, label=f"{skill}: median, band {quantiles[0]:g}-{quantiles[-1]:g}")
        ax1.plot(ds["task"].values, ds["task_wage"].values[-1, k], ".", ms=2, color=colour, label=skill)
    ax0.set_title("workers' earnings per unit of labour", fontsize=9)
    ax0.set_xlabel("period")
    ax0.legend(fontsize=7)
    ax1.set_title(f"earnings per efficiency unit by task, period {int(t[-1])}", fontsize=9)
    ax1.set_xlabel("task i")
    ax1.legend(fontsize=7)
    _caption(fig, ds)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


PLOTTERS = {"paths": paths, "assignment_time": assignment_time, "wages": wages}
