"""The parameter registry: metadata on every field, and what is derived from it.

Validation, masks, scenario keys, NetCDF attributes and plot labels all read
the field metadata of ``simulator.params``; these tests check that each of
them agrees with the registry, and that ``check`` accepts exactly the values
inside each constraint.
"""
from __future__ import annotations

import dataclasses

import jax
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import params as registry
from simulator import scenario as scenario_module
from simulator.errors import ParameterError, ScenarioError
from simulator.params import (
    CLASSES,
    Constraint,
    Economy,
    ProfileTechnology,
    ScalingLLM,
    TraditionalAI,
    admissible,
    all_parameters,
    by_name,
    check,
    check_admissible,
    joint_admissible,
    names,
    parameter,
)
from simulator.scenario import parse_scenario
from simulator.sweep import parameter_attrs, parameter_symbol, run_sweep, write_netcdf

BY_CLASS = {cls.__name__: cls for cls in CLASSES}
ENABLE_X64 = getattr(jax, "enable_x64", None)
if ENABLE_X64 is None:  # JAX < 0.7
    from jax.experimental import enable_x64 as ENABLE_X64
PARAMETERS = all_parameters()
#: the largest magnitude drawn: far beyond any bound, finite
BIG = 1e300


def _base(cls):
    return cls(profile=lambda i: i) if cls is ProfileTechnology else cls()


# ----------------------------------------------------------------------------- the metadata itself
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_numeric_field_has_complete_metadata(cls):
    numeric = [f for f in dataclasses.fields(cls) if not f.metadata.get("static", False)]
    assert numeric and [f.name for f in numeric] == list(names(cls)) == list(cls._leaf_names)
    for f in numeric:
        for key in registry.METADATA:
            assert key in f.metadata, f"{cls.__name__}.{f.name} lacks {key!r}"
        info = parameter(cls, f.name)
        assert info.symbol and info.long_name and info.doc and info.unit, info
        assert isinstance(info.constraint, Constraint) and isinstance(info.optional, bool)
        assert info.constraint.holds(info.default), f"the default of {info.qualname} violates {info.condition}"
        assert info.symbol in info.long_name, info  # a label in words names its symbol
    for rule in registry.rules(cls) + registry.joint_rules(cls):
        assert rule.left in names(cls) and rule.right in names(rule.of or cls)


def test_a_name_shared_by_classes_means_one_thing():
    for name in {p.name for p in PARAMETERS}:
        infos = [p for p in PARAMETERS if p.name == name]
        described = {(p.symbol, p.long_name, p.unit, p.constraint) for p in infos}
        assert len(described) == 1, (name, described)
        assert by_name(name) == infos[0]
    assert by_name("no_such_parameter") is None


def test_units_match_the_netcdf_convention():
    units = {p.name: p.unit for p in PARAMETERS}
    assert units["G"] == "parameters" and units["N_bar"] == "tokens"
    assert {u for n, u in units.items() if n not in ("G", "N_bar")} == {"1"}


def test_unknown_parameter_names_the_known_ones():
    with pytest.raises(ParameterError, match=r"^Economy\.etaa: no such parameter; Economy takes eta, A_L, A_H, L, H$"):
        parameter(Economy, "etaa")
    with pytest.raises(ParameterError, match=r"^ScalingLLM\.mu: no such parameter"):
        check(ScalingLLM, mu=1.0)
    assert names(Economy, TraditionalAI)[-3:] == ("A_bar", "mu", "F")
    assert names(TraditionalAI, ScalingLLM).count("A_bar") == 1


