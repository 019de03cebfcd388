"""A scoring subprocess killed with SIGKILL resumes without repeating a completed call."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

from empirics.scoring.config import load_config
from empirics.scoring.pipeline import make_plan
from empirics.scoring.runner import request_id

from .conftest import REPO, SECRET, endpoint, write_config


def _completed(db) -> set:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {tuple(r) for r in con.execute("SELECT endpoint, model, template_hash, unit_id, repeat FROM calls")}
    except sqlite3.OperationalError:
        return set()
    finally:
        con.close()


def _cmd(cfg):
    return [sys.executable, "-m", "empirics.scoring", "run", str(cfg), "--no-progress"]


def test_sigkill_resume(server, tmp_path):
    server.latency_s = 0.01
    cfg_path = write_config(
        tmp_path, [endpoint(server, "a", "m1", max_concurrency=2), endpoint(server, "b", "m2", max_concurrency=2)],
        occupations={"limit": 40}, repeats=3)
    cfg = load_config(cfg_path)
    keys = {s.key for s in make_plan(cfg).all_specs}
    assert len(keys) == 240
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    db = tmp_path / "cache.sqlite"
    proc = subprocess.Popen(_cmd(cfg_path), cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists() and len(_completed(db)) >= 40:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    time.sleep(0.1)  # let the server finish requests that were in flight
    done_before = _completed(db)
    assert 40 <= len(done_before) < 240
    first_run_log = len(server.log)

    rerun = subprocess.run(_cmd(cfg_path), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert f"cached {len(done_before)}" in rerun.stdout

    second = server.log[first_run_log:]
    ids_before = {request_id(k) for k in done_before}
    assert not [r for r in second if r.request_id in ids_before], "a completed call was sent again"
    assert len(second) == 240 - len(done_before)
    assert _completed(db) == keys
    # at most the calls in flight at the kill (4 workers) were answered twice
    ok = server.served_ok()
    assert set(ok) == {request_id(k) for k in keys}
    assert sum(n - 1 for n in ok.values()) <= 4
    for blob in (out, err, rerun.stdout.encode(), rerun.stderr.encode()):
        assert SECRET.encode() not in blob
