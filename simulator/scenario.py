"""Scenario files: a YAML description of an economy, its technologies, a sweep and outputs.

A scenario is validated strictly: an unknown key, a wrong type or an
inadmissible value raises :class:`~simulator.errors.ScenarioError` naming the
file, the line and the key.  The schema is documented in ``docs/scenarios.md``.
"""
from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError, create_model

from . import params as registry
from .equilibrium import ACCURACY
from .errors import FrontierError, ParameterError, ScenarioError
from .params import Economy, ScalingLLM, TraditionalAI, check_admissible
from .solve import SolverOptions
from .yamlmap import dotted as _dotted
from .yamlmap import load_mapping
from .yamlmap import line_of as _nearest_line

Number = Union[StrictInt, StrictFloat]
#: a technology block's ``kind`` -> its parameter class
KINDS = {"traditional": TraditionalAI, "llm": ScalingLLM}
#: the keys of the ``economy`` block and of each kind of technology block (from the parameter registry)
ECONOMY_PARAMS = registry.names(Economy)
TECH_PARAMS = {kind: registry.names(cls) for kind, cls in KINDS.items()}
PLOTS = ("premium_heatmap", "thresholds", "assignment")
#: plots of a path sweep (``sweep: {mode: path}``) unless ``outputs.plots`` says otherwise
PATH_PLOTS = ("frontier", "assignment")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _spec(model_name: str, cls, kind: str | None = None):
    """A strict pydantic model of a parameter block: one number per registry field, required unless optional."""
    keys = {}
    if kind is not None:
        name_default = next(f.default for f in dataclasses.fields(cls) if f.name == "name")
        keys = {"kind": (Literal[kind], ...), "name": (StrictStr, name_default)}
    keys.update({p.name: (Number, p.default if p.optional else ...) for p in registry.fields(cls)})
    return create_model(model_name, __base__=_Strict, __module__=__name__, **keys)


EconomySpec = _spec("EconomySpec", Economy)
TraditionalSpec = _spec("TraditionalSpec", TraditionalAI, "traditional")
LLMSpec = _spec("LLMSpec", ScalingLLM, "llm")
#: a technology block's ``kind`` -> its pydantic model
TECH_SPECS = {"traditional": TraditionalSpec, "llm": LLMSpec}


class RangeSpec(_Strict):
    start: Number
    stop: Number
    num: StrictInt = Field(gt=0)


class LinspaceSpec(_Strict):
    linspace: RangeSpec


class LogspaceSpec(_Strict):
    """Base-10 exponents: ``{logspace: {start: 8, stop: 12, num: 41}}`` gives 1e8 ... 1e12."""

    logspace: RangeSpec


class ListSpec(_Strict):
    values: list[Number] = Field(min_length=1)


class SweepSpec(_Strict):
    mode: Literal["grid", "zip", "path"] = "grid"
    #: grid and zip: each value is a list of numbers, {linspace: {...}} or {logspace: {...}} (checked separately)
    parameters: dict[StrictStr, Any] | None = None
    #: path: checked against PathSpec
    path: dict[StrictStr, Any] | None = None


class PathSpec(_Strict):
    """``sweep.path``: a dated path of (G, N_bar) from the bundled model table or a CSV file."""

    source: Literal["epoch"] | None = None
    csv: StrictStr | None = None
    region: Literal["china", "world"] = "china"
    rule: Literal["running_max", "min_loss"] = "running_max"
    #: dates: YAML dates or 'YYYY-MM-DD' strings (checked separately)
    start: Any = None
    end: Any = None
    frequency: Literal["MS", "release"] = "MS"
    exclude: list[StrictStr] = []
    technology: StrictStr | None = None


