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
from .test_frontier import PATH_CSV
from .test_frontier import SCENARIO as FRONTIER_SCENARIO

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
    # W_L, W_H, premium, Y, m (1 technology), error: 6 x 8; shares: 3 factors x 8; residuals: 5 x 8; status: 1;
    # boundaries: (segments + 1) x 8; segment_factor: segments x 1
    from simulator.sweep import layout

    lay = layout(s)
    n_seg = lay.sizes["segment"]
    assert est.output_per_point == 6 * 8 + 3 * 8 + 5 * 8 + 1 + (n_seg + 1) * 8 + n_seg
    # the same count from the variables a sweep writes
    assert est.output_per_point == sum(np.dtype(v.dtype).itemsize * (lay.sizes[v.extra] if v.extra else 1)
                                       for v in lay.variables.values())
    assert "error" in lay.variables and lay.variables["error"].dtype == "float64"
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
        # the engine's equilibrium along the path, with its error estimate and every status named
        assert "ill_conditioned" in ds["eq_status"].attrs["flag_meanings"].split()
        ok = ds["eq_status"].values == Status.OK
        assert ok.any() and np.all(ds["eq_error"].values[ok] <= ds["eq_error"].attrs["accuracy"])


def app_with_market():
    import typer

    from simulator.market.cli import register

    sub = typer.Typer()
    register(sub)
    sub.command("noop", hidden=True)(lambda: None)  # a group of two keeps 'simulate' as a sub-command
    return sub


# ----------------------------------------------------------------------------- the error estimate and ill_conditioned
def _with_accuracy(text: str, accuracy: float) -> str:
    """A scenario text with ``solver: {accuracy: ...}`` (written with a point and a signed exponent, as YAML 1.1 wants)."""
    value = f"{accuracy:.17e}".replace("e-0", "e-").replace("e+0", "e+")
    if "solver: {method: analytic}" in text:
        return text.replace("solver: {method: analytic}", f"solver: {{method: analytic, accuracy: {value}}}")
    return text + f"solver:\n  accuracy: {value}\n"


@pytest.fixture(scope="module")
def accuracy_runs():
    """The traditional-AI sweep at the default accuracy, at an accuracy between two of its ok points' error
    estimates, and at 1e-17 (below every estimate that is not exactly 0)."""
    default = run_sweep(parse_scenario(TRADITIONAL))
    status, error = default["status"].values, default["error"].values
    errors = np.unique(error[status == Status.OK])
    assert errors.size >= 2, errors
    k = errors.size // 2
    between = float(0.5 * (errors[k - 1] + errors[k]))
    mixed = run_sweep(parse_scenario(_with_accuracy(TRADITIONAL, between)))
    tiny = run_sweep(parse_scenario(_with_accuracy(TRADITIONAL, 1e-17)))
    return default, (between, mixed), tiny


def test_error_variable_of_the_netcdf_has_its_attributes_and_the_solver_values(small_run):
    from simulator import solve

    s = parse_scenario(LLM)
    with xr.open_dataset(small_run / "small.nc") as ds:
        error, status = ds["error"], ds["status"]
        assert error.dtype == np.float64 and error.dims == status.dims
        assert error.attrs["units"] == "1" and "relative error" in error.attrs["long_name"]
        assert "W_L, W_H, premium and Y" in error.attrs["long_name"] and "ill_conditioned" in error.attrs["comment"]
        assert error.attrs["accuracy"] == s.solver.accuracy == 1e-8
        assert 5 in status.attrs["flag_values"].tolist() and "ill_conditioned" in status.attrs["flag_meanings"].split()
        meanings = status.attrs["flag_meanings"].split()
        assert dict(zip(status.attrs["flag_values"].tolist(), meanings)) == {int(c): c.name.lower() for c in Status}
        ok = status.values == Status.OK
        assert ok.any() and np.all(error.values[ok] <= 1e-8)
        # the stored estimate is the solver's own, point by point
        for i, j in ((0, 0), (4, 3), (8, 6)):
            G, N = float(ds["G"][i]), float(ds["N_bar"][j])
            eq = solve(s.economy, [s.technologies[0].replace(G=G, N_bar=N)], method="analytic")
            assert float(error[i, j]) == float(eq.error) and int(status[i, j]) == int(eq.status)


