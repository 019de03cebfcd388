"""Bundled scenarios end to end, scenario validation and the command line."""
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from simulator import Economy, ParameterError, ScalingLLM, ScenarioError, TraditionalAI, solve
from llm_labor.cli import app
from simulator.execution import execution_options
from simulator.scenario import load_scenario, parse_scenario
from simulator.store import open_store

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
runner = CliRunner()


def test_scenarios_are_bundled():
    assert {p.stem for p in SCENARIOS} >= {"benchmark", "traditional_ai", "llm_scaling", "combined"}


MAX_POINTS, MAX_AXIS = 100_000, 40  # larger (scale-out) scenarios run here on 40 values per axis, all else unchanged


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_bundled_scenario_runs_end_to_end(path, tmp_path):
    text = path.read_text()
    if math.prod(load_scenario(path).shape) > MAX_POINTS:
        text = re.sub(r"num: (\d+)", lambda m: f"num: {min(int(m.group(1)), MAX_AXIS)}", text)
    run_path = tmp_path / path.name
    run_path.write_text(text)
    result = runner.invoke(app, ["run", str(run_path), "--out", str(tmp_path), "--no-progress"])
    assert result.exit_code == 0, result.output
    scenario = load_scenario(run_path)
    if execution_options(scenario).uses_store:
        assert not (tmp_path / f"{scenario.name}.nc").exists()
        ds = open_store(str(tmp_path / f"{scenario.name}.zarr")).load()
    else:
        ds = xr.load_dataset(tmp_path / f"{scenario.name}.nc")
    assert ds["status"].dims == scenario.dims
    assert ds["status"].shape == scenario.shape
    for var in ("W_L", "W_H", "premium", "Y", "shares", "boundaries", "segment_factor", "residuals", "status"):
        assert var in ds
    assert ds.attrs["scenario_text"] == text
    assert ds.attrs["package_version"] and ds.attrs["git_commit"]
    ok = ds["status"].values == 0
    assert ok.any()
    assert np.abs(ds["residuals"].values[ok]).max() <= 1e-10
    # every point that is not OK says why, and carries no numbers
    assert np.all(np.isnan(ds["premium"].values[~ok]))
    pngs = list(tmp_path.glob("*.png"))
    assert pngs and all(p.stat().st_size > 5000 for p in pngs)


def test_sweep_values_match_pointwise_solves(tmp_path):
    scenario = load_scenario(ROOT / "scenarios" / "traditional_ai.yaml")
    runner.invoke(app, ["run", str(ROOT / "scenarios" / "traditional_ai.yaml"), "--out", str(tmp_path), "--no-progress", "--no-plots"])
    ds = xr.load_dataset(tmp_path / "traditional_ai.nc")
    for k in (20, 70, 130):
        F = float(ds["F"][k])
        eq = solve(scenario.economy, [scenario.technologies[0].replace(F=F)])
        assert float(ds["premium"][k]) == pytest.approx(float(eq.premium), rel=1e-13)


