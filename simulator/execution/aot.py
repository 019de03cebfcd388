"""Compiled programs saved to disk and loaded back whole: a warm start without tracing.

JAX's persistent compilation cache (:mod:`.cache`) skips the compiler, but a new process
still traces and lowers every program to find its cache key: on the discretised route that
took longer than loading the compiled program.  Here a program is stored under a key known
before tracing, and loaded with :func:`jax.experimental.serialize_executable.deserialize_and_load`.

The key is a hash of

* the caller's ``name``, which must say everything that fixes the program besides its
  arguments (the solver's options, the pytree structure of the model, slice sizes),
* the structure, shapes and dtypes of the arguments,
* the source of the ``simulator`` package (any edit to the engine makes new keys),
* the JAX and jaxlib versions, the backend and its devices, the processor's instruction set,
  the float64 switch and ``XLA_FLAGS``.

Entries live in ``<cache folder>/aot`` and exist only while the compilation cache is on
(:func:`.cache.enable_compilation_cache`); otherwise :func:`compiled` simply compiles.  They
are written atomically (a temporary file, then a rename), and a program's entry starts with
the sha256 of the rest, checked before the bytes reach XLA.  An entry that cannot be read or
loaded is reported with a warning, deleted and compiled again: never a crash.  The cache
never changes a result: a loaded program is the compiled program itself (tested bit for bit).
"""
from __future__ import annotations

import functools
import hashlib
import os
import pickle
import platform
import re
import tempfile
import warnings
from pathlib import Path

import jax
import jaxlib

from . import cache

#: Format of an entry; part of the key, so that a change of layout never reads an old entry.
FORMAT = 2
#: A name holding an object's address (a user's profile function, say) differs in every process:
#: such programs are compiled, never stored.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
#: Entries not used for this many days are deleted when a process turns the cache on
#: (:func:`prune`): each edit of the engine and each JAX upgrade leaves a set of entries nothing reads.
MAX_AGE_DAYS = 30
#: What this process did with its programs: loaded from disk, compiled (and stored), rejected entries.
stats = {"loaded": 0, "compiled": 0, "rejected": 0}


@functools.lru_cache(maxsize=1)
def source_fingerprint() -> str:
    """sha256 of the ``simulator`` package's Python source (file names and contents)."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def host() -> str:
    """The processor's architecture and instruction-set flags: a program compiled for CPU features
    this machine lacks (a cache folder shared between machines) must not be loaded."""
    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                flags = line.split(":", 1)[1].strip()
                break
    except OSError:  # not Linux: the architecture and processor name only
        pass
    return f"{platform.machine()}|{platform.processor()}|{flags}"


def key(name: str, args) -> str:
    """The entry's key: see the module docstring for what it covers."""
    leaves, treedef = jax.tree_util.tree_flatten(args)
    avals = [(tuple(v.shape), str(v.dtype)) for v in leaves]
    devices = [(d.platform, getattr(d, "device_kind", "")) for d in jax.devices()]
    parts = (FORMAT, name, str(treedef), avals, source_fingerprint(), jax.__version__, jaxlib.__version__,
             jax.default_backend(), devices, host(), bool(jax.config.jax_enable_x64), os.environ.get("XLA_FLAGS", ""))
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def folder() -> Path | None:
    """``<cache folder>/aot`` while the compilation cache is on, else None."""
    base = cache.active_folder()
    return None if base is None else base / "aot"


def compiled(name: str, function, args):
    """``function`` (jitted) compiled for ``args`` (arrays or :class:`jax.ShapeDtypeStruct`), read from
    disk when a process stored it before; a :class:`jax.stages.Compiled`."""
    where = folder()
    if where is None or _ADDRESS.search(name):
        return function.lower(*args).compile()
    path = where / f"{key(name, args)}.bin"
    program = _load(path)
    if program is not None:
        stats["loaded"] += 1
        _touch(path)
        return program
    program = function.lower(*args).compile()
    stats["compiled"] += 1
    _store(path, program)
    return program


def output_shapes(name: str, function, args):
    """``jax.eval_shape(function, *args)``, read from disk when a process stored it before (the
    shapes of a program's results, without tracing it)."""
    where = folder()
    if where is None or _ADDRESS.search(name):
        return jax.eval_shape(function, *args)
    path = where / f"{key(name, args)}.shapes"
    try:
        shapes = pickle.loads(path.read_bytes())
        _touch(path)
        return shapes
    except FileNotFoundError:
        pass
    except Exception as error:  # a corrupt entry: as for programs
        stats["rejected"] += 1
        warnings.warn(f"compiled-program cache: ignored an unreadable entry {path.name} ({type(error).__name__}); tracing",
                      RuntimeWarning, stacklevel=2)
        path.unlink(missing_ok=True)
    shapes = jax.eval_shape(function, *args)
    _write(path, pickle.dumps(shapes, protocol=pickle.HIGHEST_PROTOCOL))
    return shapes


def _load(path: Path):
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        warnings.warn(f"compiled-program cache: cannot read {path} ({error.strerror or error}); compiling", RuntimeWarning,
                      stacklevel=3)
        return None
    try:
        from jax.experimental.serialize_executable import deserialize_and_load

        digest, payload = blob[:32], blob[32:]
        if hashlib.sha256(payload).digest() != digest:  # checked before XLA sees the bytes
            raise ValueError("checksum mismatch")
        return deserialize_and_load(*pickle.loads(payload))
    except Exception as error:  # a corrupt or foreign entry: whatever fails, compile instead
        stats["rejected"] += 1
        warnings.warn(f"compiled-program cache: ignored an unreadable entry {path.name} ({type(error).__name__}: "
                      f"{str(error)[:120]}); compiling", RuntimeWarning, stacklevel=3)
        path.unlink(missing_ok=True)
        return None


def _store(path: Path, program) -> None:
    try:
        from jax.experimental.serialize_executable import serialize

        payload = pickle.dumps(serialize(program), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:  # a program the backend cannot serialise: it simply is not stored
        warnings.warn(f"compiled-program cache: cannot serialise a program ({type(error).__name__}: {str(error)[:120]})",
                      RuntimeWarning, stacklevel=3)
        return
    _write(path, hashlib.sha256(payload).digest() + payload)


def _write(path: Path, blob: bytes) -> None:
    """``blob`` to ``path`` atomically: readers see the old entry, none, or the whole new one."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", delete=False) as handle:
            temporary = handle.name
            handle.write(blob)
        os.replace(temporary, path)
    except OSError as error:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        warnings.warn(f"compiled-program cache: cannot write {path} ({error.strerror or error})", RuntimeWarning, stacklevel=4)


def _touch(path: Path) -> None:
    """Mark an entry as used now (its modification time: access times are often not kept)."""
    try:
        os.utime(path)
    except OSError:
        pass


def prune(base: Path, max_age_days: float = MAX_AGE_DAYS, now: float | None = None) -> int:
    """Delete the entries in ``base/aot`` not used for ``max_age_days``; returns how many."""
    import time

    limit = (time.time() if now is None else now) - max_age_days * 86400.0
    removed = 0
    for pattern in ("*.bin", "*.shapes", ".tmp-*"):
        for path in (base / "aot").glob(pattern):
            try:
                if path.stat().st_mtime < limit:
                    path.unlink()
                    removed += 1
            except OSError:  # gone already, or not ours to delete: left alone
                pass
    return removed
