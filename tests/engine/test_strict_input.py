"""Strict input (issue 20, defects 4 and 6): duplicate YAML keys, a repeated --set, and Python API
errors that name the parameter and refuse strings and booleans where numbers are meant."""
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

from simulator import Economy, ParameterError, ProfileTechnology, ScalingLLM, ScenarioError, Status, TraditionalAI, solve, solve_batch
from simulator import analytic
from llm_labor.cli import app
from simulator.errors import LLMLaborError
from simulator.scenario import parse_scenario
from simulator.yamlmap import DuplicateKeyError, strict_load

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _one_error_line(result, *words):
    """Exit 2 with a single ``error:`` line on stderr that contains every one of ``words``."""
    out = result.stdout + result.stderr
    assert "Traceback" not in out, out
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2, f"exit {result.exit_code}: {out}"
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


# ----------------------------------------------------------------------------- duplicate YAML keys
SCENARIO = """name: x
economy:
  eta: 1
  A_L: 1
  A_H: 1
  L: 1
  H: 1
technologies:
  - kind: traditional
    A_bar: 1
    mu: 2
    F: 1.0
"""

# (text, key path named, first line, second line)
SCENARIO_DUPLICATES = {
    "top-level": (SCENARIO + "name: y\n", "'name'", 1, 13),
    "nested": (SCENARIO + "    F: 50.0\n", "'technologies.0.F'", 12, 13),  # the case: F=50 was used
    "flow": (SCENARIO.replace("economy:\n  eta: 1\n  A_L: 1\n  A_H: 1\n  L: 1\n  H: 1\n",
                              "economy: {eta: 1, A_L: 1, A_H: 1, L: 1, H: 1, eta: 2}\n"), "'economy.eta'", 2, 2),
}


def test_the_scenario_without_duplicates_is_valid():
    assert parse_scenario(SCENARIO).technologies[0].F == 1.0


@pytest.mark.parametrize("case", SCENARIO_DUPLICATES)
def test_duplicate_key_in_a_scenario(tmp_path, case):
    text, key, first, second = SCENARIO_DUPLICATES[case]
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(text, source="s.yaml")
    msg = str(exc.value)
    assert exc.value.line == second
    assert msg.startswith(f"s.yaml:{second}: duplicate key {key}"), msg
    assert f"first at line {first}" in msg and f"again at line {second}" in msg, msg
    p = tmp_path / "s.yaml"
    p.write_text(text)
    _one_error_line(runner.invoke(app, ["validate", str(p)]), f"{p}:{second}:", key, f"line {first}", f"line {second}")


CALIBRATION = f"""name: t
data_label: "simulated"
scenario: {ROOT / 'scenarios' / 'llm_scaling.yaml'}
moments_file: {ROOT / 'calibration' / 'data' / 'moments_us.json'}
parameters:
  eta: {{start: 1.0, lower: 0.05, upper: 2.5}}
moments:
  - {{kind: wage_exposure_slope, weighted: true}}
bootstrap: {{draws: 50, seed: 3}}
profile:
  points: 21
"""

CALIBRATION_DUPLICATES = {
    "top-level": (CALIBRATION + "name: u\n", "'name'", 1, 12),
    "nested": (CALIBRATION + "  points: 31\n", "'profile.points'", 11, 12),
    "flow": (CALIBRATION.replace("upper: 2.5}", "upper: 2.5, start: 2.0}"), "'parameters.eta.start'", 6, 6),
}


@pytest.mark.parametrize("case", CALIBRATION_DUPLICATES)
def test_duplicate_key_in_a_calibration_config(tmp_path, case):
    from calibration.config import load_config
    from calibration.errors import CalibrationError

    text, key, first, second = CALIBRATION_DUPLICATES[case]
    p = tmp_path / "c.yaml"
    p.write_text(text)
    with pytest.raises(CalibrationError) as exc:
        load_config(p)
    msg = str(exc.value)
    assert msg.startswith(f"{p}:{second}: duplicate key {key}"), msg
    assert f"first at line {first}" in msg and f"again at line {second}" in msg, msg
    _one_error_line(runner.invoke(app, ["calibrate", str(p), "--no-plots"]), f"{p}:{second}:", key)


