"""Run and endpoint configuration, read from YAML.

Errors name the file, the key and the violated condition, e.g.::

    runs/gpt4.yaml: endpoints.0.max_concurrency: Input should be greater than or equal to 1
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError

_NAME = r"^[A-Za-z0-9_.-]+$"
_ENV = r"^[A-Za-z_][A-Za-z0-9_]*$"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EndpointConfig(_Frozen):
    """One OpenAI-compatible chat-completions endpoint."""

    name: str = Field(pattern=_NAME)
    base_url: str
    model: str = Field(min_length=1)
    temperature: float = Field(1.0, ge=0.0, le=2.0)
    max_concurrency: int = Field(4, ge=1, le=1024)
    api_key_env: str | None = Field(None, pattern=_ENV)
    timeout_s: float = Field(60.0, gt=0.0, le=3600.0)
    max_retries: int = Field(6, ge=0, le=100)
    backoff_base_s: float = Field(1.0, ge=0.0, le=600.0)
    backoff_max_s: float = Field(60.0, ge=0.0, le=3600.0)
    max_tokens: int | None = Field(256, ge=1)
    send_seed: bool = False
    json_mode: bool = False
    use_env_proxy: bool = False
    extra_body: dict[str, Any] = Field(default_factory=dict)

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")

    @field_validator("extra_body")
    @classmethod
    def _extra(cls, v: dict[str, Any]) -> dict[str, Any]:
        reserved = {"model", "messages", "temperature", "max_tokens", "seed", "response_format"}
        clash = reserved & set(v)
        if clash:
            raise ValueError(f"must not set {sorted(clash)}; use the endpoint's own keys")
        return v


class OccupationSource(_Frozen):
    source: Literal["ocd2022", "csv"] = "ocd2022"
    path: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    core_values: list[str] = Field(default_factory=lambda: ["core"])
    core_weight: float = Field(2.0, gt=0.0)
    other_weight: float = Field(1.0, gt=0.0)
    exclude_large_groups: list[str] = Field(default_factory=list)
    codes: list[str] | None = None
    limit: int | None = Field(None, ge=1)

    @field_validator("exclude_large_groups", mode="before")
    @classmethod
    def _groups(cls, v: Any) -> Any:
        return [str(x) for x in v] if isinstance(v, list) else v

    @model_validator(mode="after")
    def _csv_needs(self) -> "OccupationSource":
        if self.source == "csv":
            if not self.path:
                raise ValueError("source 'csv' needs 'path'")
            if not {"code", "title"} <= set(self.columns):
                raise ValueError("source 'csv' needs 'columns' with at least 'code' and 'title'")
        return self


class CompositeConfig(_Frozen):
    template: str = "composite.zh.v1"
    repeats: int = Field(8, ge=1, le=1000)


class RunConfig(_Frozen):
    endpoints: list[EndpointConfig] = Field(min_length=1)
    occupations: OccupationSource = Field(default_factory=OccupationSource)
    template: str = "exposure.zh.v1"
    granularity: Literal["occupation", "task"] = "occupation"
    repeats: int = Field(8, ge=1, le=1000)
    max_invalid_answers: int = Field(3, ge=1, le=100)
    cache: str = "scoring-cache.sqlite"
    output_dir: str = "scores"
    weights: dict[str, float] = Field(default_factory=lambda: {"E0": 0.0, "E1": 1.0, "E2": 0.5, "E3": 0.5})
    composite: CompositeConfig | None = None
    seed: int = 0
    base_dir: str = "."

    @field_validator("endpoints")
    @classmethod
    def _unique(cls, v: list[EndpointConfig]) -> list[EndpointConfig]:
        names = [e.name for e in v]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"endpoint names must be unique; repeated: {dup}")
        return v

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        if set(v) != {"E0", "E1", "E2", "E3"}:
            raise ValueError("must give exactly E0, E1, E2 and E3")
        return v

    def path(self, p: str) -> Path:
        q = Path(p).expanduser()
        return q if q.is_absolute() else Path(self.base_dir) / q


def _format(file: Path, exc: ValidationError, prefix: str = "") -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in ((prefix,) if prefix else ()) + tuple(err["loc"])) or "(top level)"
        lines.append(f"{file}: {loc}: {err['msg']}")
    return "\n".join(lines)


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None


def load_endpoints(path: str | Path) -> list[EndpointConfig]:
    """Read an endpoints file: a mapping with an ``endpoints`` list."""
    path = Path(path)
    data = _read_yaml(path)
    if not isinstance(data, dict) or "endpoints" not in data:
        raise ConfigError(f"{path}: endpoints: required key missing (a list of endpoints)")
    if set(data) != {"endpoints"}:
        raise ConfigError(f"{path}: {sorted(set(data) - {'endpoints'})[0]}: unknown key")
    if not isinstance(data["endpoints"], list):
        raise ConfigError(f"{path}: endpoints: must be a list")
    out = []
    for i, item in enumerate(data["endpoints"]):
        try:
            out.append(EndpointConfig.model_validate(item))
        except ValidationError as exc:
            raise ConfigError(_format(path, exc, f"endpoints.{i}")) from None
    return out


def load_config(path: str | Path) -> RunConfig:
    """Read a run config; ``endpoints`` may be an inline list or the path of an endpoints file."""
    path = Path(path)
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: (top level): must be a mapping")
    data = dict(data)
    base = path.resolve().parent
    if "base_dir" in data:
        raise ConfigError(f"{path}: base_dir: set from the file's location, not configurable")
    data["base_dir"] = str(base)
    eps = data.get("endpoints")
    if isinstance(eps, str):
        ep_path = Path(eps) if Path(eps).is_absolute() else base / eps
        data["endpoints"] = [e.model_dump() for e in load_endpoints(ep_path)]
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format(path, exc)) from None
