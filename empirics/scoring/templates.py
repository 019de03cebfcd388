"""Versioned rubric templates.

A template is a YAML file (bundled ones live in ``empirics/scoring/templates``,
named ``NAME.LANG.vN.yaml``) with the fields:

``name, version, language, kind, labels, answer_keys, missing, system,
user_occupation, user_task``.

``kind`` is ``exposure`` (labels E0-E3), ``category`` (a fixed label set) or
``share`` (a number in [0, 1], the expert rubric).  The user prompts are
:class:`string.Template` strings with ``$title``, ``$definition``, ``$tasks``
and, for task granularity, ``$task``.  The template's hash is the SHA-256 of
its file bytes (line endings normalised), stored with every answer.
"""
from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import TemplateError
from .occupations import Unit

KINDS = ("exposure", "category", "share")
_REQUIRED = ("name", "version", "language", "kind", "answer_keys", "system", "user_occupation", "user_task")


@dataclass(frozen=True)
class RubricTemplate:
    name: str
    version: int
    language: str
    kind: str
    labels: tuple[str, ...]
    label_key: str
    rationale_key: str
    missing: str
    system: str
    user_occupation: str
    user_task: str
    sha256: str
    path: str

    @property
    def short_hash(self) -> str:
        return self.sha256[:12]

    @property
    def ident(self) -> str:
        return f"{self.name}.{self.language}.v{self.version}"

    def render(self, unit: Unit) -> list[dict[str, str]]:
        """Chat messages for one unit."""
        occ = unit.occupation
        tasks = "\n".join(f"{t.index}. {t.text}" for t in occ.tasks) or self.missing
        fields = {
            "title": occ.title,
            "definition": occ.definition or self.missing,
            "tasks": tasks,
            "task": unit.task.text if unit.task is not None else "",
        }
        body = self.user_task if unit.task is not None else self.user_occupation
        try:
            user = string.Template(body).substitute(fields)
        except (KeyError, ValueError) as exc:
            raise TemplateError(f"{self.path}: cannot render user prompt: {exc!r}") from exc
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]


def bundled_templates() -> list[str]:
    """Identifiers (``NAME.LANG.vN``) of the bundled templates."""
    base = resources.files("empirics.scoring") / "templates"
    return sorted(p.name[: -len(".yaml")] for p in base.iterdir() if p.name.endswith(".yaml"))


def load_template(ref: str | Path, base_dir: Path | None = None) -> RubricTemplate:
    """Load a template by bundled identifier (``exposure.zh.v1``) or by file path.

    A relative path is resolved against ``base_dir`` (the config file's folder).
    """
    import yaml

    ref_s = str(ref)
    if ref_s in bundled_templates():
        path = Path(str(resources.files("empirics.scoring") / "templates" / f"{ref_s}.yaml"))
    else:
        path = Path(ref_s)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.is_file():
            raise TemplateError(
                f"template {ref_s!r}: neither a bundled template ({', '.join(bundled_templates())}) nor a file"
            )
    raw = path.read_bytes().replace(b"\r\n", b"\n")
    digest = hashlib.sha256(raw).hexdigest()
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TemplateError(f"{path}: not valid UTF-8 YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise TemplateError(f"{path}: top level must be a mapping")
    for key in _REQUIRED:
        if key not in data:
            raise TemplateError(f"{path}: key {key!r} is required")
    kind = data["kind"]
    if kind not in KINDS:
        raise TemplateError(f"{path}: key 'kind' must be one of {KINDS}, not {kind!r}")
    labels = tuple(str(x) for x in (data.get("labels") or ()))
    if kind == "exposure" and labels != ("E0", "E1", "E2", "E3"):
        raise TemplateError(f"{path}: key 'labels' must be [E0, E1, E2, E3] for kind 'exposure'")
    if kind == "category" and len(labels) < 2:
        raise TemplateError(f"{path}: key 'labels' must list at least two categories for kind 'category'")
    keys = data["answer_keys"]
    if not isinstance(keys, dict) or set(keys) != {"label", "rationale"}:
        raise TemplateError(f"{path}: key 'answer_keys' must map exactly 'label' and 'rationale' to JSON keys")
    try:
        version = int(data["version"])
    except (TypeError, ValueError):
        raise TemplateError(f"{path}: key 'version' must be an integer") from None
    for key in ("system", "user_occupation", "user_task"):
        if not isinstance(data[key], str) or not data[key].strip():
            raise TemplateError(f"{path}: key {key!r} must be a non-empty string")
    return RubricTemplate(
        name=str(data["name"]),
        version=version,
        language=str(data["language"]),
        kind=kind,
        labels=labels,
        label_key=str(keys["label"]),
        rationale_key=str(keys["rationale"]),
        missing=str(data.get("missing", "(not provided)")),
        system=data["system"].strip(),
        user_occupation=data["user_occupation"].rstrip("\n"),
        user_task=data["user_task"].rstrip("\n"),
        sha256=digest,
        path=str(path),
    )