@pytest.mark.parametrize(
    "constraint,text,interval",
    [
        (Constraint(lower=0.0), "x > 0", "(0, inf)"),
        (Constraint(lower=0.0, lower_closed=True, note="why"), "x >= 0 (why)", "[0, inf)"),
        (Constraint(upper=1.0, upper_closed=True), "x <= 1", "(-inf, 1]"),
        (Constraint(lower=0.0, upper=1.0), "0 < x < 1", "(0, 1)"),
        (Constraint(lower=0.0, upper=1.0, lower_closed=True, upper_closed=True), "0 <= x <= 1", "[0, 1]"),
    ],
)
def test_constraint_text(constraint, text, interval):
    assert constraint.text("x") == text and constraint.interval == interval


# ----------------------------------------------------------------------------- derived: scenario keys
@pytest.mark.parametrize("spec,cls", [(scenario_module.EconomySpec, Economy), (scenario_module.TraditionalSpec, TraditionalAI),
                                      (scenario_module.LLMSpec, ScalingLLM)], ids=["economy", "traditional", "llm"])
def test_scenario_keys_are_the_dataclass_fields(spec, cls):
    fields = [f.name for f in dataclasses.fields(cls) if not f.metadata.get("static", False)]
    keys = [k for k in spec.model_fields if k not in ("kind", "name")]
    assert keys == fields
    for p in registry.fields(cls):
        assert spec.model_fields[p.name].is_required() == (not p.optional), p.qualname
        if p.optional:
            assert spec.model_fields[p.name].default == p.default
    if cls is not Economy:
        kind = next(k for k, c in scenario_module.KINDS.items() if c is cls)
        assert scenario_module.TECH_PARAMS[kind] == tuple(fields)
        assert spec.model_fields["name"].default == _base(cls).name
    else:
        assert scenario_module.ECONOMY_PARAMS == tuple(fields)


BASE = "name: x\neconomy: {eta: 1, A_L: 1, A_H: 1, L: 1, H: 1}\n"


@pytest.mark.parametrize(
    "text,allowed",
    [
        ("name: x\neconomy: {eta: 1, A_L: 1, A_H: 1, L: 1, H: 1, mu: 2}\n", names(Economy)),
        (BASE + "technologies:\n  - {kind: traditional, A_bar: 1, mu: 2, F: 1, G: 1}\n", ("kind", "name") + names(TraditionalAI)),
    ],
)
def test_unknown_scenario_key_names_the_registry_keys(text, allowed):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "x.yaml")
    assert f"unknown key; allowed keys are {sorted(allowed)}" in str(info.value)


def test_scenario_parameter_names_come_from_the_registry():
    text = (BASE + "technologies:\n  - {kind: llm, name: chat, A_bar: 1, F: 1, a: 1, alpha: 0.3, b: 1, beta: 0.3, G: 1, "
            "N_bar: 1, I_lo: 0.1, I_hi: 0.9}\n")
    scenario = parse_scenario(text, "x.yaml")
    assert scenario.technologies[0].C == parameter(ScalingLLM, "C").default  # optional: the default applies
    assert scenario.parameter_names() == list(names(Economy)) + [f"chat.{n}" for n in names(ScalingLLM)]
    with pytest.raises(ScenarioError, match=r"technology 'chat' has no parameter 'mu'; it has \['A_bar', 'F', 'C'"):
        parse_scenario(text + "sweep:\n  parameters:\n    chat.mu: [1, 2]\n", "x.yaml")


# ----------------------------------------------------------------------------- derived: NetCDF attributes
SWEEP = BASE.replace("name: x", "name: registry") + """technologies:
  - {kind: llm, A_bar: 3, F: 1, a: 410.7, alpha: 0.28, b: 406.4, beta: 0.34, G: 1.0e+10, N_bar: 1.0e+11, I_lo: 0.6, I_hi: 0.95}
sweep:
  parameters:
    llm.G: [1.0e+9, 1.0e+11]
    llm.N_bar: [1.0e+11]
    H: [0.6]
"""


