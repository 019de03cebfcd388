"""Provenance attached to every output file: what produced it, from what, and when."""
from __future__ import annotations

import datetime as _dt
import json
import platform
import subprocess
from pathlib import Path


def git_commit(start: Path | None = None) -> str:
    """The commit of the source tree (with '+dirty' if modified), or 'unknown' outside a checkout."""
    where = Path(start or __file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where, capture_output=True, text=True, timeout=10).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(**extra) -> dict[str, str]:
    """A flat dict of strings, fit for NetCDF attributes and JSON."""
    import jax
    import numpy

    from . import __version__

    record = {
        "package": "llm-labor",
        "package_version": __version__,
        "git_commit": git_commit(),
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "jax_version": jax.__version__,
        "numpy_version": numpy.__version__,
        "platform": platform.platform(),
        "seed": "none (the solvers are deterministic)",
    }
    for key, value in extra.items():
        record[key] = value if isinstance(value, str) else json.dumps(value, default=str)
    return record
