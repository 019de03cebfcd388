"""Sweeps into Zarr stores: blocks, resumption, and a Dask LocalCluster that loses a worker or its client."""
import dataclasses
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from simulator.errors import ScenarioError
from simulator.execution import Execution, execution_options, run_to_store
from simulator.scenario import parse_scenario
from simulator.status import Status
from simulator.store import StoreError, block_runs, open_store
from simulator.sweep import block_shape, layout, run_sweep

# The benchmark regime compiles in about a second; small blocks make many tasks.
TEXT = """name: grid
economy: {eta: 1.0, A_L: 1.0, A_H: 1.5, L: 1.0, H: 0.6}
sweep:
  parameters:
    A_H: {linspace: {start: 0.5, stop: 3.0, num: 30}}
    H: {logspace: {start: -1, stop: 1, num: 41}}
solver: {chunk_size: 8}
"""
LOCAL = Execution(uses_store=True)


@pytest.fixture(scope="module")
def scenario():
    return parse_scenario(TEXT, "grid.yaml")


@pytest.fixture(scope="module")
def reference(scenario):
    return run_sweep(scenario)


def assert_identical(ds, reference):
    for name in reference.data_vars:
        np.testing.assert_array_equal(ds[name].values, reference[name].values, err_msg=name)


@pytest.mark.parametrize("shape,chunk,expected", [
    ((30, 41), 8, (1, 8)),
    ((30, 41), 100, (2, 41)),
    ((30, 41), 10_000, (30, 41)),
    ((5, 4, 3), 24, (2, 4, 3)),
    ((7,), 3, (3,)),
    ((), 10, ()),
])
def test_block_shape(shape, chunk, expected):
    assert block_shape(shape, chunk) == expected


def test_blocks_tile_the_grid_once(scenario):
    lay = layout(scenario)
    hits = np.zeros(lay.shape, dtype=int)
    for b in range(lay.n_blocks):
        hits[lay.region(b)] += 1
    assert lay.n_blocks == 30 * 6 and (hits == 1).all()


def test_local_store_equals_in_memory_sweep(scenario, reference, tmp_path):
    report = run_to_store(scenario, str(tmp_path / "s.zarr"), LOCAL)
    assert (report.computed, report.skipped, report.points) == (180, 0, 30 * 41)
    ds = open_store(str(tmp_path / "s.zarr"))
    assert_identical(ds, reference)
    assert ds.attrs["scenario_text"] == TEXT and ds.attrs["git_commit"]


class Interrupt(Exception):
    pass


def test_interrupted_local_sweep_resumes_with_missing_blocks_only(scenario, reference, tmp_path):
    store = str(tmp_path / "s.zarr")

    calls = []

    def stop_after_50_blocks(done, total):
        calls.append(done)  # once at the start, then once per block
        if len(calls) == 51:
            raise Interrupt

    with pytest.raises(Interrupt):
        run_to_store(scenario, store, LOCAL, progress=stop_after_50_blocks)
    partial = open_store(store)
    runs = block_runs(store)
    assert (runs == 1).sum() == 50 and (runs == 0).sum() == 130
    lay = layout(scenario)
    missing = partial["status"].values == Status.PENDING
    assert missing.sum() == sum(lay.block_points(b) for b in np.flatnonzero(runs == 0))
    assert np.isnan(partial["premium"].values[missing]).all()

    report = run_to_store(scenario, store, LOCAL)
    assert (report.run, report.computed, report.skipped) == (2, 130, 50)
    after = block_runs(store)
    assert (after[runs == 1] == 1).all() and (after[runs == 0] == 2).all()
    assert_identical(open_store(store), reference)
    again = run_to_store(scenario, store, LOCAL)
    assert (again.computed, again.skipped) == (0, 180)


@pytest.mark.parametrize("sweep", [
    "sweep:\n  mode: zip\n  parameters:\n    A_H: [0.5, 1.0, 2.0, 3.0, 4.0]\n    H: [0.2, 0.4, 0.6, 0.8, 1.0]\nsolver: {chunk_size: 2}\n",
    "",
], ids=["zip", "single point"])
def test_zipped_and_single_point_sweeps_into_a_store(sweep, tmp_path):
    text = TEXT.split("sweep:")[0] + sweep
    scenario = parse_scenario(text, "s.yaml")
    report = run_to_store(scenario, str(tmp_path / "s.zarr"), LOCAL)
    assert report.blocks == (3 if sweep else 1)
    ds = open_store(str(tmp_path / "s.zarr"))
    assert ds["status"].shape == scenario.shape
    assert_identical(ds, run_sweep(scenario))
    assert (ds["status"].values == Status.OK).all()