def test_calibration_config_without_duplicates_loads(tmp_path):
    from calibration.config import load_config

    p = tmp_path / "c.yaml"
    p.write_text(CALIBRATION)
    assert load_config(p).names


def test_duplicate_key_in_a_scoring_config(tmp_path):
    from empirics.scoring.config import load_config
    from empirics.scoring.errors import ConfigError

    text = "endpoints:\n  - name: a\n    base_url: http://127.0.0.1:9/v1/\n    model: m\n    model: n\n"
    p = tmp_path / "run.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=r"line 5, column 5: .*duplicate key 'endpoints\.0\.model': first at line 4, again at line 5"):
        load_config(p)
    p.write_text(text.replace("    model: n\n", ""))
    assert load_config(p).endpoints[0].model == "m"


@pytest.mark.parametrize("text,path,lines", [
    ("a: 1\nb: 2\na: 3\n", ("a",), (1, 3)),
    ("a:\n  - {x: 1}\n  - x: 1\n    y: 2\n    x: 3\n", ("a", 1, "x"), (3, 5)),
    ("a: [1, {b: 1, b: 2}]\n", ("a", 1, "b"), (1, 1)),
    ("a: {b: {c: 1, c: 2}}\n", ("a", "b", "c"), (1, 1)),
    ("1: a\n1.0: b\n", ("1.0",), (1, 2)),  # equal once loaded, so the second would replace the first
])
def test_strict_load_finds_repeats_at_any_depth(text, path, lines):
    with pytest.raises(DuplicateKeyError) as exc:
        strict_load(text)
    assert exc.value.path == path and (exc.value.first_line, exc.value.line) == lines
    assert exc.value.problem_mark.line + 1 == lines[1]


def test_strict_load_accepts_what_safe_load_accepts():
    # a merge key's values may be overridden: that is not a repeat
    text = "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 5\nlist: [{x: 1}, {x: 2}]\nother: {x: 1}\n"
    import yaml

    assert strict_load(text) == yaml.safe_load(text)
    assert strict_load("") is None


# ----------------------------------------------------------------------------- --set
@pytest.mark.parametrize("sets", [["eta=1", "eta=2"], ["eta=1", "A_H=2", " eta=1"]])
def test_repeated_set_is_an_error(sets):
    argv = ["solve", "--regime", "benchmark"]
    for s in sets:
        argv += ["--set", s]
    _one_error_line(runner.invoke(app, argv), "--set eta", "twice")