class SolverSpec(_Strict):
    method: Literal["auto", "analytic", "discretized"] = "auto"
    strategy: Literal["nested", "newton"] = "newton"
    n_outer: StrictInt = Field(default=5, gt=0)
    n_inner: StrictInt = Field(default=3, gt=0)
    retry_n_outer: StrictInt = Field(default=80, ge=0)
    retry_n_inner: StrictInt = Field(default=12, ge=0)
    n_traditional: StrictInt = Field(default=80, gt=0)
    n_tasks: StrictInt = Field(default=1024, gt=1)
    max_segments: StrictInt = Field(default=16, ge=4)
    chunk_size: StrictInt = Field(default=65536, gt=0)
    #: relative accuracy that status ok vouches for, in (0, 1) (checked in _build)
    accuracy: Number = ACCURACY


class OutputSpec(_Strict):
    directory: StrictStr | None = None
    #: None: NetCDF for in-memory sweeps, none for sweeps into a Zarr store
    netcdf: StrictBool | None = None
    plots: list[Literal["premium_heatmap", "thresholds", "assignment", "frontier"]] = list(PLOTS)
    #: parameter name -> number; in a path sweep also 'date' -> a date (checked separately)
    assignment_points: list[dict[StrictStr, Any]] = []


class ScenarioSpec(_Strict):
    name: StrictStr
    description: StrictStr = ""
    economy: EconomySpec
    #: each item is checked against TraditionalSpec or LLMSpec by its 'kind'
    technologies: list[dict[StrictStr, Any]] = Field(default_factory=list)
    sweep: SweepSpec | None = None
    solver: SolverSpec = SolverSpec()
    outputs: OutputSpec = OutputSpec()
    #: sections validated by other modules (see :func:`validate_section`)
    dynamics: dict[StrictStr, Any] | None = None
    execution: dict[StrictStr, Any] | None = None


#: a linspace / logspace axis longer than this is built only when its values are first used
LAZY_AXIS = 1_000_000


class Axes(Mapping):
    """Swept parameter -> values, in order.  Long ``linspace`` / ``logspace`` axes are built on first access.

    :meth:`length` gives an axis's number of values without building it, so a
    scenario's point count (:attr:`Scenario.shape`) costs nothing whatever
    the sweep's size.
    """

    def __init__(self):
        self._values: dict[str, np.ndarray] = {}
        self._recipes: dict[str, tuple[str, float, float, int]] = {}
        self._order: list[str] = []

    def set(self, name: str, values: np.ndarray) -> None:
        self._order.append(name) if name not in self._order else None
        self._values[name] = values
        self._recipes.pop(name, None)

    def set_lazy(self, name: str, kind: str, start: float, stop: float, num: int) -> None:
        self._order.append(name) if name not in self._order else None
        self._recipes[name] = (kind, float(start), float(stop), int(num))
        self._values.pop(name, None)

    def length(self, name: str) -> int:
        if name in self._recipes:
            return self._recipes[name][3]
        return len(self._values[name])

    def is_built(self, name: str) -> bool:
        return name in self._values

    def endpoints(self, name: str) -> np.ndarray:
        """The first and last values (all values of a list axis), without building a lazy axis."""
        if name in self._values:
            return self._values[name]
        kind, start, stop, num = self._recipes[name]
        return (np.logspace if kind == "logspace" else np.linspace)(start, stop, min(num, 2))

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._values:
            if name not in self._recipes:
                raise KeyError(name)
            kind, start, stop, num = self._recipes.pop(name)
            self._values[name] = (np.logspace if kind == "logspace" else np.linspace)(start, stop, num)
        return self._values[name]

    def __iter__(self):
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __repr__(self) -> str:
        return "Axes(" + ", ".join(f"{k}: {self.length(k)} values" for k in self._order) + ")"

    def __contains__(self, name) -> bool:  # without building the axis
        return name in self._values or name in self._recipes

    def __eq__(self, other) -> bool:
        if not isinstance(other, Mapping) or list(self) != list(other):
            return False
        for k in self:
            recipe = self._recipes.get(k)
            if recipe is not None and isinstance(other, Axes) and other._recipes.get(k) == recipe:
                continue
            if not np.array_equal(self[k], other[k]):
                return False
        return True

    __hash__ = None