def test_store_of_another_sweep_is_refused(scenario, tmp_path):
    store = str(tmp_path / "s.zarr")
    small = dataclasses.replace(scenario, chunk_size=1000)
    run_to_store(small, store, LOCAL)
    other = parse_scenario(TEXT.replace("num: 30", "num: 31"), "other.yaml")
    with pytest.raises(StoreError, match="holds another sweep"):
        run_to_store(other, store, LOCAL)
    report = run_to_store(other, store, LOCAL, restart=True)
    assert report.computed == report.blocks and report.run == 1
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    with pytest.raises(StoreError, match="not a Zarr store"):
        run_to_store(small, str(tmp_path / "notes"), LOCAL, restart=True)
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine"


def test_store_cut_off_while_created_is_created_again(scenario, reference, tmp_path):
    import shutil

    store = tmp_path / "s.zarr"
    run_to_store(scenario, str(store), LOCAL)
    shutil.rmtree(store / "_progress" / "done")  # as if killed before the progress array was written
    with pytest.raises(StoreError, match="creation was cut off"):
        block_runs(str(store))
    report = run_to_store(scenario, str(store), LOCAL)
    assert (report.run, report.computed, report.skipped) == (1, 180, 0)
    assert_identical(open_store(str(store)), reference)


@pytest.mark.parametrize("section,line,key,fragment", [
    ("execution:\n  backend: spark\n", 9, "execution.backend", "local-cluster"),
    ("execution:\n  backend: local\n  n_workers: 4\n", 10, "execution.n_workers", "'local-cluster' only"),
    ("execution:\n  backend: dask\n", 9, "execution.backend", "scheduler's address"),
    ("execution:\n  backend: local-cluster\n  address: tcp://x:1\n", 10, "execution.address", "'dask' only"),
    ("execution:\n  backend: local-cluster\n  n_workers: 0\n", 10, "execution.n_workers", "greater than 0"),
    ("execution:\n  backend: local\n  workers: 2\n", 10, "execution.workers", "unknown key"),
])
def test_bad_execution_sections_name_file_line_and_key(section, line, key, fragment):
    scenario = parse_scenario(TEXT + section, "grid.yaml")
    with pytest.raises(ScenarioError) as info:
        execution_options(scenario)
    message = str(info.value)
    assert f"grid.yaml:{line}" in message and f"key '{key}'" in message and fragment in message, message


# ----------------------------------------------------------------------------- Dask LocalCluster, 2 workers
@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        with distributed.Client(c) as client:
            yield c, client


def test_cluster_run_equals_local_run(scenario, reference, cluster, tmp_path):
    c, _ = cluster
    text = TEXT + f"execution:\n  backend: dask\n  address: {c.scheduler_address}\n"
    on_cluster = parse_scenario(text, "grid.yaml")
    execution = execution_options(on_cluster)
    report = run_to_store(on_cluster, str(tmp_path / "s.zarr"), execution)
    assert (report.backend, report.computed) == ("dask", 180)
    assert_identical(open_store(str(tmp_path / "s.zarr")), reference)


def test_sweep_survives_a_killed_worker(scenario, reference, cluster, tmp_path):
    c, client = cluster
    client.wait_for_workers(2)
    pids = client.run(os.getpid)
    killed = []

    def kill_a_busy_worker(done, total):
        if killed or done < 300:
            return
        busy = [w for w, keys in client.processing().items() if keys and w in pids]
        victim = busy[0]
        os.kill(pids[victim], signal.SIGKILL)
        killed.append((pids[victim], done, total))

    store = str(tmp_path / "s.zarr")
    report = run_to_store(scenario, store, client=client, progress=kill_a_busy_worker)
    assert killed and killed[0][1] < killed[0][2], "the worker must die mid-sweep"
    assert not _alive(killed[0][0])
    assert report.computed == 180 and (block_runs(store) == 1).all()
    assert_identical(open_store(store), reference)


