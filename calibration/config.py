"""Calibration configs (YAML): validated strictly, errors name the file, line, key and condition.

Schema (``docs/calibration.md``)::

    name: us_oews
    description: ...
    data_label: "US real data: ..."          # stated in the report and the JSON
    scenario: ../../scenarios/llm_scaling.yaml # relative to this file
    technologies: [llm]                       # optional: the scenario's technologies the moments use, by name
                                              # (one name or a list; default all of them): windowed LLMs
                                              # (kind: llm) and traditional AI
    moments_file: ../data/moments_us.json     # relative to this file (optional if no moment needs it)
    parameters:                               # free parameters; the rest come from the scenario
      eta: {start: 1.0, lower: 0.05, upper: 2.5, log_scale: false}
    moments:
      - {kind: wage_exposure_slope, weighted: true}
      - {kind: exposed_share, cutoff: 0.3, weighted: true}
      - {kind: skill_premium, value: 0.45, se: 0.05}
      - {kind: employment_growth_slope, weighted: true}
      - {kind: custom, function: "pkg.mod:fn", value: 0.1, se: 0.02, label: my moment}
    untargeted:                               # reported at the estimate beside the data, not fitted
      - {kind: skill_premium, value: 0.49, se: 0.07}
    sensitivity:                              # fixed parameter -> values; the free ones are re-estimated at each
      A_H: [1.0, 2.0]
      llm.G: [1.0e+9, 1.0e+11]
    compare_with: us_oews.yaml                # another config; its estimate goes beside this one in the report
    weighting: diagonal                       # diagonal | identity | optimal
    bootstrap: {draws: 1000, seed: 0, ci_level: 0.90}
    profile: {points: 81, flat_threshold: 2.706}
    output: {directory: outputs/calibration/us_oews}
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError

from simulator.yamlmap import dotted as _dotted
from simulator.yamlmap import load_mapping
from simulator.yamlmap import line_of as _line

from .errors import CalibrationError
from .moments import KINDS, NO_COUNTERPART, Moment, build_moment

Number = Union[StrictInt, StrictFloat]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParameterSpec(_Strict):
    start: Number
    lower: Number
    upper: Number
    log_scale: StrictBool = False


class MomentSpec(_Strict):
    kind: StrictStr
    weighted: StrictBool = True
    cutoff: Number | None = None
    value: Number | None = None
    se: Number | None = None
    function: StrictStr | None = None
    label: StrictStr | None = None


class BootstrapSpec(_Strict):
    draws: StrictInt = Field(default=1000, ge=0)
    seed: StrictInt = 0
    ci_level: Number = Field(default=0.90, gt=0, lt=1)


class ProfileSpec(_Strict):
    points: StrictInt = Field(default=81, ge=5)
    flat_threshold: Number = Field(default=2.706, gt=0)


class OutputSpec(_Strict):
    directory: StrictStr | None = None
    plots: StrictBool = True


class CalibrationSpec(_Strict):
    name: StrictStr
    description: StrictStr = ""
    data_label: StrictStr
    scenario: StrictStr
    technologies: StrictStr | list[StrictStr] | None = None
    moments_file: StrictStr | None = None
    parameters: dict[StrictStr, ParameterSpec] = Field(default_factory=lambda: {})
    moments: list[MomentSpec] = Field(min_length=1)
    #: moments reported at the estimate beside their data value, not fitted
    untargeted: list[MomentSpec] = Field(default_factory=lambda: [])
    #: fixed parameter -> values at which the free parameters are re-estimated
    sensitivity: dict[StrictStr, list[Number]] = Field(default_factory=lambda: {})
    #: another calibration config (relative to this file) whose estimate the report puts beside this one
    compare_with: StrictStr | None = None
    weighting: Literal["diagonal", "identity", "optimal"] = "diagonal"
    bootstrap: BootstrapSpec = BootstrapSpec()
    profile: ProfileSpec = ProfileSpec()
    output: OutputSpec = OutputSpec()


@dataclasses.dataclass(frozen=True)
class CalibrationConfig:
    name: str
    description: str
    data_label: str
    scenario_path: Path
    moments_path: Path | None
    names: tuple[str, ...]
    start: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    log_scale: tuple[bool, ...]
    moments: tuple[Moment, ...]
    untargeted: tuple[Moment, ...]
    sensitivity: tuple[tuple[str, tuple[float, ...]], ...]
    compare_path: Path | None
    weighting: str
    draws: int
    seed: int
    ci_level: float
    profile_points: int
    flat_threshold: float
    output_dir: Path | None
    plots: bool
    text: str
    path: str | None
    scenario: Any  # simulator.scenario.Scenario
    #: the technologies of the moment map (the scenario's, or those the config names)
    technologies: tuple = ()


def load_config(path: str | Path) -> CalibrationConfig:
    from simulator.yamlmap import read_text

    path = Path(path)
    return parse_config(read_text(path, CalibrationError, "calibration config"), source=str(path), base=path.parent)


def parse_config(text: str, *, source: str | None = None, base: Path | None = None) -> CalibrationConfig:
    """Validate config text; relative paths are resolved against ``base`` (the config's folder)."""
    from simulator.errors import LLMLaborError
    from simulator.params import Economy, ScalingLLM, TraditionalAI
    from simulator.scenario import load_scenario

    from .estimate import ECONOMY_FIELDS, parameter_names

    base = Path(base) if base is not None else Path.cwd()
    raw, lines = load_mapping(text, source, CalibrationError, "a calibration config")
    try:
        spec = CalibrationSpec.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        raise CalibrationError(f"{msg} (input: {err.get('input')!r})" if err["type"] not in ("missing",) else msg,
                               file=source, line=_line(lines, loc), key=_dotted(loc)) from None

    def fail(msg, *loc):
        raise CalibrationError(msg, file=source, line=_line(lines, loc), key=_dotted(loc))

    scenario_path = (base / spec.scenario).resolve() if not Path(spec.scenario).is_absolute() else Path(spec.scenario)
    if not scenario_path.is_file():
        fail(f"scenario file not found: {scenario_path}", "scenario")
    try:
        scenario = load_scenario(scenario_path)
    except LLMLaborError as exc:
        fail(f"scenario is invalid: {exc}", "scenario")
    by_name = {t.name: t for t in scenario.technologies}
    if spec.technologies is None:
        chosen, where = list(scenario.technologies), lambda k: ("scenario",)
    else:
        listed = [spec.technologies] if isinstance(spec.technologies, str) else list(spec.technologies)
        where = (lambda k: ("technologies",)) if isinstance(spec.technologies, str) else (lambda k: ("technologies", k))
        if not listed:
            fail("needs at least one technology name", "technologies")
        chosen = []
        for k, name in enumerate(listed):
            if name not in by_name:
                fail(f"unknown technology '{name}'; {scenario_path.name} has: {', '.join(by_name) or 'none'}", *where(k))
            if name in listed[:k]:
                fail(f"technology '{name}' is listed twice", *where(k))
            chosen.append(by_name[name])
    if not chosen:
        fail(f"the moment map needs at least one technology; {scenario_path.name} has none", "scenario")
    for k, t in enumerate(chosen):
        if not (isinstance(t, TraditionalAI) or (isinstance(t, ScalingLLM) and t.uses_window)):
            fail(f"technology '{t.name}': the moment map takes windowed LLMs (kind: llm) and traditional AI (kind: traditional) only",
                 *where(k))
    technologies = tuple(chosen)
    moments_path = None
    if spec.moments_file is not None:
        moments_path = (base / spec.moments_file).resolve() if not Path(spec.moments_file).is_absolute() else Path(spec.moments_file)
        if not moments_path.is_file():
            fail(f"moments file not found: {moments_path}", "moments_file")

    # free parameters: default η alone
    params = dict(spec.parameters) or {"eta": ParameterSpec(start=float(scenario.economy.eta), lower=0.05, upper=5.0)}
    known = parameter_names(technologies)

    def admissible(name, v, on_error):
        try:
            if name in ECONOMY_FIELDS:
                Economy(**{**{f: getattr(scenario.economy, f) for f in ECONOMY_FIELDS}, name: v})
            else:
                head, _, field = name.partition(".")
                dataclasses.replace(by_name[head], **{field: v})
        except LLMLaborError as exc:
            on_error(str(exc))

    names, start, lower, upper, logs = [], [], [], [], []
    for name, p in params.items():
        if name not in known:
            fail(f"unknown parameter '{name}'; free parameters are one of: {', '.join(known)}", "parameters", name)
        lo, hi, st = float(p.lower), float(p.upper), float(p.start)
        if not lo < hi:
            fail(f"inadmissible bounds: lower < upper is violated ({lo:g} >= {hi:g})", "parameters", name, "lower")
        if not lo <= st <= hi:
            fail(f"start {st:g} is outside [lower, upper] = [{lo:g}, {hi:g}]", "parameters", name, "start")
        if p.log_scale and lo <= 0:
            fail("log_scale needs lower > 0", "parameters", name, "lower")
        for which, v in (("lower", lo), ("upper", hi)):
            admissible(name, v, lambda msg: fail(f"inadmissible bound {which} = {v:g}: {msg}", "parameters", name, which))
        names.append(name)
        start.append(st)
        lower.append(lo)
        upper.append(hi)
        logs.append(bool(p.log_scale))

    def build(section, specs):
        built = []
        for k, m in enumerate(specs):
            if m.kind in NO_COUNTERPART:
                fail(f"moment '{m.kind}' has no model counterpart: {NO_COUNTERPART[m.kind]}", section, k, "kind")
            if m.kind not in KINDS:
                fail(f"unknown moment kind '{m.kind}'; known kinds: {', '.join(KINDS)}", section, k, "kind")
            if m.kind == "exposed_share" and (m.cutoff is None or not 0 <= m.cutoff < 1):
                fail(f"exposed_share needs cutoff with 0 <= cutoff < 1, got {m.cutoff!r}", section, k, "cutoff")
            if m.kind in ("skill_premium", "custom"):
                if m.value is None:
                    fail(f"moment '{m.kind}' needs 'value' (its data counterpart)", section, k)
                if m.se is None or not m.se > 0:
                    fail(f"moment '{m.kind}' needs 'se' > 0", section, k)
            elif m.value is not None or m.se is not None:
                fail(f"moment '{m.kind}' takes its value from the moments file; remove 'value'/'se'", section, k)
            if m.kind in ("wage_exposure_slope", "exposed_share", "employment_growth_slope") and moments_path is None:
                fail(f"moment '{m.kind}' needs a moments file: add key 'moments_file'", section, k, "kind")
            try:
                built.append(build_moment(m.kind, weighted=m.weighted, cutoff=None if m.cutoff is None else float(m.cutoff),
                                          function=m.function, value=None if m.value is None else float(m.value),
                                          se=None if m.se is None else float(m.se), label=m.label))
            except ValueError as exc:
                fail(str(exc), section, k)
        return built

    moments = build("moments", spec.moments)
    untargeted = build("untargeted", spec.untargeted)
    sensitivity = []
    for name, values in spec.sensitivity.items():
        if name not in known:
            fail(f"unknown parameter '{name}'; sensitivity takes one of: {', '.join(known)}", "sensitivity", name)
        if name in names:
            fail(f"'{name}' is a free parameter; sensitivity moves fixed parameters only", "sensitivity", name)
        if not values:
            fail("needs at least one value", "sensitivity", name)
        for k, v in enumerate(values):
            admissible(name, float(v), lambda msg: fail(f"inadmissible value {float(v):g}: {msg}", "sensitivity", name, k))
        sensitivity.append((name, tuple(float(v) for v in values)))
    compare_path = None
    if spec.compare_with is not None:
        compare_path = (base / spec.compare_with).resolve() if not Path(spec.compare_with).is_absolute() else Path(spec.compare_with)
        if not compare_path.is_file():
            fail(f"calibration config to compare with not found: {compare_path}", "compare_with")
    if spec.weighting == "optimal" and len(moments) < 2:
        pass
    out_dir = None
    if spec.output.directory is not None:
        out_dir = Path(spec.output.directory)
    return CalibrationConfig(
        name=spec.name, description=spec.description, data_label=spec.data_label, scenario_path=scenario_path, moments_path=moments_path,
        names=tuple(names), start=tuple(start), lower=tuple(lower), upper=tuple(upper), log_scale=tuple(logs), moments=tuple(moments),
        untargeted=tuple(untargeted), sensitivity=tuple(sensitivity), compare_path=compare_path,
        weighting=spec.weighting, draws=spec.bootstrap.draws, seed=spec.bootstrap.seed, ci_level=float(spec.bootstrap.ci_level),
        profile_points=spec.profile.points, flat_threshold=float(spec.profile.flat_threshold), output_dir=out_dir, plots=spec.output.plots,
        text=text, path=source, scenario=scenario, technologies=technologies,
    )
