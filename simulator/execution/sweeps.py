"""Where a sweep runs: in this process, or on a Dask cluster, into a resumable Zarr store.

A scenario's optional ``execution:`` section (``docs/scenarios.md``)::

    execution:
      backend: local-cluster     # local (default) | local-cluster | dask
      n_workers: 2               # local-cluster only
      threads_per_worker: 1      # local-cluster only
      address: tcp://host:8786   # dask only: an existing scheduler
      store: sweeps/big.zarr     # Zarr folder or URL; default <output folder>/<name>.zarr

Without the section, a sweep is solved in memory and written as NetCDF.  With
it, every block (:mod:`simulator.sweep`) is solved by the vmapped JAX engine
where the backend puts it and written straight into the store
(:mod:`simulator.store`), so memory stays bounded by a few blocks and a rerun
solves only the blocks that are missing.  On a cluster a block is a
``distributed`` task: if a worker dies, the scheduler runs its blocks again
elsewhere.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import time
from pathlib import Path
from typing import Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from ..scenario import Scenario, scenario_error, validate_section
from ..store import prepare, write_block
from ..sweep import Layout, layout, solve_block
from .cache import active_folder, enable_compilation_cache

BACKENDS = ("local", "local-cluster", "dask")


class ExecutionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Literal["local", "local-cluster", "dask"] = "local"
    store: StrictStr | None = None
    n_workers: StrictInt | None = Field(default=None, gt=0)
    threads_per_worker: StrictInt | None = Field(default=None, gt=0)
    address: StrictStr | None = None


@dataclasses.dataclass(frozen=True)
class Execution:
    """Validated ``execution:`` options.  ``uses_store`` is False only for the in-memory default."""

    backend: str = "local"
    store: str | None = None
    n_workers: int = 2
    threads_per_worker: int = 1
    address: str | None = None
    uses_store: bool = False


def execution_options(scenario: Scenario) -> Execution:
    """Read the scenario's ``execution:`` section; errors name the file, line and key."""
    spec = validate_section(scenario, "execution", ExecutionSpec)
    if spec is None:
        return Execution()
    given = spec.model_fields_set
    cluster_only = {"n_workers", "threads_per_worker"} & given
    if cluster_only and spec.backend != "local-cluster":
        key = sorted(cluster_only)[0]
        raise scenario_error(scenario, f"applies to backend 'local-cluster' only, not {spec.backend!r}", ("execution", key))
    if spec.backend == "dask" and not spec.address:
        raise scenario_error(scenario, "backend 'dask' needs the scheduler's address, e.g. tcp://host:8786", ("execution", "backend"))
    if spec.address is not None and spec.backend != "dask":
        raise scenario_error(scenario, f"applies to backend 'dask' only, not {spec.backend!r}", ("execution", "address"))
    return Execution(backend=spec.backend, store=spec.store, n_workers=spec.n_workers or 2,
                     threads_per_worker=spec.threads_per_worker or 1, address=spec.address, uses_store=True)


@dataclasses.dataclass(frozen=True)
class SweepReport:
    """What one run of :func:`run_to_store` did.  ``skipped`` blocks were already in the store."""

    store: str
    run: int
    blocks: int
    computed: int
    skipped: int
    points: int
    seconds: float
    backend: str


def run_to_store(scenario: Scenario, store: str, execution: Execution | None = None, *, restart: bool = False,
                 progress: Callable[[int, int], None] | None = None, client=None) -> SweepReport:
    """Solve the blocks of ``scenario`` that ``store`` lacks, on the chosen backend.

    ``progress(points_done, points_total)`` is called as blocks finish.
    ``client``: an existing ``distributed.Client`` to use instead of the one
    the backend would make.  Returns a :class:`SweepReport`.
    """
    execution = execution or Execution(uses_store=True)
    if "://" not in store:
        store = str(Path(store).resolve())  # workers may run in another folder
    start = time.perf_counter()
    lay = layout(scenario)
    state = prepare(scenario, lay, store, restart=restart, backend=execution.backend)
    todo = [int(b) for b in state.missing]
    done_points = lay.points - sum(lay.block_points(b) for b in todo)
    if progress is not None:
        progress(done_points, lay.points)

    def finished(block_id: int) -> None:
        nonlocal done_points
        done_points += lay.block_points(block_id)
        if progress is not None:
            progress(done_points, lay.points)

    if todo:
        if client is not None:
            _run_distributed(client, scenario, lay, state, todo, finished)
        elif execution.backend == "local":
            for block_id in todo:
                write_block(store, state.fingerprint, lay, block_id, solve_block(scenario, lay, block_id), state.run)
                finished(block_id)
        else:
            with _cluster_client(execution) as own:
                _run_distributed(own, scenario, lay, state, todo, finished)
    return SweepReport(store=store, run=state.run, blocks=lay.n_blocks, computed=len(todo), skipped=lay.n_blocks - len(todo),
                       points=lay.points, seconds=time.perf_counter() - start, backend=execution.backend if client is None else "dask")


@contextlib.contextmanager
def _cluster_client(execution: Execution):
    """A ``distributed.Client`` for the backend, closed (with its LocalCluster) on exit."""
    from distributed import Client, LocalCluster

    if execution.backend == "dask":
        with Client(execution.address) as client:
            yield client
    else:
        with LocalCluster(n_workers=execution.n_workers, threads_per_worker=execution.threads_per_worker,
                          processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
            yield client


def _run_distributed(client, scenario: Scenario, lay: Layout, state, todo: list[int], finished: Callable[[int], None]) -> None:
    from distributed import as_completed

    # the scenario and layout travel once to every worker, not with each task
    shared = client.scatter((scenario, lay), broadcast=True, hash=False)
    folder = active_folder()
    task = functools.partial(_solve_and_write, state.url, state.fingerprint, state.run, None if folder is None else str(folder))
    keys = [f"llm-labor-block-{state.fingerprint[:12]}-run{state.run}-{b}" for b in todo]
    futures = client.map(task, todo, sweep=shared, key=keys, pure=False)
    try:
        for future in as_completed(futures):
            finished(future.result())
    finally:
        client.cancel(futures)


def _solve_and_write(url: str, fp: str, run: int, cache_folder: str | None, block_id: int, sweep: tuple[Scenario, Layout]) -> int:
    """A cluster task: solve one block and write it (idempotent, so a retry after a lost worker is safe).

    ``cache_folder``: the client's compilation cache, if it has one on; the worker then uses it too, so
    that a warm worker loads its programs instead of compiling them."""
    if cache_folder is not None:
        _use_cache(cache_folder)
    scenario, lay = sweep
    write_block(url, fp, lay, block_id, solve_block(scenario, lay, block_id), run)
    return block_id


@functools.lru_cache(maxsize=None)
def _use_cache(folder: str) -> None:
    """Turn the caches on in this worker process, once (a worker sharing the client's process has them
    on already; a folder the worker cannot write leaves them off, with a warning in its log)."""
    if active_folder() is None:
        enable_compilation_cache(folder)