def _kill_tree(child):
    """SIGKILL a process and every descendant, and wait until none is left to write to the store."""
    psutil = pytest.importorskip("psutil")
    root = psutil.Process(child.pid)
    procs = [root] + root.children(recursive=True)
    os.killpg(child.pid, signal.SIGKILL)
    for p in procs:  # and any that left the process group
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    child.wait()
    gone, alive = psutil.wait_procs(procs, timeout=30)
    assert not alive, f"processes survived SIGKILL: {alive}"


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_killed_client_resumes_without_recomputing_finished_blocks(scenario, reference, cluster, tmp_path):
    _, client = cluster
    path = tmp_path / "grid.yaml"
    path.write_text(TEXT + "execution:\n  backend: local-cluster\n  n_workers: 2\n")
    store = str(tmp_path / "out" / "grid.zarr")
    command = [sys.executable, "-c", "from llm_labor.cli import main; main()", "run", str(path),
               "--out", str(tmp_path / "out"), "--no-plots", "--no-progress"]
    log = open(tmp_path / "client.log", "w")
    # without the compilation cache: warm workers (sharing a cache earlier runs filled) can finish the
    # whole sweep between two looks at the store, and the test is about resuming, not about caching
    env = {**os.environ, "LLM_LABOR_NO_CACHE": "1"}
    child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and child.poll() is None:
            try:
                if (block_runs(store) > 0).sum() >= 20:
                    break
            except (StoreError, FileNotFoundError, ValueError):
                pass  # not created yet, or metadata half-written
            time.sleep(0.05)
    finally:
        _kill_tree(child)  # the client with its scheduler, nannies and workers
        log.close()
    assert child.returncode == -signal.SIGKILL, f"the client ended by itself: {(tmp_path / 'client.log').read_text()[-2000:]}"
    before = block_runs(store)
    finished = int((before > 0).sum())
    assert 20 <= finished < 180, f"the client must die mid-sweep ({finished} blocks done)"

    resumed = parse_scenario(TEXT + "execution:\n  backend: local-cluster\n  n_workers: 2\n", str(path))
    report = run_to_store(resumed, store, client=client)
    assert (report.computed, report.skipped) == (180 - finished, finished), (report, finished)
    after = block_runs(store)
    assert (after[before > 0] == before[before > 0]).all(), "finished blocks were solved again"
    assert (after[before == 0] == report.run).all()
    assert_identical(open_store(store), reference)


def test_cli_resumes_a_store_and_refuses_restart_in_memory(tmp_path):
    from typer.testing import CliRunner

    from llm_labor.cli import app

    runner = CliRunner()
    path = tmp_path / "grid.yaml"
    path.write_text(TEXT.replace("num: 30", "num: 3") + "execution:\n  backend: local\n")
    args = ["run", str(path), "--out", str(tmp_path / "out"), "--no-progress", "--no-plots"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "solved 18 of 18 blocks" in first.output and not (tmp_path / "out" / "grid.nc").exists()
    second = runner.invoke(app, args)
    assert "solved 0 of 18 blocks" in second.output and "18 were already in" in second.output
    third = runner.invoke(app, args + ["--restart"])
    assert "solved 18 of 18 blocks" in third.output
    in_memory = tmp_path / "memory.yaml"
    in_memory.write_text(TEXT)
    refused = runner.invoke(app, ["run", str(in_memory), "--out", str(tmp_path / "m"), "--restart"])
    assert refused.exit_code == 2 and "--restart applies to sweeps into a Zarr store" in refused.output


def test_cluster_workers_share_the_clients_compiled_programs(scenario, reference, tmp_path):
    """With the caches on in the client, a LocalCluster's workers store their programs in its folder, and
    the workers of a later cluster load them (no entry rewritten: the same files, the same inodes) with
    results identical to the in-memory sweep."""
    distributed = pytest.importorskip("distributed")
    from simulator.execution import disable_compilation_cache, enable_compilation_cache

    def fresh_cluster_run(**options):  # new worker processes each time; no dashboard (the module's cluster has one)
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
            with distributed.Client(c) as client:
                return run_to_store(scenario, store, client=client, **options)

    folder = tmp_path / "cache"
    store = str(tmp_path / "s.zarr")
    assert enable_compilation_cache(folder) == folder
    try:
        fresh_cluster_run()
        programs = {p.name: p.stat().st_ino for p in (folder / "aot").glob("*.bin")}
        assert programs, "the workers stored no program"
        report = fresh_cluster_run(restart=True)
    finally:
        disable_compilation_cache()
    assert report.computed == 180
    assert {p.name: p.stat().st_ino for p in (folder / "aot").glob("*.bin")} == programs
    assert_identical(open_store(store), reference)