def as_axes(values: Mapping) -> Axes:
    """An :class:`Axes` of a plain mapping (kept as is when it is one)."""
    if isinstance(values, Axes):
        return values
    axes = Axes()
    for k, v in values.items():
        axes.set(k, np.asarray(v))
    return axes


@dataclasses.dataclass(frozen=True)
class Scenario:
    """A validated scenario, ready to run.

    ``axes`` maps each swept parameter to its values (an :class:`Axes`: long
    ranges are built on first access; :attr:`shape` and :attr:`points` count
    without building them).  A grid sweep has one
    dimension per parameter; a zipped sweep one dimension, named after the
    first parameter, along which every parameter runs; a path sweep one
    dimension ``date`` (the dates of ``frontier``) along which the path
    technology's G and N_bar run (``axes`` keys ``NAME.G``, ``NAME.N_bar``).
    """

    name: str
    description: str
    economy: Economy
    technologies: tuple
    sweep_mode: str
    axes: Axes
    log_axes: frozenset[str]
    solver: SolverOptions
    chunk_size: int
    outputs: OutputSpec
    text: str
    path: str | None
    #: raw 'dynamics' and 'execution' sections (None when absent)
    sections: dict = dataclasses.field(default_factory=dict)
    #: key path -> line number in the file
    lines: dict = dataclasses.field(default_factory=dict, repr=False)
    #: path sweeps: the dated path (a simulator.frontier.FrontierPath) and its provenance record
    frontier: Any = None
    frontier_record: dict = dataclasses.field(default_factory=dict)

    @property
    def dims(self) -> tuple[str, ...]:
        if self.sweep_mode == "path":
            return ("date",)
        return tuple(self.axes) if self.sweep_mode == "grid" else tuple(self.axes)[:1]

    def axis_length(self, name: str) -> int:
        """Number of values of axis ``name``, without building a lazily built axis."""
        axes = self.axes
        return axes.length(name) if isinstance(axes, Axes) else len(axes[name])

    @property
    def points(self) -> int:
        """Number of points of the sweep (1 without a sweep), counted without building any array."""
        return math.prod(self.shape) if self.shape else 1

    @property
    def shape(self) -> tuple[int, ...]:
        if self.sweep_mode == "grid":
            return tuple(self.axis_length(k) for k in self.axes)
        return (self.axis_length(next(iter(self.axes))),) if self.axes else ()

    def parameter_names(self) -> list[str]:
        """Every parameter name a sweep or an override may use."""
        names = list(ECONOMY_PARAMS)
        for t in self.technologies:
            names += [f"{t.name}.{p}" for p in registry.names(t)]
        return names