def test_netcdf_attributes_come_from_the_registry(tmp_path):
    scenario = parse_scenario(SWEEP, "registry.yaml")
    with ENABLE_X64(False):  # run_sweep is float64 whatever the caller's setting
        ds = run_sweep(scenario)
    write_netcdf(ds, tmp_path / "s.nc")
    back = xr.load_dataset(tmp_path / "s.nc")
    for axis in ("llm.G", "llm.N_bar", "H"):
        p = by_name(axis.rpartition(".")[2])
        attrs = back[axis].attrs
        assert attrs["units"] == p.unit
        assert attrs["long_name"] == p.long_name + (" of technology 'llm'" if "." in axis else "")
        assert ("comment" in attrs) == (p.unit == "1")
    # spot checks, literally
    assert back["llm.G"].attrs["units"] == "parameters" and back["llm.N_bar"].attrs["units"] == "tokens"
    assert back["llm.G"].attrs["long_name"] == "parameter count G of technology 'llm'"
    assert parameter_symbol("llm.N_bar") == "N̄ (llm)" and parameter_symbol("eta") == "η"
    assert parameter_attrs("unknown") == {"long_name": "unknown", "units": "1", "comment": parameter_attrs("H")["comment"]}
    assert np.all(back["status"].values == 0)
    np.testing.assert_array_equal(back["premium"].values, run_sweep(scenario)["premium"].values)


# ----------------------------------------------------------------------------- check: the constraints
def _inside(c: Constraint):
    low = -BIG if c.lower is None else c.lower
    high = BIG if c.upper is None else c.upper
    return st.floats(low, high, exclude_min=c.lower is not None and not c.lower_closed,
                     exclude_max=c.upper is not None and not c.upper_closed, allow_nan=False)


def _outside(c: Constraint):
    sides = []
    if c.lower is not None:
        sides.append(st.floats(-BIG, c.lower, exclude_max=c.lower_closed, allow_nan=False))
    if c.upper is not None:
        sides.append(st.floats(c.upper, BIG, exclude_min=c.upper_closed, allow_nan=False))
    return st.one_of(*sides)


def _verdict(cls, name, value):
    """None when ``check`` accepts, else the error message."""
    try:
        check(cls, **{name: value})
    except ParameterError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("p", PARAMETERS, ids=lambda p: p.qualname)
def test_check_accepts_values_inside_the_constraint(p):
    cls = BY_CLASS[p.owner]

    @settings(derandomize=True, max_examples=40, deadline=None, database=None)
    @given(_inside(p.constraint))
    def accepted(v):
        assert _verdict(cls, p.name, v) is None
        assert _verdict(cls, p.name, np.array([v, v])) is None

    accepted()


@pytest.mark.parametrize("p", [p for p in PARAMETERS if p.constraint.lower is not None or p.constraint.upper is not None],
                         ids=lambda p: p.qualname)
def test_check_rejects_values_outside_the_constraint_naming_the_parameter(p):
    cls = BY_CLASS[p.owner]

    @settings(derandomize=True, max_examples=40, deadline=None, database=None)
    @given(_outside(p.constraint))
    def rejected(v):
        message = _verdict(cls, p.name, v)
        assert message is not None and message.startswith(f"{p.qualname}: violates {p.condition} (got ")
        assert not p.constraint.holds(v)

    rejected()


@settings(derandomize=True, max_examples=60, deadline=None, database=None)
@given(st.sampled_from(PARAMETERS), st.lists(st.floats(-10.0, 10.0, allow_nan=False), min_size=1, max_size=6))
def test_scalars_and_batches_get_the_same_verdict(p, values):
    cls = BY_CLASS[p.owner]
    scalar = [_verdict(cls, p.name, v) for v in values]
    batch = _verdict(cls, p.name, np.asarray(values))
    assert (batch is None) == all(m is None for m in scalar)
    if batch is not None:  # the same parameter and condition, and the first bad values
        first = next(m for m in scalar if m is not None)
        assert batch.split(" (got ")[0] == first.split(" (got ")[0]
        bad = [v for v, m in zip(values, scalar) if m is not None]
        assert batch.endswith(f"(got {bad[:5]})")
    # the mask the solvers use inside jit agrees, point by point
    base = _base(cls)
    mask = jax.jit(jax.vmap(lambda x: admissible(dataclasses.replace(base, **{p.name: x}), (p.name,))))(np.asarray(values))
    assert np.asarray(mask).tolist() == [m is None for m in scalar]


