"""Sweep guards (point counting, memory estimate and refusal) and labelled outputs (CF attributes, plot labels)."""
from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from llm_labor.cli import app
from simulator.scenario import parse_scenario
from simulator.status import Status
from simulator.sweep import memory_estimate, run_sweep

runner = CliRunner()

BENCHMARK = """\
name: {name}
economy: {{eta: 1.0, A_L: 1.0, A_H: 1.5, L: 1.0, H: 0.6}}
sweep:
  mode: {mode}
  parameters:
{parameters}
"""
GRID_1E9 = """\
    eta: {linspace: {start: 0.5, stop: 2.0, num: 1000}}
    A_L: {linspace: {start: 0.5, stop: 2.0, num: 1000}}
    A_H: {linspace: {start: 0.5, stop: 2.0, num: 1000}}"""
ZIP_1E9 = """\
    A_H: {logspace: {start: -1, stop: 1, num: 1000000000}}
    H: {linspace: {start: 0.1, stop: 10.0, num: 1000000000}}"""
LLM = """\
name: small
economy: {eta: 1.0, A_L: 1.0, A_H: 1.5, L: 1.0, H: 0.6}
technologies:
  - {kind: llm, name: llm, A_bar: 3.0, F: 1.0, C: 0.0, a: 410.7, alpha: 0.28, b: 406.4, beta: 0.34,
     G: 1.0e+10, N_bar: 1.0e+11, I_lo: 0.6, I_hi: 0.95}
sweep:
  mode: grid
  parameters:
    G: {logspace: {start: 8, stop: 12, num: 9}}
    N_bar: {logspace: {start: 9, stop: 13, num: 7}}
solver: {method: analytic}
outputs:
  assignment_points: [{G: 1.0e+8, N_bar: 1.0e+9}, {G: 1.0e+12, N_bar: 1.0e+13}]
"""
#: a traditional-AI sweep over F that crosses the unbounded frontier (F <= A_bar e^{-mu} = 0.27)
TRADITIONAL = """\
name: trad
economy: {eta: 1.0, A_L: 1.0, A_H: 1.5, L: 1.0, H: 0.6}
technologies:
  - {kind: traditional, A_bar: 2.0, mu: 2.0, F: 0.6}
sweep:
  mode: grid
  parameters:
    F: {linspace: {start: 0.1, stop: 1.6, num: 16}}
    H: [0.5, 1.0]
"""