BASE = "name: x\neconomy: {eta: 1, A_L: 1, A_H: 1, L: 1, H: 1}\n"
LLM = "technologies:\n  - kind: llm\n    A_bar: 1\n    F: 1\n    a: 1\n    alpha: 0.3\n    b: 1\n    beta: 0.3\n    G: 1\n    N_bar: 1\n"
BAD = [
    (BASE + "foo: 1\n", 3, "foo", "unknown key"),
    ("name: x\neconomy: {eta: -1, A_L: 1, A_H: 1, L: 1, H: 1}\n", 2, "economy.eta", "eta > 0"),
    ("name: x\neconomy:\n  eta: 1\n  A_L: 1\n  A_H: 1\n  L: 'many'\n  H: 1\n", 6, "economy.L", "must be a number"),
    (BASE + LLM + "    I_lo: 0.9\n    I_hi: 0.5\n", 13, "technologies.0.I_lo", "I_lo < I_hi"),
    (BASE + LLM + "    I_lo: 0.2\n    I_hi: 0.5\n    colour: red\n", 15, "technologies.0.colour", "unknown key"),
    (BASE + "technologies:\n  - kind: traditional\n    A_bar: 1\n    mu: 0.5\n    F: 1\n", 6, "technologies.0.mu", "mu > eta"),
    (BASE + "technologies:\n  - kind: quantum\n", 4, "technologies.0.kind", "must be one of"),
    (BASE + "sweep:\n  parameters:\n    G: [1, 2]\n", 5, "sweep.parameters.G", "unknown parameter"),
    (BASE + "sweep:\n  parameters:\n    H: {linspace: {start: -1, stop: 2, num: 3}}\n", 5, "sweep.parameters.H", "H > 0"),
    (BASE + "sweep:\n  mode: diagonal\n  parameters:\n    H: [1, 2]\n", 4, "sweep.mode", "grid"),
    (BASE + "solver: {method: magic}\n", 3, "solver.method", "auto"),
    (BASE + "solver:\n  n_tasks: 0\n", 4, "solver.n_tasks", "greater than 1"),
    (BASE + "sweep:\n  parameters:\n    H: {geomspace: [1, 2, 3]}\n", 5, "sweep.parameters.H", "linspace"),
    ("name: x\neconomy: [1, 2\n", 3, None, "invalid YAML"),
]


@pytest.mark.parametrize("text,line,key,fragment", BAD)
def test_bad_scenarios_name_file_line_and_key(text, line, key, fragment, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert f"{path}:{line}" in message, message
    if key:
        assert f"key '{key}'" in message
    assert fragment in message
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and f"{path}:{line}" in result.output


def test_ambiguous_parameter_needs_qualification():
    text = (ROOT / "scenarios" / "combined.yaml").read_text().replace("llm.G:", "G:").replace("{llm.G:", "{G:")
    text = text.replace("    G: {logspace", "    F: {logspace")
    with pytest.raises(ScenarioError, match="ambiguous"):
        parse_scenario(text, "combined.yaml")


def test_validate_reports_a_good_scenario():
    result = runner.invoke(app, ["validate", str(ROOT / "scenarios" / "llm_scaling.yaml")])
    assert result.exit_code == 0
    assert "6,561 points" in result.output


def run_json(*args):
    result = runner.invoke(app, ["solve", *args, "--json"])
    return result.exit_code, json.loads(result.output) if result.output.strip().startswith("{") else result.output


def test_solve_json_benchmark_matches_eq15():
    code, out = run_json("--regime", "benchmark", "--set", "A_H=2", "--set", "H=0.5", "--set", "eta=1.5")
    assert code == 0
    assert set(out) >= {"status", "segments", "W_L", "W_H", "premium", "Y", "m", "shares", "residuals"}
    assert out["status"] == "ok"
    assert out["premium"] == pytest.approx(2 ** (1 / 2.5) * 0.5 ** (-1.5 / 2.5), rel=1e-13)
    assert [s["factor"] for s in out["segments"]] == ["L", "H"]
    assert set(out["shares"]) == {"L", "H", "M"} and out["shares"]["M"] == 0.0
    assert max(abs(v) for v in out["residuals"].values()) <= 1e-10


def test_solve_json_llm_and_unbounded():
    code, out = run_json("--regime", "llm", "--set", "I_lo=0.7", "--set", "I_hi=0.9", "--set", "G=1e11")
    assert code == 0 and [s["factor"] for s in out["segments"]] == ["L", "H", "M", "H"]
    assert out["m"] > 0 and out["shares"]["M"] == pytest.approx(0.2, abs=1e-12)
    code, out = run_json("--regime", "traditional", "--set", "F=0.1", "--set", "A_bar=2", "--set", "mu=2")
    assert code == 1 and out["status"] == "unbounded" and out["Y"] is None


def test_solve_json_reports_the_error_estimate_and_prints_ill_conditioned_values():
    args = ("--regime", "traditional", "--set", "F=0.6", "--set", "A_bar=2", "--set", "mu=2")
    code, out = run_json(*args)
    eq = solve(Economy(eta=1.0, A_L=1.0, A_H=1.5, L=1.0, H=0.6), [TraditionalAI(A_bar=2.0, mu=2.0, F=0.6)])
    assert code == 0 and out["status"] == "ok" and out["accuracy"] == 1e-8
    assert isinstance(out["error"], float) and out["error"] == float(eq.error) <= 1e-8
    # the same point asked for an accuracy below its estimate: ill_conditioned, with every value printed
    code, ill = run_json(*args, "--accuracy", "1e-17")
    assert float(eq.error) > 1e-17
    assert code == 1 and ill["status"] == "ill_conditioned" and ill["status_code"] == 5 and ill["accuracy"] == 1e-17
    for key in ("W_L", "W_H", "premium", "Y", "m", "shares", "segments", "residuals", "error"):
        assert ill[key] == out[key], key
    assert ill["segments"] and ill["W_L"] is not None
    # near the unbounded frontier F = A_bar e^{-mu} (relative gap 1e-13) a float64 answer is not accurate to 1e-8
    frontier = 2.0 * math.exp(-2.0) * (1 + 1e-13)
    code, near = run_json("--regime", "traditional", "--set", f"F={frontier!r}", "--set", "A_bar=2", "--set", "mu=2")
    assert code == 1 and near["status"] == "ill_conditioned", near
    assert near["W_L"] is not None and near["premium"] is not None and near["Y"] is not None and near["segments"]
    error = float(solve(Economy(eta=1.0, A_L=1.0, A_H=1.5, L=1.0, H=0.6), [TraditionalAI(A_bar=2.0, mu=2.0, F=frontier)]).error)
    assert error > 1e-8 and near["error"] == (error if math.isfinite(error) else None)  # JSON has no infinity: null
    # no equilibrium: no estimate
    code, none = run_json("--regime", "traditional", "--set", "F=0.1", "--set", "A_bar=2", "--set", "mu=2")
    assert code == 1 and none["status"] == "unbounded" and none["error"] is None


@pytest.mark.parametrize("value", ["0", "2", "nan"])
def test_solve_bad_accuracy(value):
    result = runner.invoke(app, ["solve", "--regime", "benchmark", "--accuracy", value, "--json"])
    assert result.exit_code == 2 and "solver.accuracy: must be a number in (0, 1)" in result.output


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--set", "zeta=1"], "unknown parameter 'zeta'"),
        (["--set", "eta=abc"], "expected a number"),
        (["--set", "eta"], "NAME=VALUE"),
        (["--set", "mu=3"], "does not belong to regime 'benchmark'"),
        (["--set", "H=-1"], "H > 0"),
    ],
)
def test_solve_bad_input(args, fragment):
    result = runner.invoke(app, ["solve", "--regime", "benchmark", *args, "--json"])
    assert result.exit_code == 2
    assert fragment in result.output