# ----------------------------------------------------------------------------- loading
def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file."""
    from .yamlmap import read_text

    return parse_scenario(read_text(path, ScenarioError, "scenario"), source=str(path))


def parse_scenario(text: str, source: str | None = None) -> Scenario:
    """Validate scenario text; ``source`` names the file in error messages."""
    raw, lines = load_mapping(text, source, ScenarioError, "a scenario")
    spec = _validate(ScenarioSpec, raw, (), source, lines)
    techs = []
    for k, t in enumerate(spec.technologies):
        kind = t.get("kind")
        if kind not in KINDS:
            raise ScenarioError(
                f"'kind' must be one of {sorted(KINDS)}, got {kind!r}",
                file=source, line=_nearest_line(lines, ("technologies", k)), key=f"technologies.{k}.kind",
            )
        model = TECH_SPECS[kind]
        techs.append(_validate(model, t, ("technologies", k), source, lines))
    sweep_values = {}
    if spec.sweep is not None:
        _check_sweep_keys(spec.sweep, source, lines)
        for name, v in (spec.sweep.parameters or {}).items():
            loc = ("sweep", "parameters", name)
            if isinstance(v, list):
                sweep_values[name] = _validate(ListSpec, {"values": v}, loc, source, lines, drop=("values",))
            elif isinstance(v, dict) and len(v) == 1 and next(iter(v)) in ("linspace", "logspace"):
                model = LinspaceSpec if "linspace" in v else LogspaceSpec
                sweep_values[name] = _validate(model, v, loc, source, lines)
            else:
                raise ScenarioError(
                    "must be a list of numbers, {linspace: {start, stop, num}} or {logspace: {start, stop, num}}",
                    file=source, line=_nearest_line(lines, loc), key=_dotted(loc),
                )
    return _build(spec, techs, sweep_values, text, source, lines)


def _check_sweep_keys(sweep: SweepSpec, source, lines) -> None:
    """grid and zip sweeps take 'parameters', path sweeps 'path'."""
    given = sweep.model_fields_set
    want, other = ("path", "parameters") if sweep.mode == "path" else ("parameters", "path")
    if other in given:
        modes = "'path'" if other == "path" else "'grid' and 'zip'"
        raise ScenarioError(f"applies to sweep mode {modes} only, not {sweep.mode!r}", file=source,
                            line=_nearest_line(lines, ("sweep", other)), key=f"sweep.{other}")
    if getattr(sweep, want) is None:
        example = "{source: epoch, region: china} or {csv: FILE}" if want == "path" else "{NAME: [values]}"
        raise ScenarioError(f"sweep mode {sweep.mode!r} needs '{want}: {example}'", file=source,
                            line=_nearest_line(lines, ("sweep", "mode") if "mode" in given else ("sweep",)), key=f"sweep.{want}")


def _validate(model, data, prefix: tuple, source, lines, drop: tuple = ()):
    """Validate ``data`` with a pydantic model; errors name the file, line and full key."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if p not in drop)
        number_error = err["type"] in ("int_type", "float_type") or (loc and loc[-1] in ("int", "float"))
        loc = tuple(p for p in loc if p not in ("int", "float"))
        full = prefix + loc
        message = f"must be a number, got {err.get('input')!r}" if number_error else f"{err['msg']} (got {err.get('input')!r})"
        if number_error and _reads_as_number(err.get("input")):
            message += f" (YAML reads {err['input']} as text: write the mantissa with a point, e.g. {_yaml_float(err['input'])})"
        if err["type"] == "extra_forbidden":
            owner = _model_at(model, loc[:-1])
            message = f"unknown key; allowed keys are {sorted(owner.model_fields)}" if owner else err["msg"]
        raise ScenarioError(message, file=source, line=_nearest_line(lines, full), key=_dotted(full)) from None


def _reads_as_number(value) -> bool:
    """Whether a string is a number in exponent form that YAML 1.1 leaves as text (``1e-9``, ``1.0e9``)."""
    if not isinstance(value, str) or "e" not in value.lower():
        return False
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def _yaml_float(text: str) -> str:
    """``'1e-9'`` -> ``'1.0e-9'``, ``'1e9'`` -> ``'1.0e+9'`` (YAML 1.1 wants a point and a signed exponent)."""
    mantissa, _, exponent = text.strip().lower().partition("e")
    if exponent and exponent[0] not in "+-":
        exponent = "+" + exponent
    return f"{mantissa if '.' in mantissa else mantissa + '.0'}" + (f"e{exponent}" if exponent else "")


def _model_at(model, loc: tuple):
    """The pydantic model that validates the mapping at key path ``loc`` under ``model``, or None."""
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return None
        options = typing.get_args(field.annotation) or (field.annotation,)
        model = next((t for t in options if isinstance(t, type) and issubclass(t, BaseModel)), None)
        if model is None:
            return None
    return model


