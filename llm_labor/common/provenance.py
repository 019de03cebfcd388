"""The provenance record of every output: what produced it, from what, and when.

One schema for the whole project, built by :func:`record`:

``package``, ``package_version``, ``git_commit`` (``SHA`` with ``+dirty`` when the tree is
modified, ``unknown`` outside a checkout), ``created_utc``, ``python``, ``platform``, the
versions of NumPy and JAX when they are loaded (``numpy_version``, ``jax_version``), then
what the caller gives: ``command``, ``parameters``, ``inputs`` (each file with its size and
SHA-256), ``seed`` and any further keys (scenario or config text, ...).

The packages' ``provenance`` modules are thin wrappers that lay this record out as their
outputs need it (flat string attributes for NetCDF, a dict for JSON, a dataclass).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
import subprocess
import sys
from pathlib import Path

PACKAGE = "llm-labor"
#: single files at least this large are described without their SHA-256
HASH_LIMIT = 2**31


def package_version() -> str:
    """Installed version of the ``llm-labor`` distribution (the source tree's version when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(PACKAGE)
    except PackageNotFoundError:  # running from a bare checkout
        from llm_labor import __version__

        return __version__


def git_state(start: str | Path | None = None) -> tuple[str | None, bool | None]:
    """``(commit, dirty)`` of the checkout holding ``start`` (default: this package); ``(None, None)`` outside one."""
    where = Path(start or __file__).resolve()
    where = where if where.is_dir() else where.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10)
        if sha.returncode != 0:
            return None, None
        st = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where, capture_output=True,
                            text=True, timeout=10)
        return sha.stdout.strip(), (bool(st.stdout.strip()) if st.returncode == 0 else None)
    except (OSError, subprocess.SubprocessError):
        return None, None


def git_commit(start: str | Path | None = None) -> str:
    """The commit of the source tree (with '+dirty' if modified), or 'unknown' outside a checkout."""
    commit, dirty = git_state(start)
    return "unknown" if commit is None else commit + ("+dirty" if dirty else "")


def sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def describe_input(p):
    """An input as recorded: a file with its size and SHA-256 (None from :data:`HASH_LIMIT` bytes on),
    anything else with whether it exists; lists item by item."""
    if isinstance(p, (list, tuple)):
        return [describe_input(x) for x in p]
    p = Path(p)
    if p.is_file():
        size = p.stat().st_size
        return {"path": str(p), "bytes": size, "sha256": sha256(p) if size < HASH_LIMIT else None}
    return {"path": str(p), "exists": p.exists()}


def record(command: str | None = None, *, parameters: dict | None = None, inputs: dict | None = None,
           seed=None, **extra) -> dict:
    """The provenance record (see the module's docstring); keys the caller leaves out are left out."""
    rec = {
        "package": PACKAGE,
        "package_version": package_version(),
        "git_commit": git_commit(),
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    for module in ("numpy", "jax"):  # only what the process already loaded: recording imports nothing
        if module in sys.modules:
            rec[f"{module}_version"] = getattr(sys.modules[module], "__version__", "unknown")
    if command is not None:
        rec["command"] = command
    if parameters is not None:
        rec["parameters"] = dict(parameters)
    if inputs is not None:
        rec["inputs"] = {name: describe_input(p) for name, p in inputs.items()}
    if seed is not None:
        rec["seed"] = seed
    rec.update(extra)
    return rec


def flat(rec: dict) -> dict[str, str]:
    """``rec`` with every value a string (others as JSON), fit for NetCDF attributes."""
    return {k: v if isinstance(v, str) else json.dumps(v, default=str) for k, v in rec.items()}
