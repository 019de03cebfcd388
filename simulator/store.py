"""Zarr stores of sweep results, filled block by block so a sweep can resume.

A store (Zarr format 3, a folder or any URL that Zarr and fsspec open) holds:

* at its root, the sweep's Dataset: the same variables, coordinates and
  provenance attributes as the NetCDF output, chunked by block.  Points not
  solved yet read as NaN with ``status`` = PENDING (-1);
* ``_progress/done`` with shape (n_blocks,), one chunk per block: 0 while the
  block is missing, otherwise the number of the run that solved it.  A block's
  mark is written after its data, and Zarr writes each chunk atomically, so a
  marked block is complete and an interrupted run loses at most the blocks
  in flight;
* ``sweep_fingerprint`` (root attribute): a hash of everything that decides
  the numbers (economy, technologies, sweep values, solver options, block
  shape, package version).  A store is only resumed by the sweep that made it.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import hashlib
import json
from pathlib import Path

import numpy as np

from . import __version__
from .errors import LLMLaborError
from .provenance import git_commit
from .scenario import Scenario
from .sweep import Layout, dataset, parameter_record

PROGRESS = "_progress"


class StoreError(LLMLaborError):
    """A sweep store cannot be used: made by another sweep, or unreadable."""


def fingerprint(scenario: Scenario, lay: Layout) -> str:
    """SHA-256 of what decides a sweep's numbers (not its outputs or where it runs)."""
    record = {
        "package_version": __version__,
        "economy": parameter_record(scenario.economy),
        "technologies": [parameter_record(t) for t in scenario.technologies],
        "sweep_mode": scenario.sweep_mode,
        "axes": {k: [float(x).hex() for x in np.asarray(v)] for k, v in scenario.axes.items()},
        "solver": dataclasses.asdict(scenario.solver),
        "block": list(lay.block),
    }
    if scenario.frontier is not None:  # a path sweep: its dates and labels are coordinates of the store
        record["dates"] = [str(d) for d in scenario.frontier.dates]
        record["frontier_model"] = list(scenario.frontier.models)
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class StoreState:
    """An opened store: this run's number and which blocks earlier runs finished.

    ``done`` (n_blocks,) int32: 0 = missing, k = solved by run k.
    """

    url: str
    fingerprint: str
    run: int
    done: np.ndarray

    @property
    def missing(self) -> np.ndarray:
        return np.flatnonzero(self.done == 0)