# ----------------------------------------------------------------------------- rules between fields
@settings(derandomize=True, max_examples=80, deadline=None, database=None)
@given(st.floats(-0.5, 1.5, allow_nan=False), st.floats(-0.5, 1.5, allow_nan=False))
def test_window_rules(lo, hi):
    message = _verdict(ScalingLLM, "I_lo", lo) or _verdict(ScalingLLM, "I_hi", hi)
    try:
        check(ScalingLLM, I_lo=lo, I_hi=hi)
        joint = None
    except ParameterError as exc:
        joint = str(exc)
    if message is None and not lo < hi:
        assert joint.startswith("ScalingLLM.I_lo: violates I_lo < I_hi")
    else:
        assert joint == message
    ok = (0 <= lo) and (hi <= 1) and (lo < hi)
    assert (joint is None) == ok
    window = jax.vmap(lambda a, b: ScalingLLM(I_lo=a, I_hi=b))(np.array([lo]), np.array([hi]))
    assert np.asarray(admissible(window)).tolist() == [ok]


@settings(derandomize=True, max_examples=60, deadline=None, database=None)
@given(st.floats(0.1, 5.0), st.floats(0.1, 5.0))
def test_mu_above_eta(eta, mu):
    economy, tech = Economy(eta=eta), TraditionalAI(mu=mu)
    if mu > eta:
        check_admissible(economy, (tech,))
    else:
        with pytest.raises(ParameterError, match=r"^TraditionalAI\.mu: violates mu > eta \(mu="):
            check_admissible(economy, (tech,))
    assert bool(joint_admissible(economy, tech)) == (mu > eta)
    batch = TraditionalAI(mu=np.array([mu, eta + 1.0]))
    assert (mu > eta) == (np.all(joint_admissible(Economy(eta=np.array([eta, eta])), batch)))


def test_routes_masks_equal_the_hand_written_conditions():
    """The registry's masks reproduce the conditions the routes wrote out (so they can replace them bit for bit)."""
    rng = np.random.default_rng(0)
    n = 4000
    values = {k: rng.uniform(-0.5, 2.0, n) for k in names(Economy)}
    e = jax.vmap(lambda v: Economy(**v))(values)
    assert np.array_equal(np.asarray(admissible(e)),
                          (values["eta"] > 0) & (values["A_L"] > 0) & (values["A_H"] > 0) & (values["L"] > 0) & (values["H"] > 0))
    t = {k: rng.uniform(-0.5, 1.5, n) for k in ("A_bar", "F", "I_lo", "I_hi")}
    tech = jax.vmap(lambda v: ScalingLLM(**v))(t)
    want = (t["F"] > 0) & (t["A_bar"] > 0) & (t["I_lo"] >= 0) & (t["I_lo"] < t["I_hi"]) & (t["I_hi"] <= 1)
    assert np.array_equal(np.asarray(admissible(tech, ("A_bar", "F", "I_lo", "I_hi"))), want)
    assert 0 < np.mean(want) < 1  # both verdicts occur


def test_cli_solve_defaults_cover_every_registry_parameter():
    from simulator.cli import REGIME_PARAMS, SOLVE_DEFAULTS
    from simulator.params import Economy, ScalingLLM, TraditionalAI, names

    assert set(SOLVE_DEFAULTS) == set(names(Economy, TraditionalAI, ScalingLLM))
    assert REGIME_PARAMS["llm"] == names(Economy) + names(ScalingLLM)
