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
are written atomically (a temporary file, then a rename), and an entry starts with the
sha256 of the rest, checked before the bytes reach XLA.  An entry that cannot be read or
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
FORMAT = 3
#: A name holding an object's address (a user's profile function, say) differs in every process:
#: such programs are compiled, never stored.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
#: Entries not used for this many days are deleted when a process turns the cache on
#: (:func:`prune`): each edit of the engine and each JAX upgrade leaves a set of entries nothing reads.
MAX_AGE_DAYS = 30
#: What this process did with its entries: loaded from disk, computed (and stored), rejected as unreadable.
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
    return _cached(name, args, ".bin", lambda: function.lower(*args).compile(), _serialize, _deserialize)


def output_shapes(name: str, function, args):
    """``jax.eval_shape(function, *args)``, read from disk when a process stored it before (the
    shapes of a program's results, without tracing it)."""
    return _cached(name, args, ".shapes", lambda: jax.eval_shape(function, *args), pickle.dumps, pickle.loads)


def _serialize(program) -> bytes:
    from jax.experimental.serialize_executable import serialize

    return pickle.dumps(serialize(program), protocol=pickle.HIGHEST_PROTOCOL)


def _deserialize(payload: bytes):
    from jax.experimental.serialize_executable import deserialize_and_load

    return deserialize_and_load(*pickle.loads(payload))


def _cached(name: str, args, suffix: str, make, encode, decode):
    """``make()``, or the value stored under the key of (``name``, ``args``) in a file ending ``suffix``
    (``encode``/``decode`` turn it into bytes and back); computed values are stored."""
    where = folder()
    if where is None or _ADDRESS.search(name):
        return make()
    path = where / f"{key(name, args)}{suffix}"
    value = _load(path, decode)
    if value is not None:
        stats["loaded"] += 1
        _touch(path)
        return value
    value = make()
    stats["compiled"] += 1
    _store(path, value, encode)
    return value


def _load(path: Path, decode):
    """The value in the entry at ``path``, or None where there is none or it is unreadable (then
    deleted, with a warning)."""
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        warnings.warn(f"compiled-program cache: cannot read {path} ({error.strerror or error}); compiling", RuntimeWarning,
                      stacklevel=4)
        return None
    try:
        digest, payload = blob[:32], blob[32:]
        if hashlib.sha256(payload).digest() != digest:  # checked before XLA sees the bytes
            raise ValueError("checksum mismatch")
        return decode(payload)
    except Exception as error:  # a corrupt or foreign entry: whatever fails, compute it again instead
        stats["rejected"] += 1
        warnings.warn(f"compiled-program cache: ignored an unreadable entry {path.name} ({type(error).__name__}: "
                      f"{str(error)[:120]}); compiling", RuntimeWarning, stacklevel=4)
        path.unlink(missing_ok=True)
        return None


def _store(path: Path, value, encode) -> None:
    """``value`` to ``path``, after the sha256 of its bytes, atomically: readers see the old entry, none,
    or the whole new one."""
    try:
        payload = encode(value)
    except Exception as error:  # a program the backend cannot serialise: it simply is not stored
        warnings.warn(f"compiled-program cache: cannot serialise {path.name} ({type(error).__name__}: {str(error)[:120]})",
                      RuntimeWarning, stacklevel=4)
        return
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", delete=False) as handle:
            temporary = handle.name
            handle.write(hashlib.sha256(payload).digest() + payload)
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
    for pattern in cache.AOT_ENTRIES:
        for path in (base / "aot").glob(pattern):
            try:
                if path.stat().st_mtime < limit:
                    path.unlink()
                    removed += 1
            except OSError:  # gone already, or not ours to delete: left alone
                pass
    return removed