# ----------------------------------------------------------------------------- the Python API
BAD_API = [
    (lambda: Economy(eta="1"), "Economy.eta: ", "string"),
    (lambda: Economy(eta=True), "Economy.eta: ", "boolean"),
    (lambda: Economy(A_L=np.bool_(True)), "Economy.A_L: ", "boolean"),
    (lambda: Economy(L=np.array([True, False])), "Economy.L: ", "booleans"),
    (lambda: Economy(H=[1.0, "2"]), "Economy.H: ", "string"),
    (lambda: Economy(eta=None), "Economy.eta: ", "None"),
    (lambda: Economy(eta=1 + 2j), "Economy.eta: ", "complex"),
    (lambda: Economy(etaa=1.0), "Economy.etaa: ", "no such parameter"),
    (lambda: Economy().replace(etaa=1.0), "Economy.etaa: ", "no such parameter"),
    (lambda: Economy().replace(eta="2"), "Economy.eta: ", "string"),
    (lambda: Economy(eta=np.ones(2), A_L=np.ones(3)), "Economy.A_L: ", "broadcast"),
    (lambda: TraditionalAI(F="cheap"), "TraditionalAI.F: ", "string"),
    (lambda: TraditionalAI(mu=False), "TraditionalAI.mu: ", "boolean"),
    (lambda: TraditionalAI(name=3), "TraditionalAI.name: ", "string"),
    (lambda: ScalingLLM(G="1e10"), "ScalingLLM.G: ", "string"),
    (lambda: ScalingLLM(N_bar=True), "ScalingLLM.N_bar: ", "boolean"),
    (lambda: ScalingLLM(I_lo=np.array([0.1, 0.2]), I_hi=np.array([0.5, 0.6, 0.7])), "ScalingLLM.I_hi: ", "broadcast"),
    (lambda: ScalingLLM(data="abc"), "ScalingLLM.data: ", "string"),
    (lambda: ScalingLLM(data=[1.0, True]), "ScalingLLM.data: ", "boolean"),
    (lambda: ProfileTechnology(A="1", profile=lambda i: i), "ProfileTechnology.A: ", "string"),
    (lambda: ProfileTechnology(profile=3), "ProfileTechnology.profile: ", "callable"),
    (lambda: ProfileTechnology(profile=lambda i: i, breakpoints_=(0.5, 2.0)), "ProfileTechnology.breakpoints_: ", "[0, 1]"),
    (lambda: solve(Economy(), ["llm"]), "solve: technologies[0]: ", "string 'llm'"),
    (lambda: solve(Economy(), "llm"), "solve: technologies: ", "sequence"),
    (lambda: solve(Economy(), ScalingLLM()), "solve: technologies: ", "in a list"),
    (lambda: solve({"eta": 1.0}), "solve: economy: ", "Economy"),
    (lambda: solve(Economy(), options={"method": "analytic"}), "solve: options: ", "SolverOptions"),
    (lambda: solve(Economy(eta=np.array([1.0, 2.0]))), "solve: economy.eta: ", "solve_batch"),
    (lambda: solve(Economy(), [TraditionalAI(F=np.array([0.5, 1.0]))]), "solve: technologies[0].F: ", "solve_batch"),
    (lambda: solve(jax.tree_util.tree_map(lambda v: "x", Economy())), "solve: economy.eta: ", "string"),
    (lambda: solve_batch(Economy(), [1.0]), "solve_batch: technologies[0]: ", "float"),
    (lambda: solve_batch(Economy(eta=np.array([1.0, 1.5])), [ScalingLLM(G=np.array([1e9, 1e10, 1e11]))]),
     "solve_batch: technologies[0].G: ", "shape (3,) does not broadcast with shape (2,) (from economy.eta)"),
    (lambda: solve_batch(Economy(eta=np.array([1.0, 1.5])), [TraditionalAI(mu=np.array([2.0, 3.0, 4.0]))]),
     "solve_batch: technologies[0].mu: ", "broadcast"),
]


@pytest.mark.parametrize("make,prefix,words", BAD_API, ids=[f"{k}-{p.strip(': ')}" for k, (_, p, _) in enumerate(BAD_API)])
def test_api_errors_name_the_parameter(make, prefix, words):
    with pytest.raises(ParameterError) as exc:
        make()
    msg = str(exc.value)
    assert msg.startswith(prefix), msg
    assert words in msg, msg
    assert isinstance(exc.value, LLMLaborError) and isinstance(exc.value, ValueError)


def test_valid_inputs_still_work():
    # Python floats and ints, numpy scalars and 0-d arrays, numpy arrays for a batch
    ref = solve(Economy(eta=1.0, A_L=1.0, A_H=1.5, L=1.0, H=0.6), [TraditionalAI(A_bar=3.0, mu=2.0, F=1.0)])
    mixed = solve(Economy(eta=1, A_L=np.float64(1.0), A_H=np.array(1.5), L=np.int64(1), H=np.array([0.6])[0]),
                  (TraditionalAI(A_bar=np.float64(3.0), mu=2, F=np.array(1.0)),))
    assert int(ref.status) == Status.OK and float(mixed.premium) == float(ref.premium)
    etas = np.array([1.0, 1.0, 1.2])
    batch = solve_batch(Economy(eta=etas, A_H=1.5, H=0.6), [TraditionalAI(A_bar=3.0, mu=np.array([2.0, 2.0, 2.5]), F=1.0)])
    assert batch.premium.shape == (3,) and float(batch.premium[0]) == float(ref.premium)
    # a list is one leaf: stored as a float64 array, so the object has the same pytree structure as with scalars
    e = Economy(eta=[1.0, 1.2])
    assert isinstance(e.eta, np.ndarray) and e.eta.dtype == np.float64
    assert jax.tree_util.tree_structure(e) == jax.tree_util.tree_structure(Economy())
    assert Economy().replace(eta=np.float64(2.0)).eta == 2.0
    assert ScalingLLM(data=np.array([0.0, 1e10])).data == (0.0, 1e10)
    with pytest.raises(ParameterError):  # still a ValueError, as before
        Economy(eta=-1.0)


