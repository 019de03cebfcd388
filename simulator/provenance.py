"""Provenance attached to every output file: the record of :mod:`llm_labor.common.provenance`, as flat strings."""
from __future__ import annotations

from llm_labor.common.provenance import flat, git_commit, record

__all__ = ["git_commit", "provenance"]

#: the seed recorded when the caller gives none
NO_SEED = "none (the solvers are deterministic)"


def provenance(**extra) -> dict[str, str]:
    """A flat dict of strings, fit for NetCDF attributes and JSON."""
    import jax  # noqa: F401  (loaded, so that its version is recorded)
    import numpy  # noqa: F401

    extra.setdefault("seed", NO_SEED)
    return flat(record(**extra))