def _write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ----------------------------------------------------------------------------- sweep guards
@pytest.mark.parametrize("mode, parameters", [("grid", GRID_1E9), ("zip", ZIP_1E9)], ids=["grid 1000^3", "zip 10^9"])
def test_validate_counts_a_billion_points_without_building_them(tmp_path, mode, parameters):
    path = _write(tmp_path, BENCHMARK.format(name="huge", mode=mode, parameters=parameters))
    small = _write(tmp_path, BENCHMARK.format(name="small", mode="grid", parameters="    eta: [1.0, 2.0]"), "small.yaml")
    assert runner.invoke(app, ["validate", str(small)]).exit_code == 0  # imports and tracing out of the measurement
    tracemalloc.start()
    start = time.perf_counter()
    try:
        result = runner.invoke(app, ["validate", str(path)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    seconds = time.perf_counter() - start
    assert result.exit_code == 0, result.output
    assert "1,000,000,000 points" in result.output
    assert "memory estimate:" in result.output and "GB" in result.output
    assert "warning: over the memory limit" in result.output
    assert peak < 50e6, f"validate allocated {peak / 1e6:.0f} MB"
    assert seconds < 20


def test_scenario_counts_points_lazily():
    s = parse_scenario(BENCHMARK.format(name="huge", mode="zip", parameters=ZIP_1E9))
    assert s.shape == (10**9,) and s.points == 10**9
    assert not s.axes.is_built("A_H") and "A_H" in s.axes and not s.axes.is_built("A_H")
    small = parse_scenario(BENCHMARK.format(name="s", mode="grid", parameters="    eta: {linspace: {start: 1, stop: 2, num: 5}}"))
    np.testing.assert_array_equal(small.axes["eta"], np.linspace(1, 2, 5))


def test_inadmissible_end_of_a_long_axis_is_still_an_error():
    from simulator.errors import ScenarioError

    bad = "    H: {linspace: {start: -1.0, stop: 10.0, num: 2000000}}"
    with pytest.raises(ScenarioError, match="H > 0"):
        parse_scenario(BENCHMARK.format(name="bad", mode="grid", parameters=bad))


def test_memory_estimate_formula():
    s = parse_scenario(LLM)
    est = memory_estimate(s)
    # W_L, W_H, premium, Y, m (1 technology): 5 x 8; shares: 3 factors x 8; residuals: 5 x 8; status: 1;
    # boundaries: (segments + 1) x 8; segment_factor: segments x 1
    from simulator.sweep import layout

    n_seg = layout(s).sizes["segment"]
    assert est.output_per_point == 5 * 8 + 3 * 8 + 5 * 8 + 1 + (n_seg + 1) * 8 + n_seg
    assert est.points == 63 and est.outputs == 63 * est.output_per_point
    assert est.in_memory == est.outputs + est.coordinates + est.block_working + est.largest_variable
    assert est.blocked == est.coordinates + est.block_working


def test_run_refuses_a_sweep_over_the_memory_limit_and_shows_the_execution_section(tmp_path):
    path = _write(tmp_path, LLM)
    result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "out"), "--no-progress", "--memory-limit", "100kB"])
    assert result.exit_code == 2, result.output
    assert "points: 63" in result.output and "memory estimate:" in result.output
    error = result.output[result.output.index("error:"):]
    assert "more than the limit of 100 kB (--memory-limit)" in error
    assert "execution:\n  backend: local-cluster" in error and "  n_workers: 2\n" in error
    assert f"store: {tmp_path / 'out' / 'small.zarr'}" in error
    assert not (tmp_path / "out").exists()
    # the snippet pasted as printed is a valid scenario that run accepts under the same limit
    snippet = error[error.index("execution:"):error.index("\n\n", error.index("execution:"))]
    fixed = _write(tmp_path, LLM + snippet.replace("local-cluster", "local").replace("  n_workers: 2\n  threads_per_worker: 1\n", "") + "\n",
                   "fixed.yaml")
    ok = runner.invoke(app, ["run", str(fixed), "--out", str(tmp_path / "out"), "--no-progress", "--no-plots",
                             "--memory-limit", "100kB"])
    assert ok.exit_code == 0, ok.output
    assert "into a Zarr store" in ok.output
    assert (tmp_path / "out" / "small.zarr").is_dir()


def test_memory_limit_from_the_environment_and_bad_sizes(tmp_path, monkeypatch):
    path = _write(tmp_path, LLM)
    monkeypatch.setenv("LLM_LABOR_MEMORY_LIMIT", "0.1MB")
    result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "o"), "--no-progress"])
    assert result.exit_code == 2 and "(LLM_LABOR_MEMORY_LIMIT)" in result.output
    bad = runner.invoke(app, ["run", str(path), "--memory-limit", "lots"])
    assert bad.exit_code == 2 and "error: --memory-limit: expected a size" in bad.output


def test_parse_memory():
    from simulator.cli import parse_memory

    assert parse_memory("8GB") == 8 * 10**9
    assert parse_memory("512 MB") == 512 * 10**6
    assert parse_memory("2GiB") == 2 * 2**30
    assert parse_memory("1e9") == 10**9
    assert 0 < parse_memory("10%")


# ----------------------------------------------------------------------------- labelled outputs
@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    path = folder / "small.yaml"
    path.write_text(LLM)
    result = runner.invoke(app, ["run", str(path), "--out", str(folder / "out"), "--no-progress"])
    assert result.exit_code == 0, result.output
    return folder / "out"


def test_every_variable_and_coordinate_of_the_netcdf_has_units_and_long_name(small_run):
    with xr.open_dataset(small_run / "small.nc", decode_times=False) as ds:
        names = list(ds.data_vars) + list(ds.coords)
        assert {"G", "N_bar", "factor", "status", "premium"} <= set(names)
        for name in names:
            assert ds[name].attrs.get("units"), f"{name} has no units"
            assert ds[name].attrs.get("long_name"), f"{name} has no long_name"
        assert ds["G"].attrs["units"] == "parameters" and "parameter count" in ds["G"].attrs["long_name"]
        assert ds["N_bar"].attrs["units"] == "tokens" and "training tokens" in ds["N_bar"].attrs["long_name"]
        assert ds["W_L"].attrs["units"] == "1" and "dimensionless" in ds["W_L"].attrs["comment"]
        assert ds["shares"].attrs["units"] == "1"


