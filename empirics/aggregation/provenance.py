"""Provenance records attached to every output: package version, inputs (with SHA-256), parameters."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


def package_version() -> str:
    """Installed version of the ``llm-labor`` distribution (``"unknown"`` when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llm-labor")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class Provenance:
    """Where an output came from."""

    command: str
    parameters: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)
    package: str = "llm-labor"
    version: str = field(default_factory=package_version)

    @classmethod
    def build(cls, command: str, parameters: dict, input_paths: dict[str, str | Path]) -> Provenance:
        inputs = {}
        for name, p in input_paths.items():
            p = Path(p)
            inputs[name] = {"path": str(p), "sha256": sha256(p)} if p.is_file() else {"path": str(p), "sha256": None}
        return cls(command=command, parameters=dict(parameters), inputs=inputs)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str)

    def markdown_comment(self) -> str:
        """A one-line HTML comment for the head of a markdown file."""
        return f"<!-- provenance: {json.dumps(self.to_dict(), sort_keys=True, default=str)} -->"