def _build(spec: ScenarioSpec, tech_specs, sweep_values, text: str, source, lines) -> Scenario:
    def fail(message, loc):
        raise ScenarioError(message, file=source, line=_nearest_line(lines, loc), key=_dotted(loc))

    try:
        economy = Economy(**spec.economy.model_dump())
    except ParameterError as exc:
        field = str(exc).split(":")[0].split(".")[-1]
        fail(str(exc), ("economy", field))
    technologies = []
    names = set()
    for k, t in enumerate(tech_specs):
        values = t.model_dump()
        kind, name = values.pop("kind"), values.pop("name")
        if name in names:
            fail(f"technology name {name!r} is used twice", ("technologies", k, "name"))
        names.add(name)
        cls = KINDS[kind]
        try:
            technologies.append(cls(name=name, **values))
        except ParameterError as exc:
            field = str(exc).split(":")[0].split(".")[-1]
            fail(str(exc), ("technologies", k, field))
    technologies = tuple(technologies)
    for k, tech in enumerate(technologies):
        try:
            check_admissible(economy, (tech,))
        except ParameterError as exc:
            field = str(exc).split(":")[0].split(".")[-1]
            fail(str(exc), ("technologies", k, field))

    axes = Axes()
    log_axes = set()
    mode = "grid"
    frontier, frontier_record = None, {}
    if spec.sweep is not None:
        mode = spec.sweep.mode
        for pname, values in sweep_values.items():
            loc = ("sweep", "parameters", pname)
            _resolve_name(pname, technologies, lambda m: fail(m, loc))
            if isinstance(values, (LinspaceSpec, LogspaceSpec)):
                kind = "linspace" if isinstance(values, LinspaceSpec) else "logspace"
                r = getattr(values, kind)
                if kind == "logspace":
                    log_axes.add(pname)
                if r.num > LAZY_AXIS:  # counted now, built when solved
                    axes.set_lazy(pname, kind, r.start, r.stop, r.num)
                else:
                    axes.set(pname, (np.linspace if kind == "linspace" else np.logspace)(r.start, r.stop, r.num))
            else:
                axes.set(pname, np.asarray(values.values, dtype=np.float64))
        if mode == "zip" and len({axes.length(k) for k in axes}) > 1:
            fail("zipped parameters must have the same number of values", ("sweep", "parameters"))
        if mode == "path":
            frontier, frontier_record = _build_path(spec.sweep.path, technologies, source, lines, fail)
            tech = frontier_record["technology"]
            axes = as_axes({f"{tech}.G": frontier.G, f"{tech}.N_bar": frontier.N_bar})
            log_axes.update(axes)
        elif not axes:
            fail("a sweep needs at least one parameter", ("sweep", "parameters"))
    s = spec.solver
    if not 0 < s.accuracy < 1:  # also false for NaN
        fail(f"must be a number in (0, 1), got {s.accuracy!r}", ("solver", "accuracy"))
    try:
        solver = SolverOptions(method=s.method, strategy=s.strategy, n_outer=s.n_outer, n_inner=s.n_inner, n_traditional=s.n_traditional,
                               n_tasks=s.n_tasks, max_segments=s.max_segments, retry_n_outer=s.retry_n_outer,
                               retry_n_inner=s.retry_n_inner, accuracy=float(s.accuracy))
        from .solve import resolve_method

        resolve_method(technologies, s.method)
    except ParameterError as exc:
        fail(str(exc), ("solver", "method"))
    for k, point in enumerate(spec.outputs.assignment_points):
        for pname, value in point.items():
            loc = ("outputs", "assignment_points", k, pname)
            if pname == "date" and mode == "path":
                from .frontier import parse_day

                try:
                    parse_day(value, "date")
                except FrontierError as exc:
                    fail(str(exc).removeprefix("date: "), loc)
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                fail(f"must be a number, got {value!r}" + (" ('date' applies to path sweeps only)" if pname == "date" else ""), loc)
            _resolve_name(pname, technologies, lambda m: fail(m, loc))
    outputs = spec.outputs
    if mode == "path" and "plots" not in outputs.model_fields_set:
        outputs = outputs.model_copy(update={"plots": list(PATH_PLOTS)})
    if mode != "path" and "frontier" in outputs.plots:
        fail("the 'frontier' plot needs a path sweep (sweep: {mode: path, ...})", ("outputs", "plots"))
    scenario = Scenario(
        name=spec.name, description=spec.description, economy=economy, technologies=technologies,
        sweep_mode=mode, axes=axes, log_axes=frozenset(log_axes), solver=solver, chunk_size=s.chunk_size,
        outputs=outputs, text=text, path=source,
        sections={"dynamics": spec.dynamics, "execution": spec.execution}, lines=lines,
        frontier=frontier, frontier_record=frontier_record,
    )
    # every swept value must be admissible too.  Each condition is an inequality in one parameter when the
    # others are fixed, so the two ends of a long linspace / logspace axis stand for all its values.
    for pname in axes:
        try:
            with_values(scenario, {pname: axes.endpoints(pname)})
        except ParameterError as exc:
            fail(f"swept values: {exc}", ("sweep", "path") if mode == "path" else ("sweep", "parameters", pname))
    return scenario


