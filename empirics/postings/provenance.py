"""Provenance attached to every output of this subpackage: package version, git commit, parameters, inputs."""
from __future__ import annotations

from pathlib import Path


def git_commit() -> dict:
    """``{"commit": sha or None, "dirty": bool or None}`` of the checkout holding this package."""
    import subprocess

    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if sha.returncode != 0:
            return {"commit": None, "dirty": None}
        st = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True, timeout=10)
        return {"commit": sha.stdout.strip(), "dirty": bool(st.stdout.strip()) if st.returncode == 0 else None}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def provenance(command: str, parameters: dict, inputs: dict[str, str | Path | list]) -> dict:
    """A JSON-ready provenance record. File inputs get their SHA-256 when they are single files
    under 2 GB; folders and file lists get their file names and sizes."""
    import platform
    from datetime import datetime, timezone

    from empirics.aggregation.provenance import package_version, sha256

    def describe(p):
        if isinstance(p, (list, tuple)):
            return [describe(x) for x in p]
        p = Path(p)
        if p.is_file():
            size = p.stat().st_size
            return {"path": str(p), "bytes": size, "sha256": sha256(p) if size < 2**31 else None}
        return {"path": str(p), "exists": p.exists()}

    return {
        "command": command,
        "package": "llm-labor",
        "version": package_version(),
        "git": git_commit(),
        "python": platform.python_version(),
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "parameters": parameters,
        "inputs": {k: describe(v) for k, v in inputs.items()},
    }
