"""The ``dynamics:`` section of a scenario: market frictions, agent counts and parameter paths.

Validation is strict, like the rest of the scenario: an unknown key, a wrong
type, an out-of-range value, a path for an unknown parameter or a path that
leaves the admissible region raises :class:`~simulator.errors.ScenarioError`
naming the file, the line and the key.  The schema is documented in
``docs/market.md``.
"""
from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal, Optional

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from ..errors import ParameterError, ScenarioError
from ..scenario import Scenario, scenario_error, validate_section, with_values

#: Parameters a path may not move: the agents carry the labour supplies.
FIXED = ("L", "H")
PLOTS = ("paths", "assignment_time", "wages")


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a number")
    return float(value)


Num = Annotated[float, BeforeValidator(_number)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Window(_Strict):
    """Interpolation between ``start`` (default: the scenario's value) and ``stop`` over periods [from, to]."""

    start: Optional[Num] = None
    stop: Num
    from_: StrictInt = Field(default=0, ge=0, alias="from")
    to: Optional[StrictInt] = Field(default=None, ge=0)


class DoublingPath(_Strict):
    """Doubles every ``doubling_every`` periods from period ``from`` (until ``to``, then constant)."""

    doubling_every: Annotated[Num, Field(gt=0)]
    start: Optional[Num] = None
    from_: StrictInt = Field(default=0, ge=0, alias="from")
    to: Optional[StrictInt] = Field(default=None, ge=0)


class LinearPath(_Strict):
    linear: Window


class GeometricPath(_Strict):
    geometric: Window


class PointsPath(_Strict):
    """Values at given periods, interpolated in between and held constant outside."""

    points: list[tuple[StrictInt, Num]] = Field(min_length=1)
    interpolate: Literal["linear", "log", "step"] = "linear"


PATH_KINDS = {"doubling_every": DoublingPath, "linear": LinearPath, "geometric": GeometricPath, "points": PointsPath}


class DynamicsSpec(_Strict):
    seed: StrictInt = Field(ge=0)
    periods: StrictInt = Field(gt=0, le=10_000_000)
    tasks: StrictInt = Field(ge=2, le=1_000_000)
    workers: StrictInt = Field(ge=2, le=1_000_000_000)
    revision_rate: Annotated[Num, Field(gt=0, le=1)] = 0.1
    choice: Literal["best_response", "logit"] = "best_response"
    temperature: Optional[Annotated[Num, Field(gt=0)]] = None
    move_cost: StrictInt = Field(default=0, ge=0)
    model_entry_speed: Annotated[Num, Field(gt=0, le=1)] = 1.0
    productivity_sigma: Annotated[Num, Field(ge=0, le=5)] = 0.0
    init: Literal["equilibrium", "uniform"] = "equilibrium"
    record_every: StrictInt = Field(default=1, gt=0)
    compare_equilibrium: StrictBool = True
    plots: list[Literal["paths", "assignment_time", "wages"]] = list(PLOTS)
    #: parameter name -> one of the PATH_KINDS mappings (checked separately)
    paths: dict[StrictStr, Any] = Field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Dynamics:
    """A validated dynamics section with its parameter paths evaluated on every period."""

    spec: DynamicsSpec
    #: parameter name -> values, shape (periods,)
    paths: dict[str, np.ndarray]

    def __getattr__(self, name):
        return getattr(self.spec, name)

    def values_at(self, periods) -> dict[str, np.ndarray]:
        return {k: v[periods] for k, v in self.paths.items()}


def _path_error(scenario: Scenario, exc: ValidationError, prefix: tuple) -> ScenarioError:
    err = exc.errors()[0]
    loc = prefix + tuple(p for p in err["loc"])
    if err["type"] == "extra_forbidden":
        message = "unknown key"
    else:
        message = f"{err['msg'].removeprefix('Value error, ')} (got {err.get('input')!r})"
    return scenario_error(scenario, message, loc)


def current_value(scenario: Scenario, name: str) -> float:
    """The scenario's own value of parameter ``name`` (as resolved by :func:`with_values`)."""
    economy, techs = with_values(scenario, {})
    from ..scenario import _resolve_name

    def fail(message):
        raise ParameterError(message)

    where, field = _resolve_name(name, techs, fail)
    obj = economy if where == "economy" else techs[where]
    return float(np.asarray(getattr(obj, field)))


def evaluate_path(spec, base: float, periods: int) -> np.ndarray:
    """Values of one path on periods 0 .. periods-1."""
    t = np.arange(periods, dtype=np.float64)
    if isinstance(spec, DoublingPath):
        start = base if spec.start is None else spec.start
        stop = periods - 1 if spec.to is None else spec.to
        return start * np.exp2((np.clip(t, spec.from_, stop) - spec.from_) / spec.doubling_every)
    if isinstance(spec, (LinearPath, GeometricPath)):
        w = spec.linear if isinstance(spec, LinearPath) else spec.geometric
        start = base if w.start is None else w.start
        stop_t = periods - 1 if w.to is None else w.to
        span = max(stop_t - w.from_, 1)
        frac = np.clip((t - w.from_) / span, 0.0, 1.0)
        if isinstance(spec, LinearPath):
            return start + frac * (w.stop - start)
        return np.exp(np.log(start) + frac * (np.log(w.stop) - np.log(start)))
    pts = sorted(spec.points)
    xs = np.array([p[0] for p in pts], dtype=np.float64)
    vs = np.array([p[1] for p in pts], dtype=np.float64)
    if spec.interpolate == "step":
        idx = np.clip(np.searchsorted(xs, t, side="right") - 1, 0, len(xs) - 1)
        return vs[idx]
    if spec.interpolate == "log":
        return np.exp(np.interp(t, xs, np.log(vs)))
    return np.interp(t, xs, vs)


def load_dynamics(scenario: Scenario, overrides: dict | None = None) -> Dynamics:
    """Validate ``scenario``'s dynamics section (with ``overrides`` of top-level keys) and evaluate its paths."""
    if scenario.sections.get("dynamics") is None:
        raise scenario_error(scenario, "this scenario has no 'dynamics:' section; add one to simulate it (see docs/market.md)", ())
    spec = validate_section(scenario, "dynamics", DynamicsSpec)
    changes = {k: v for k, v in (overrides or {}).items() if v is not None}
    if changes:
        try:
            spec = DynamicsSpec.model_validate({**spec.model_dump(by_alias=True), **changes})
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ScenarioError(f"override of dynamics.{'.'.join(map(str, err['loc']))}: {err['msg']} (got {err.get('input')!r})",
                                file=scenario.path) from None
    if spec.choice == "logit" and spec.temperature is None:
        raise scenario_error(scenario, "choice 'logit' needs a temperature > 0", ("dynamics", "choice"))
    if spec.init == "uniform" and spec.workers < spec.tasks:
        raise scenario_error(scenario, f"init 'uniform' needs at least one worker per task (workers >= tasks = {spec.tasks})",
                             ("dynamics", "workers"))
    supply = float(scenario.economy.L) + float(scenario.economy.H)
    n_low = round(spec.workers * float(scenario.economy.L) / supply)
    if n_low < 1 or spec.workers - n_low < 1:
        raise scenario_error(scenario, "too few workers: both skills need at least one agent", ("dynamics", "workers"))
    paths: dict[str, np.ndarray] = {}
    for name, raw in spec.paths.items():
        loc = ("dynamics", "paths", name)
        if name in FIXED:
            raise scenario_error(scenario, f"labour supply {name!r} is fixed: it is carried by the agents", loc)
        kinds = [k for k in PATH_KINDS if isinstance(raw, dict) and k in raw]
        if len(kinds) != 1:
            raise scenario_error(
                scenario,
                "a path must be one of {doubling_every: K, start?, from?, to?}, {linear: {start?, stop, from?, to?}}, "
                "{geometric: {start?, stop, from?, to?}} or {points: [[period, value], ...], interpolate?}",
                loc,
            )
        try:
            path = PATH_KINDS[kinds[0]].model_validate(raw)
        except ValidationError as exc:
            raise _path_error(scenario, exc, loc) from None
        window = path if isinstance(path, DoublingPath) else getattr(path, kinds[0], None)
        if isinstance(window, (DoublingPath, Window)):
            to = spec.periods - 1 if window.to is None else window.to
            if to < window.from_:
                raise scenario_error(scenario, f"need from <= to (got from={window.from_}, to={to}; 'to' defaults to the last period, "
                                               f"{spec.periods - 1})", loc)
        try:
            base = current_value(scenario, name)
        except ParameterError as exc:
            raise scenario_error(scenario, str(exc), loc) from None
        if isinstance(path, GeometricPath) and (min(base if path.geometric.start is None else path.geometric.start, path.geometric.stop) <= 0):
            raise scenario_error(scenario, "a geometric path needs positive start and stop", loc)
        if isinstance(path, PointsPath) and path.interpolate == "log" and min(v for _, v in path.points) <= 0:
            raise scenario_error(scenario, "log interpolation needs positive values", loc)
        paths[name] = evaluate_path(path, base, spec.periods)
    # every period's parameters must be admissible
    if paths:
        try:
            with_values(scenario, paths)
        except ParameterError as exc:
            bad = _first_bad_period(scenario, paths)
            name = next(iter(paths)) if bad is None else bad[1]
            where = "" if bad is None else f"at period {bad[0]}: "
            raise scenario_error(scenario, f"{where}{exc}", ("dynamics", "paths", name)) from None
    return Dynamics(spec=spec, paths=paths)


def _first_bad_period(scenario: Scenario, paths: dict[str, np.ndarray]):
    """(period, parameter) of the first inadmissible period: bisection on prefixes, which fail iff they hold it."""
    periods = len(next(iter(paths.values())))

    def fails(stop):
        try:
            with_values(scenario, {k: v[:stop] for k, v in paths.items()})
        except ParameterError as exc:
            return exc
        return None

    if fails(periods) is None:
        return None
    lo, hi = 0, periods  # prefix of length lo passes, of length hi fails
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fails(mid) is None:
            lo = mid
        else:
            hi = mid
    field = str(fails(hi)).split(":")[0].split(".")[-1]
    name = next((k for k in paths if k.split(".")[-1] == field), next(iter(paths)))
    return hi - 1, name
