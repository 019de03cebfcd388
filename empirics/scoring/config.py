"""Run and endpoint configuration, read from YAML.

Errors name the file, the key and the violated condition, e.g.::

    runs/gpt4.yaml: endpoints.0.max_concurrency: Input should be greater than or equal to 1

Secrets are named, never written: ``api_key_env`` and ``{env: NAME}`` values of
``headers`` and ``query`` hold the *names* of environment variables, read when
the endpoint is used (:func:`missing_env_vars` checks them all up front).
"""
from __future__ import annotations

import codecs
import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError

_NAME = r"^[A-Za-z0-9_.-]+$"
_ENV = r"^[A-Za-z_][A-Za-z0-9_]*$"
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
#: Headers the runner sets itself.
_RESERVED_HEADERS = {"content-type", "content-length", "host", "x-client-request-id", "transfer-encoding"}


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FromEnv(_Frozen):
    """A header or query value read from an environment variable at run time: ``{env: NAME}``.

    ``prefix`` is put before the variable's value (e.g. ``"Token "``).
    """

    env: str = Field(pattern=_ENV)
    prefix: str = ""


Value = str | FromEnv


class EndpointConfig(_Frozen):
    """One OpenAI-compatible chat-completions endpoint.

    ``headers`` are sent with every request and ``query`` parameters are appended
    to the request URL (Azure OpenAI: ``headers: {api-key: {env: AZURE_OPENAI_API_KEY}}``,
    ``query: {api-version: "2024-10-21"}``).  A query string written into
    ``base_url`` is moved into ``query``, so it always ends the final URL.
    """

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
    headers: dict[str, Value] = Field(default_factory=dict)
    query: dict[str, Value] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _split_query(cls, data: Any) -> Any:
        """Move a query string written into ``base_url`` (``...?api-version=X``) into ``query``."""
        if isinstance(data, dict) and isinstance(data.get("base_url"), str) and "?" in data["base_url"]:
            parts = urlsplit(data["base_url"])
            pairs = parse_qsl(parts.query, keep_blank_values=True)
            query = data.get("query") or {}
            if not isinstance(query, dict):
                return data  # reported by field validation
            clash = sorted({k for k, _ in pairs} & set(query))
            if clash:
                raise ValueError(f"query parameter {clash[0]!r} given both in base_url and in query")
            data = {**data, "base_url": urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
                    "query": {**dict(pairs), **query}}
        return data

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        if "#" in v:
            raise ValueError("must not contain a fragment ('#')")
        return v.rstrip("/")

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, Value]) -> dict[str, Value]:
        for name, value in v.items():
            if not _HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid header name")
            if name.lower() in _RESERVED_HEADERS:
                raise ValueError(f"{name!r} is set by the runner and cannot be configured")
            text = value if isinstance(value, str) else value.prefix
            if "\r" in text or "\n" in text:
                raise ValueError(f"value of {name!r} must not contain line breaks")
        return v

    @model_validator(mode="after")
    def _auth_once(self) -> "EndpointConfig":
        if self.api_key_env is not None and any(k.lower() == "authorization" for k in self.headers):
            raise ValueError("give either api_key_env or an Authorization header, not both")
        return self

    def env_vars(self) -> list[tuple[str, str]]:
        """``(key path, variable name)`` of every environment variable this endpoint reads."""
        out = []
        if self.api_key_env is not None:
            out.append(("api_key_env", self.api_key_env))
        for kind, values in (("headers", self.headers), ("query", self.query)):
            for name, value in values.items():
                if isinstance(value, FromEnv):
                    out.append((f"{kind}.{name}.env", value.env))
        return out

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
    encoding: str = "utf-8"

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, v: str) -> str:
        try:
            codecs.lookup(v)
        except LookupError:
            raise ValueError(f"unknown encoding {v!r} (e.g. utf-8, gbk, gb18030, latin-1)") from None
        return v

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
    endpoints_file: str | None = None

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

    from llm_labor.common.yamlmap import strict_load

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes().count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{path}: line {line}: not valid UTF-8 (byte 0x{exc.object[exc.start]:02x})") from None
    try:
        return strict_load(text)  # a repeated key is a YAMLError too (both lines in its problem)
    except yaml.YAMLError as exc:
        # one line: "FILE: line L, column C: not valid YAML: PROBLEM"
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: {where}not valid YAML: {' '.join(str(problem).split())}") from None


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


def missing_env_vars(cfg: "RunConfig") -> list[str]:
    """Located errors, one per environment variable that an endpoint names but that is unset or empty.

    Each names the file that lists the endpoints (the endpoints file, or the run config),
    the key, the endpoint and the variable; values are never read into the message.
    """
    where = cfg.endpoints_file or "(endpoints)"
    out = []
    for i, ep in enumerate(cfg.endpoints):
        for loc, var in ep.env_vars():
            if not os.environ.get(var):
                out.append(f"{where}: endpoints.{i}.{loc}: environment variable {var} is not set or empty"
                           f" (endpoint {ep.name!r})")
    return out


def load_config(path: str | Path) -> RunConfig:
    """Read a run config; ``endpoints`` may be an inline list or the path of an endpoints file."""
    path = Path(path)
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: (top level): must be a mapping")
    data = dict(data)
    base = path.resolve().parent
    for key in ("base_dir", "endpoints_file"):
        if key in data:
            raise ConfigError(f"{path}: {key}: set from the file's location, not configurable")
    data["base_dir"] = str(base)
    eps = data.get("endpoints")
    if isinstance(eps, str):
        ep_path = Path(eps) if Path(eps).is_absolute() else base / eps
        data["endpoints"] = [e.model_dump() for e in load_endpoints(ep_path)]
        data["endpoints_file"] = str(ep_path)
    else:
        data["endpoints_file"] = str(path)
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format(path, exc)) from None