def test_zarr_store_carries_the_same_attributes(tmp_path):
    from simulator.execution import run_to_store
    from simulator.store import open_store

    s = parse_scenario(LLM)
    run_to_store(s, str(tmp_path / "s.zarr"))
    ds = open_store(str(tmp_path / "s.zarr"))
    for name in list(ds.data_vars) + list(ds.coords):
        assert ds[name].attrs.get("units") and ds[name].attrs.get("long_name"), name


def _texts(fig) -> list[str]:
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [ax.get_xlabel(), ax.get_ylabel(), ax.get_title()]
        out += [t.get_text() for t in ax.get_yticklabels() if not t.get_text().startswith("$")]  # not mathtext numbers
        legend = ax.get_legend()
        if legend is not None:
            out += [t.get_text() for t in legend.get_texts()]
    return out


def _legend_texts(fig) -> list[str]:
    out = []
    for ax in fig.axes:
        if ax.get_legend() is not None:
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    for legend in fig.legends:
        out += [t.get_text() for t in legend.get_texts()]
    return out


def test_plot_labels_in_words_without_dicts(small_run):
    import matplotlib.pyplot as plt

    from simulator import plots
    from simulator.cli import _assignment_points

    s = parse_scenario(LLM)
    ds = xr.open_dataset(small_run / "small.nc")
    figures = [plots.premium_heatmap(ds, None, s.log_axes, figure=True), plots.thresholds(ds, None, s.log_axes, figure=True)]
    points, labels = _assignment_points(s, ds)
    figures.append(plots.assignment(ds, None, points, labels, figure=True))
    try:
        for fig in figures:
            texts = [t for t in _texts(fig) if t]
            assert texts
            for text in texts:
                assert "N_bar" not in text and "{" not in text, text
        heat, thr, _ = figures
        assert heat.axes[0].get_xlabel() == "training tokens N̄" and heat.axes[0].get_ylabel() == "parameter count G"
        assert thr.axes[1].get_xlabel() == "parameter count G"
        assert "other parameters at N̄ = 1e+11" in thr.axes[0].get_title()
    finally:
        for fig in figures:
            plt.close(fig)


def test_status_bands_are_in_the_legend_and_a_wide_premium_axis_is_logarithmic(tmp_path):
    import matplotlib.pyplot as plt

    from simulator import plots

    s = parse_scenario(TRADITIONAL)
    ds = run_sweep(s)
    status = ds["status"].values
    present = {Status(int(c)).name.lower().replace("_", " ") for c in np.unique(status) if c != Status.OK}
    assert "unbounded" in present
    # the thresholds plot runs along F; the heatmap over (F, H)
    heat = plots.premium_heatmap(ds, tmp_path / "h.png", s.log_axes, figure=True)
    thr = plots.thresholds(ds, tmp_path / "t.png", s.log_axes, figure=True)
    try:
        for fig in (heat, thr):
            legend = " ".join(_legend_texts(fig))
            for name in present:
                assert name in legend, (name, legend)
        assert "other parameters at H = 1" in thr.axes[0].get_title()
        assert thr.axes[1].get_yscale() == "log"  # the premium runs from about 1.6 to 90 here
        assert thr.axes[1].get_xlabel() == "rental price F of a model unit"
    finally:
        plt.close(heat)
        plt.close(thr)
    assert (tmp_path / "h.png").stat().st_size > 0 and (tmp_path / "t.png").stat().st_size > 0


def test_market_netcdf_is_labelled(tmp_path):
    root = Path(__file__).resolve().parents[2]
    result = runner.invoke(app_with_market(), ["simulate", str(root / "scenarios" / "llm_transition.yaml"), "--out", str(tmp_path),
                                               "--periods", "6", "--workers", "2000", "--no-progress", "--no-plots"])
    assert result.exit_code == 0, result.output
    (nc,) = tmp_path.glob("*.nc")
    with xr.open_dataset(nc) as ds:
        for name in list(ds.data_vars) + list(ds.coords):
            assert ds[name].attrs.get("units") and ds[name].attrs.get("long_name"), name


def app_with_market():
    import typer

    from simulator.market.cli import register

    sub = typer.Typer()
    register(sub)
    sub.command("noop", hidden=True)(lambda: None)  # a group of two keeps 'simulate' as a sub-command
    return sub
