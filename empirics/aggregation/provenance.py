"""Provenance records attached to every output: the record of :mod:`llm_labor.common.provenance`
(package version, git commit, inputs with SHA-256, parameters) as a dataclass."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from llm_labor.common.provenance import package_version, record, sha256  # noqa: F401  (sha256: re-exported)


@dataclass(frozen=True)
class Provenance:
    """Where an output came from; :meth:`to_dict` is the full record."""

    command: str
    parameters: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)
    package: str = "llm-labor"
    version: str = field(default_factory=package_version)
    record: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(cls, command: str, parameters: dict, input_paths: dict[str, str | Path]) -> Provenance:
        rec = record(command, parameters=parameters, inputs=input_paths)
        return cls(command=command, parameters=rec["parameters"], inputs=rec["inputs"], package=rec["package"],
                   version=rec["package_version"], record=rec)

    def to_dict(self) -> dict:
        if self.record:
            return dict(self.record)
        return {"package": self.package, "package_version": self.version, "command": self.command,
                "parameters": dict(self.parameters), "inputs": dict(self.inputs)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str)

    def markdown_comment(self) -> str:
        """A one-line HTML comment for the head of a markdown file."""
        return f"<!-- provenance: {json.dumps(self.to_dict(), sort_keys=True, default=str)} -->"