def test_zarr_store_holds_the_error_variable(small_run, tmp_path):
    from simulator.execution import run_to_store
    from simulator.store import open_store, prepare
    from simulator.sweep import layout

    s = parse_scenario(LLM)
    # a store just created reads NaN errors at pending points
    prepare(s, layout(s), str(tmp_path / "empty.zarr"))
    empty = open_store(str(tmp_path / "empty.zarr"))
    assert np.all(empty["status"].values == Status.PENDING) and np.all(np.isnan(empty["error"].values))
    run_to_store(s, str(tmp_path / "s.zarr"))
    ds = open_store(str(tmp_path / "s.zarr"))
    assert ds["error"].dtype == np.float64 and ds["error"].attrs["units"] == "1"
    assert "relative error" in ds["error"].attrs["long_name"] and ds["error"].attrs["accuracy"] == 1e-8
    assert "ill_conditioned" in ds["status"].attrs["flag_meanings"].split()
    with xr.open_dataset(small_run / "small.nc") as nc:  # in memory and into a store: the same numbers
        np.testing.assert_array_equal(ds["error"].values, nc["error"].values)


def test_a_store_without_the_error_variable_is_not_resumed(tmp_path):
    import shutil

    from simulator.execution import run_to_store
    from simulator.store import StoreError, open_store

    s = parse_scenario(LLM)
    url = str(tmp_path / "old.zarr")
    run_to_store(s, url)
    shutil.rmtree(tmp_path / "old.zarr" / "error")  # as written before the variable existed
    with pytest.raises(StoreError, match=r"lacks \['error'\].*--restart"):
        run_to_store(s, url)
    report = run_to_store(s, url, restart=True)
    assert report.computed == report.blocks
    assert np.all(np.isfinite(open_store(url)["error"].values))


def test_accuracy_decides_between_ok_and_ill_conditioned_and_values_are_kept(accuracy_runs):
    default, (between, mixed), tiny = accuracy_runs
    status, error = default["status"].values, default["error"].values
    found = status == Status.OK
    assert np.all(np.isnan(error[~found]))  # no equilibrium: no estimate
    for ds, accuracy in ((mixed, between), (tiny, 1e-17)):
        assert ds["error"].attrs["accuracy"] == accuracy
        np.testing.assert_array_equal(ds["error"].values, error)  # the estimate does not depend on the accuracy asked for
        want = np.where(found, np.where(error > accuracy, Status.ILL_CONDITIONED, Status.OK), status)
        np.testing.assert_array_equal(ds["status"].values, want)
        for var in ("W_L", "W_H", "premium", "Y", "shares", "m"):  # ill_conditioned points keep their values
            np.testing.assert_array_equal(ds[var].values, default[var].values)
    assert 0 < np.sum(mixed["status"].values == Status.ILL_CONDITIONED) < found.sum()
    assert np.all(tiny["status"].values[found & (error > 0)] == Status.ILL_CONDITIONED)


def test_summary_counts_ill_conditioned_points_and_reports_the_largest_error(accuracy_runs):
    from simulator.sweep import summary_table

    default, (between, mixed), tiny = accuracy_runs
    for ds in (default, mixed, tiny):
        rows = dict(summary_table(ds))
        status, error = ds["status"].values, ds["error"].values
        ok, ill = status == Status.OK, status == Status.ILL_CONDITIONED
        accuracy = f"(accuracy {ds['error'].attrs['accuracy']:.3g})"
        assert rows["points"] == f"{status.size:,}"
        assert rows.get("status ill_conditioned") == (f"{ill.sum():,}" if ill.any() else None)
        assert rows["status unbounded"] == f"{np.sum(status == Status.UNBOUNDED):,}"
        if ok.any():
            assert rows["max error estimate, ok points"] == f"{error[ok].max():.2e} {accuracy}"
            assert rows["premium"] == f"{ds['premium'].values[ok].min():.6g} .. {ds['premium'].values[ok].max():.6g}"
        else:
            assert "premium" not in rows and "max error estimate, ok points" not in rows
        if ill.any():
            assert rows["error estimate, ill_conditioned points"] == f"{error[ill].min():.2e} .. {error[ill].max():.2e} {accuracy}"
    assert "status ill_conditioned" not in dict(summary_table(default))