def prepare(scenario: Scenario, lay: Layout, url: str, *, restart: bool = False, backend: str = "local") -> StoreState:
    """Create the store, or open it to resume; register a new run.

    Raises :class:`StoreError` when ``url`` holds a store of another sweep
    (unless ``restart``, which discards it).
    """
    import zarr

    fp = fingerprint(scenario, lay)
    group = _open_existing(url)
    if restart:
        group = None
    if group is not None:
        _check_variables(group, lay, url)
    if group is not None and group.attrs.get("sweep_fingerprint") != fp:
        raise StoreError(
            f"{url}: the store holds another sweep (scenario {group.attrs.get('scenario_name')!r}, "
            f"fingerprint {str(group.attrs.get('sweep_fingerprint'))[:12]}) than {scenario.name!r} "
            f"(fingerprint {fp[:12]}); choose another store, delete it, or run with --restart"
        )
    if group is None:
        _create(scenario, lay, url, fp)
        group = zarr.open_group(url, mode="r+")
    progress = group[PROGRESS]
    done = np.asarray(progress["done"][:], dtype=np.int32)
    runs = list(progress.attrs.get("runs", []))
    run = len(runs) + 1
    runs.append({"run": run, "started_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                 "git_commit": git_commit(), "backend": backend, "blocks_missing": int(np.sum(done == 0))})
    progress.attrs["runs"] = runs
    return StoreState(url=url, fingerprint=fp, run=run, done=done)


def _check_variables(group, lay: Layout, url: str) -> None:
    """Raise :class:`StoreError` unless the store holds exactly this layout's variables, with its dtypes.

    A store written by another version of the package (e.g. before the variable ``error`` existed)
    is refused by name rather than resumed with a mix of old and new outputs.
    """
    have = {name: array.dtype for name, array in group.arrays()}
    want = {name: np.dtype(var.dtype) for name, var in lay.variables.items()}
    missing = sorted(set(want) - set(have))
    extra = sorted(set(have) - set(want) - set(lay.coords))
    changed = sorted(n for n in set(want) & set(have) if np.dtype(have[n]) != want[n])
    if missing or extra or changed:
        what = "; ".join(part for part in (
            f"it lacks {missing}" if missing else "",
            f"it has variables this version does not write: {extra}" if extra else "",
            "dtypes differ: " + ", ".join(f"{n} {np.dtype(have[n])} instead of {want[n]}" for n in changed) if changed else "",
        ) if part)
        raise StoreError(
            f"{url}: the store was written by another version of llm-labor ({what}, version "
            f"{group.attrs.get('package_version', 'unknown')}); it cannot be resumed without mixing outputs. "
            "Run with --restart to solve it again, or choose another store"
        )


def _open_existing(url: str, mode: str = "r+"):
    import zarr

    try:
        group = zarr.open_group(url, mode=mode)
    except FileNotFoundError:
        local = None if "://" in url else Path(url)
        if local is not None and local.exists() and (local.is_file() or any(local.iterdir())):
            raise StoreError(f"{url}: exists and is not a Zarr store; choose another store") from None
        return None
    if "sweep_fingerprint" not in group.attrs:
        raise StoreError(f"{url}: exists but is not a sweep store of this package; choose another store or delete it")
    if PROGRESS not in group or "done" not in group[PROGRESS]:
        return None  # creation was cut off before the progress array, so no block was solved: nothing to keep
    return group


def _create(scenario: Scenario, lay: Layout, url: str, fp: str) -> None:
    """Write the store's metadata and coordinates; no data chunk is written."""
    import dask.array as da
    import zarr

    template, encoding = {}, {}
    for name, var in lay.variables.items():
        shape = lay.var_shape(name)
        chunks = lay.block + shape[len(lay.block):]
        template[name] = da.full(shape, var.fill, dtype=var.dtype, chunks=chunks)
        encoding[name] = {"fill_value": var.fill}
    ds = dataset(scenario, lay, template)
    # variable-length strings: Zarr v3 specifies no fixed-width unicode type
    ds = ds.assign_coords({k: ds[k].astype(object) for k in ds.coords if ds[k].dtype.kind == "U"})
    ds.attrs["sweep_fingerprint"] = fp
    ds.attrs["block_shape"] = json.dumps(list(lay.block))
    ds.to_zarr(url, mode="w", compute=False, zarr_format=3, consolidated=False, encoding=encoding)
    progress = zarr.open_group(url, mode="r+").create_group(PROGRESS)
    progress.create_array("done", shape=(lay.n_blocks,), chunks=(1,), dtype="int32", fill_value=0)
    progress.attrs["runs"] = []


@functools.lru_cache(maxsize=8)
def _arrays(url: str, fp: str) -> dict:
    """Open the store's arrays once per process (``fp`` keys the cache to one sweep)."""
    import zarr

    group = zarr.open_group(url, mode="r+")
    if group.attrs.get("sweep_fingerprint") != fp:
        raise StoreError(f"{url}: the store was replaced by another sweep while this one ran")
    return {name: array for name, array in group.arrays()} | {"_done": group[PROGRESS]["done"]}


def write_block(url: str, fp: str, lay: Layout, block_id: int, values: dict, run: int) -> None:
    """Write one solved block, then mark it done by ``run``."""
    arrays = _arrays(url, fp)
    region = lay.region(block_id)
    for name, block in values.items():
        arrays[name][region] = block
    arrays["_done"][block_id] = run


def open_store(url: str):
    """The sweep in a store as a lazy (Dask-backed) :class:`xarray.Dataset`."""
    import xarray as xr

    if _open_existing(url, "r") is None:
        raise StoreError(f"{url}: no sweep store there, or its creation was cut off")
    return xr.open_zarr(url, consolidated=False)


def block_runs(url: str) -> np.ndarray:
    """Per block, the run that solved it (0 = missing)."""
    group = _open_existing(url, "r")
    if group is None:
        raise StoreError(f"{url}: no sweep store there, or its creation was cut off")
    return np.asarray(group[PROGRESS]["done"][:], dtype=np.int32)