def _build_path(raw: dict, technologies, source, lines, fail):
    """The :class:`~simulator.frontier.FrontierPath` of ``sweep.path`` and its provenance record."""
    from .frontier import ATTRIBUTION, DATA, file_sha256, frontier_path, load_models, read_path_csv

    spec = _validate(PathSpec, raw, ("sweep", "path"), source, lines)
    loc = ("sweep", "path")
    given = spec.model_fields_set
    if (spec.source is None) == (spec.csv is None):
        fail("give either 'source: epoch' (the bundled Epoch AI table) or 'csv: FILE' (a path of date, G, N)",
             loc + (("csv",) if spec.csv is not None else ()))
    llms = [t for t in technologies if isinstance(t, ScalingLLM)]
    if spec.technology is None:
        if len(llms) != 1:
            fail("a path sweep needs one 'kind: llm' technology, or 'technology: NAME' to choose one; "
                 f"this scenario has {len(llms)}", loc)
        tech = llms[0]
    else:
        named = [t for t in technologies if t.name == spec.technology]
        if not named or not isinstance(named[0], ScalingLLM):
            fail(f"no 'kind: llm' technology named {spec.technology!r}; llm technologies: {[t.name for t in llms]}",
                 loc + ("technology",))
        tech = named[0]
    if spec.csv is not None:
        epoch_only = sorted(given & {"region", "rule", "start", "end", "frequency", "exclude"})
        if epoch_only:
            fail("applies to 'source: epoch' only; a CSV path is used as given", loc + (epoch_only[0],))
        csv = Path(spec.csv)
        if not csv.is_absolute():
            csv = (Path(source).parent if source else Path.cwd()) / csv
        try:
            frontier = read_path_csv(csv)
        except FrontierError as exc:
            fail(str(exc), loc + ("csv",))
        record = {"source": "csv", "csv": str(csv), "csv_sha256": file_sha256(csv)}
    else:
        constants = tuple(float(getattr(tech, k)) for k in ("a", "alpha", "b", "beta"))
        try:
            models = load_models()
            frontier = frontier_path(models, region=spec.region, rule=spec.rule, start=spec.start, end=spec.end,
                                     frequency=spec.frequency, constants=constants, exclude=tuple(spec.exclude))
        except FrontierError as exc:
            option = exc.option if exc.option in PathSpec.model_fields else None
            fail(str(exc).removeprefix(f"{option}: ") if option else str(exc), loc + ((option,) if option else ("source",)))
        record = {"source": "epoch", "table": f"simulator/data/{DATA.name}", "table_sha256": file_sha256(DATA),
                  "attribution": ATTRIBUTION, "licence": "CC BY 4.0", "region": spec.region, "rule": spec.rule,
                  "frequency": spec.frequency, "start": None if spec.start is None else str(spec.start),
                  "end": None if spec.end is None else str(spec.end), "exclude": list(spec.exclude)}
        if spec.rule == "min_loss":
            record["constants"] = dict(zip(("a", "alpha", "b", "beta"), constants))
    record.update({"technology": tech.name, "points": len(frontier), "events": len(frontier.events),
                   "first_date": str(frontier.dates[0]), "last_date": str(frontier.dates[-1])})
    return frontier, record


