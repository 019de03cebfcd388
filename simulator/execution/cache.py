"""JAX's persistent compilation cache, in a per-user folder.

A new process compiles the engine's programs again (seconds on each route).  With the cache
on, a program compiled once is read back from disk in later processes.  The cache never
changes a result: an entry is the compiled program itself, keyed by the program, the compiler
options, the JAX and jaxlib versions and the machine.

* Where: :func:`cache_dir` (``$LLM_LABOR_CACHE_DIR``, else ``$XDG_CACHE_HOME/llm-labor/jax``,
  else ``~/.cache/llm-labor/jax``).  To clear the cache, run ``llm-labor cache --clear``
  (:func:`clear_cache`) or delete that folder; to move it, set ``LLM_LABOR_CACHE_DIR``.
* Entries written by another JAX version have other keys and are never read.  An entry that
  cannot be read (a corrupt file) is skipped with a warning and the program is compiled again.
  A folder that cannot be created or written leaves the cache off, with a warning.
* Programs the engine knows by name are also stored whole, so that a new process skips their
  tracing as well: :mod:`.aot`, in the ``aot`` subfolder.  Those not used for
  :data:`.aot.MAX_AGE_DAYS` days are deleted when the cache is turned on.
"""
from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

#: Programs that compile faster than this are not written to the cache.  Zero: every program,
#: since the small ones (joins, scatters, single-point solves) are compiled in every new process too.
MIN_COMPILE_SECONDS = 0.0

_active: Path | None = None


def active_folder() -> Path | None:
    """The folder :func:`enable_compilation_cache` turned on in this process, or None."""
    return _active


def cache_dir() -> Path:
    """The cache folder: ``$LLM_LABOR_CACHE_DIR``, else ``$XDG_CACHE_HOME/llm-labor/jax``, else
    ``~/.cache/llm-labor/jax``."""
    if os.environ.get("LLM_LABOR_CACHE_DIR"):
        return Path(os.environ["LLM_LABOR_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "llm-labor" / "jax"


def enable_compilation_cache(path: str | os.PathLike | None = None) -> Path | None:
    """Turn on JAX's persistent compilation cache in ``path`` (default :func:`cache_dir`).

    Returns the folder in use, or None (with a warning) where it cannot be created or written.
    The setting is process-wide and applies to every JAX program compiled afterwards.
    """
    global _active
    folder = Path(path).expanduser() if path is not None else cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as error:
        warnings.warn(f"compilation cache off: cannot write to {folder} ({error.strerror or error})", RuntimeWarning,
                      stacklevel=2)
        return None
    import jax
    from jax.experimental.compilation_cache import compilation_cache

    jax.config.update("jax_enable_compilation_cache", True)
    jax.config.update("jax_raise_persistent_cache_errors", False)  # an unreadable entry: a warning, then a compile
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    jax.config.update("jax_compilation_cache_dir", str(folder))
    compilation_cache.reset_cache()  # a cache opened earlier in this process would keep its old folder
    _active = folder
    from . import aot

    aot.prune(folder)
    return folder


def disable_compilation_cache() -> None:
    """Turn the caches off again for the rest of this process (programs already loaded stay)."""
    import jax
    from jax.experimental.compilation_cache import compilation_cache

    global _active
    jax.config.update("jax_enable_compilation_cache", False)
    compilation_cache.reset_cache()
    _active = None


#: The files :mod:`.aot` writes in ``aot``: whole programs, result shapes, and writes in progress.
AOT_ENTRIES = ("*.bin", "*.shapes", ".tmp-*")
#: The files the two caches write (JAX's entries and their access times; :data:`AOT_ENTRIES`):
#: :func:`clear_cache` deletes these and nothing else, whatever the folder holds.
ENTRY_PATTERNS = ("*-cache", "*-atime", ".write-test-*") + tuple(f"aot/{pattern}" for pattern in AOT_ENTRIES)


def _entries(folder: Path) -> list[Path]:
    return sorted({p for pattern in ENTRY_PATTERNS for p in folder.glob(pattern) if p.is_file()})


def cache_usage(path: str | os.PathLike | None = None) -> tuple[int, int]:
    """(entries, bytes) of the caches in ``path`` (default :func:`cache_dir`)."""
    entries = _entries(Path(path).expanduser() if path is not None else cache_dir())
    return len(entries), sum(p.stat().st_size for p in entries)


def clear_cache(path: str | os.PathLike | None = None) -> int:
    """Delete the caches' entries in ``path`` (default :func:`cache_dir`); returns how many were deleted.
    Other files in the folder are left alone."""
    entries = _entries(Path(path).expanduser() if path is not None else cache_dir())
    for entry in entries:
        entry.unlink(missing_ok=True)
    return len(entries)