def test_ill_conditioned_points_have_their_own_band_and_legend_entry(accuracy_runs, tmp_path):
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    from simulator import plots

    _, (between, mixed), tiny = accuracy_runs
    s = parse_scenario(TRADITIONAL)
    for ds, accuracy in ((mixed, between), (tiny, 1e-17)):
        heat = plots.premium_heatmap(ds, tmp_path / "h.png", s.log_axes, figure=True)
        thr = plots.thresholds(ds, tmp_path / "t.png", s.log_axes, figure=True)
        try:
            status = ds["status"].values
            n = int(np.sum(status == Status.ILL_CONDITIONED))
            label = f"ill conditioned: error above accuracy {accuracy:.3g} ({n:,} point{'s' if n != 1 else ''})"
            legend = _legend_texts(heat)
            assert label in legend, legend
            assert not any(t.startswith("no equilibrium: ill") for t in legend)
            assert any(t.startswith("no equilibrium: unbounded") for t in legend)
            # its own band: cross-hatched rectangles in the status colour over exactly those points
            (band,) = [c for c in heat.axes[0].collections if c.get_hatch() == plots.STATUS_HATCHES[Status.ILL_CONDITIONED]]
            assert to_hex(band.get_facecolor()[0], keep_alpha=False) == plots.STATUS_COLOURS[Status.ILL_CONDITIONED].lower()
            boxes = [p.get_extents() for p in band.get_paths()]
            F, H = np.meshgrid(ds["F"].values, ds["H"].values, indexing="ij")  # heat map: H across, F up
            covered = np.array([[any(b.x0 < h < b.x1 and b.y0 < f < b.y1 for b in boxes) for f, h in zip(fr, hr)]
                                for fr, hr in zip(F, H)])
            np.testing.assert_array_equal(covered, status == Status.ILL_CONDITIONED)
            # the premium is drawn at ok points only
            (premium_mesh,) = [c for c in heat.axes[0].collections if c.get_array() is not None and c.get_cmap().name == "viridis"]
            assert np.array_equal(~np.ma.getmaskarray(premium_mesh.get_array()).reshape(status.shape), status == Status.OK)
            # thresholds, along F at the middle H: the same wording; the premium line leaves those points out
            middle = status[:, status.shape[1] // 2]
            n_line = int(np.sum(middle == Status.ILL_CONDITIONED))
            line_label = f"ill conditioned: error above accuracy {accuracy:.3g} ({n_line:,} point{'s' if n_line != 1 else ''})"
            assert (line_label in _legend_texts(thr)) == (n_line > 0)
            hatched = [c for c in thr.axes[0].collections if c.get_hatch() == plots.STATUS_HATCHES[Status.ILL_CONDITIONED]]
            assert len(hatched) == n_line
            (line,) = thr.axes[1].get_lines()
            np.testing.assert_array_equal(np.isfinite(line.get_ydata()), middle == Status.OK)
        finally:
            plt.close(heat)
            plt.close(thr)


def test_assignment_names_an_ill_conditioned_point_with_its_error(accuracy_runs):
    import matplotlib.pyplot as plt

    from simulator import plots

    *_, tiny = accuracy_runs
    status = tiny["status"].values
    i, j = np.argwhere(status == Status.ILL_CONDITIONED)[0]
    fig = plots.assignment(tiny, None, [{"F": int(i), "H": int(j)}], ["a point"], figure=True)
    try:
        texts = [t.get_text() for t in fig.axes[0].texts]
        error = float(tiny["error"].values[i, j])
        assert f"ill conditioned: error {error:.1e} above accuracy 1e-17" in texts, texts
        assert not any("no equilibrium" in t for t in texts + _legend_texts(fig))
    finally:
        plt.close(fig)


# the csv-path scenario of test_frontier, asking for an accuracy no date can meet
PATH_SCENARIO = FRONTIER_SCENARIO.replace("solver: {method: analytic}", "solver: {method: analytic, accuracy: 1.0e-17}")


def test_frontier_plot_names_ill_conditioned_dates(tmp_path):
    import matplotlib.pyplot as plt

    from simulator import plots
    from simulator.scenario import load_scenario

    (tmp_path / "path.csv").write_text(PATH_CSV)
    (tmp_path / "s.yaml").write_text(PATH_SCENARIO)
    ds = run_sweep(load_scenario(tmp_path / "s.yaml"))
    status = ds["status"].values
    n = int(np.sum(status == Status.ILL_CONDITIONED))
    assert n == int(np.sum(ds["error"].values > 1e-17)) > 0  # every date with an estimate above 1e-17
    fig = plots.frontier(ds, tmp_path / "f.png", figure=True)
    try:
        legend = _legend_texts(fig)
        assert f"ill conditioned: error above accuracy 1e-17 ({n:,} date{'s' if n != 1 else ''})" in legend, legend
        assert not any("no equilibrium" in t and "ill" in t for t in legend)
    finally:
        plt.close(fig)
    assert (tmp_path / "f.png").stat().st_size > 5000