def validate_section(scenario: Scenario, name: str, model):
    """Validate the raw section ``name`` ('dynamics' or 'execution') with a pydantic ``model``.

    Returns the model instance, or None when the section is absent.  Errors
    are :class:`ScenarioError` with the scenario's file, line and full key.
    """
    raw = scenario.sections.get(name)
    if raw is None:
        return None
    return _validate(model, raw, (name,), scenario.path, scenario.lines)


def scenario_error(scenario: Scenario, message: str, loc: tuple) -> ScenarioError:
    """A :class:`ScenarioError` pointing at key path ``loc`` of the scenario file."""
    return ScenarioError(message, file=scenario.path, line=_nearest_line(scenario.lines, loc), key=_dotted(loc))


def _resolve_name(name: str, technologies, fail):
    """Return ('economy', field) or (tech index, field) for a parameter name."""
    if name in ECONOMY_PARAMS:
        return ("economy", name)
    if "." in name:
        tname, field = name.split(".", 1)
        for j, t in enumerate(technologies):
            if t.name == tname:
                if field not in registry.names(t):
                    return fail(f"technology {tname!r} has no parameter {field!r}; it has {list(registry.names(t))}")
                return (j, field)
        return fail(f"no technology named {tname!r}; names are {[t.name for t in technologies]}")
    owners = [j for j, t in enumerate(technologies) if name in registry.names(t)]
    if len(owners) == 1:
        return (owners[0], name)
    if not owners:
        return fail(f"unknown parameter {name!r}; known: {list(ECONOMY_PARAMS)} and technology parameters")
    return fail(f"parameter {name!r} is ambiguous: qualify it as 'NAME.{name}' with one of {[technologies[j].name for j in owners]}")


def axis_name(scenario: Scenario, name: str) -> str | None:
    """The key of ``scenario.axes`` that parameter ``name`` refers to (``G`` may mean ``llm.G``), or None."""
    if name in scenario.axes:
        return name

    def fail(_message):
        raise ParameterError(_message)

    try:
        target = _resolve_name(name, scenario.technologies, fail)
        for key in scenario.axes:
            if _resolve_name(key, scenario.technologies, fail) == target:
                return key
    except ParameterError:
        pass
    return None


def with_values(scenario: Scenario, values: dict[str, Any]):
    """The scenario's (economy, technologies) with some parameters replaced (arrays broadcast)."""
    economy = scenario.economy
    techs = list(scenario.technologies)

    def fail(message):
        raise ParameterError(message)

    econ_changes: dict[str, Any] = {}
    tech_changes: dict[int, dict[str, Any]] = {}
    for name, value in values.items():
        where, field = _resolve_name(name, techs, fail)
        if where == "economy":
            econ_changes[field] = value
        else:
            tech_changes.setdefault(where, {})[field] = value
    if econ_changes:
        economy = economy.replace(**econ_changes)
    for j, changes in tech_changes.items():
        techs[j] = techs[j].replace(**changes)
    techs = tuple(techs)
    check_admissible(economy, techs)
    return economy, techs


def sweep_points(scenario: Scenario) -> dict[str, np.ndarray]:
    """Flat arrays of every swept parameter, one entry per grid point (C order over ``dims``)."""
    if not scenario.axes:
        return {}
    if scenario.sweep_mode in ("zip", "path"):
        return {k: np.asarray(v) for k, v in scenario.axes.items()}
    mesh = np.meshgrid(*scenario.axes.values(), indexing="ij")
    return {k: m.reshape(-1) for k, m in zip(scenario.axes, mesh)}