@pytest.mark.parametrize(
    "make,fragment",
    [
        (lambda: Economy(eta=0.0), "Economy.eta: violates eta > 0"),
        (lambda: Economy(L=-1.0), "Economy.L: violates L > 0"),
        (lambda: Economy(A_H=float("nan")), "Economy.A_H: must be finite"),
        (lambda: TraditionalAI(F=0.0), "TraditionalAI.F: violates F > 0"),
        (lambda: ScalingLLM(I_lo=0.5, I_hi=0.5), "ScalingLLM.I_lo: violates I_lo < I_hi"),
        (lambda: ScalingLLM(I_lo=-0.1), "ScalingLLM.I_lo: violates I_lo >= 0"),
        (lambda: ScalingLLM(I_hi=1.5), "ScalingLLM.I_hi: violates I_hi <= 1"),
        (lambda: ScalingLLM(G=np.array([1.0, -2.0])), "ScalingLLM.G: violates G > 0"),
        (lambda: solve(Economy(eta=2.0), [TraditionalAI(mu=1.5)]), "mu > eta"),
        (lambda: solve(Economy(), [TraditionalAI(), TraditionalAI()], method="analytic"), "use 'discretized'"),
    ],
)
def test_parameter_errors_name_parameter_and_condition(make, fragment):
    with pytest.raises(ParameterError) as info:
        make()
    assert fragment in str(info.value)
