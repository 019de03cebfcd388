"""Provenance attached to every output of this subpackage: the record of :mod:`llm_labor.common.provenance`
(package version, git commit, parameters, inputs)."""
from __future__ import annotations

from pathlib import Path

from llm_labor.common.provenance import git_state, record

__all__ = ["git_commit", "provenance"]


def git_commit() -> dict:
    """``{"commit": sha or None, "dirty": bool or None}`` of the checkout holding this package."""
    commit, dirty = git_state(Path(__file__).resolve().parents[2])
    return {"commit": commit, "dirty": dirty}


def provenance(command: str, parameters: dict, inputs: dict[str, str | Path | list]) -> dict:
    """A JSON-ready provenance record. File inputs get their SHA-256 when they are single files
    under 2 GB; other paths record whether they exist; lists are described item by item."""
    return record(command, parameters=parameters, inputs=inputs)