def test_jitted_and_vmapped_solvers_still_trace():
    # inside jit/vmap the fields are tracers: construction must not try to read them
    def premium(eta, F):
        economy = Economy(eta=eta, A_H=1.5, H=0.6)
        return analytic.traditional_ai(economy, TraditionalAI(A_bar=3.0, mu=2.0, F=F)).premium

    etas, Fs = jnp.array([1.0, 1.2]), jnp.array([1.0, 0.8])
    got = jax.jit(jax.vmap(premium))(etas, Fs)
    want = solve_batch(Economy(eta=np.asarray(etas), A_H=1.5, H=0.6), [TraditionalAI(A_bar=3.0, mu=2.0, F=np.asarray(Fs))]).premium
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-9)
    slope = jax.grad(lambda x: analytic.benchmark(Economy(eta=x, A_H=1.5, H=0.6)).premium)(1.0)
    assert np.isfinite(float(slope))
    # a tracer next to a concrete bad value: the concrete one is still checked
    with pytest.raises(ParameterError, match=r"^Economy\.A_L: "):
        jax.jit(lambda x: Economy(eta=x, A_L="1").eta)(1.0)


# ----------------------------------------------------------------------------- solver.accuracy
ACCURACY_SCENARIO = "name: x\neconomy: {eta: 1, A_L: 1, A_H: 1, L: 1, H: 1}\nsolver:\n  method: auto\n  accuracy: VALUE\n"


@pytest.mark.parametrize("text, value", [("1.0e-6", 1e-6), ("0.5", 0.5), ("1.0e-17", 1e-17)])
def test_solver_accuracy_is_read_into_the_solver_options(text, value):
    s = parse_scenario(ACCURACY_SCENARIO.replace("VALUE", text), source="s.yaml")
    assert s.solver.accuracy == value and isinstance(s.solver.accuracy, float)
    assert parse_scenario(ACCURACY_SCENARIO.replace("  accuracy: VALUE\n", "")).solver.accuracy == 1e-8  # the default


@pytest.mark.parametrize("text, words", [
    ("0", ["must be a number in (0, 1), got 0"]),
    ("2", ["must be a number in (0, 1), got 2"]),
    ("1", ["must be a number in (0, 1), got 1"]),
    ("-1.0e-3", ["must be a number in (0, 1), got -0.001"]),
    (".nan", ["must be a number in (0, 1), got nan"]),
    ('"x"', ["must be a number, got 'x'"]),
    ("true", ["must be a number, got True"]),
    ("1e-9", ["must be a number, got '1e-9'", "write", "1.0e-9"]),  # YAML 1.1 reads this as text
], ids=["0", "2", "1", "negative", "nan", "string", "bool", "1e-9 as text"])
def test_a_bad_solver_accuracy_names_the_key_and_line(tmp_path, text, words):
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(ACCURACY_SCENARIO.replace("VALUE", text), source="s.yaml")
    msg = str(exc.value)
    assert exc.value.line == 5 and msg.startswith("s.yaml:5: key 'solver.accuracy': "), msg
    for w in words:
        assert w in msg, msg
    p = tmp_path / "s.yaml"
    p.write_text(ACCURACY_SCENARIO.replace("VALUE", text))
    _one_error_line(runner.invoke(app, ["validate", str(p)]), f"{p}:5:", "solver.accuracy", *words)
