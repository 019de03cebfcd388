from __future__ import annotations

import pandas as pd
import typer
from typer.testing import CliRunner

from benchmarks.references.fakeserver import Fault
from empirics.scoring.cli import build_app, register

from .conftest import SECRET, endpoint, write_config

runner = CliRunner()
APP = build_app()


def test_register_adds_empirics_score(server, tmp_path):
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """root"""

    register(root)
    res = runner.invoke(root, ["empirics", "scoring", "--help"])
    assert res.exit_code == 0 and "run" in res.output and "export" in res.output
    cfg = write_config(tmp_path, [endpoint(server)], repeats=3)
    res = runner.invoke(root, ["empirics", "score", str(cfg), "--dry-run"])
    assert res.exit_code == 0 and "calls planned: 15" in res.output
    res = runner.invoke(root, ["empirics", "score", str(cfg), "--no-progress"])
    assert res.exit_code == 0 and "ok 15" in res.output and len(server.log) == 15


def test_dry_run_counts_calls_and_sends_nothing(server, tmp_path):
    cfg = write_config(tmp_path, [endpoint(server, "a"), endpoint(server, "b")], repeats=8,
                       composite={"repeats": 2})
    res = runner.invoke(APP, ["run", str(cfg), "--dry-run"])
    assert res.exit_code == 0, res.output
    # 5 occupations x 8 repeats x 2 endpoints + 5 x 2 x 2 composite calls
    assert "calls planned: 100  already cached: 0  to send: 100" in res.output
    assert "estimated tokens to send: ~" in res.output
    assert server.log == [] and not (tmp_path / "cache.sqlite").exists()


def test_run_writes_tidy_tables_and_never_the_key(server, tmp_path):
    server.faults = [Fault("429", 1, match="土壤"), Fault("truncated", 1, match="天线")]
    cfg = write_config(tmp_path, [endpoint(server, "a"), endpoint(server, "b", send_seed=True)], repeats=4,
                       composite={"template": "composite.en.v1", "repeats": 2})
    res = runner.invoke(APP, ["run", str(cfg), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "planned 60, cached 0, ok 60, invalid 0, failed 0" in res.output
    out = tmp_path / "out"
    labels = pd.read_parquet(out / "labels.parquet")
    assert len(labels) == 5 * 2 * 4 and set(labels.status) == {"ok"}
    assert labels.groupby(["occupation_code", "endpoint"]).size().eq(4).all()
    scores = pd.read_csv(out / "scores.csv", dtype={"occupation_code": str})
    assert len(scores) == 10
    check = labels.groupby(["occupation_code", "endpoint"]).score.mean().sort_index()
    got = scores.set_index(["occupation_code", "endpoint"]).score.sort_index()
    assert (abs(check - got) < 1e-12).all()
    combined = pd.read_parquet(out / "combined.parquet")
    assert len(combined) == 5 and (combined.n_models == 2).all()
    assert set(pd.read_csv(out / "composite.csv").category) == {"NRCA", "NRCI", "RC", "RM", "NRMP"}

    exp = runner.invoke(APP, ["export", str(tmp_path / "cache.sqlite"), "--out", str(tmp_path / "exp")])
    assert exp.exit_code == 0, exp.output
    calls = pd.read_parquet(tmp_path / "exp" / "cache_calls.parquet")
    assert len(calls) == 60 and calls.raw_response.notna().all()
    # one failed attempt per call of the two faulty occupations: 2 x 2 endpoints x (4 + 2 composite) repeats
    attempts = pd.read_csv(tmp_path / "exp" / "cache_attempts.csv")
    assert len(attempts) == 2 * 2 * (4 + 2)
    assert sorted(set(attempts.outcome)) == ["http_429", "malformed_response"]  # a truncated body is not an answer

    rerun = runner.invoke(APP, ["run", str(cfg), "--no-progress"])
    assert "cached 60, ok 0" in rerun.output and "requests 0" in rerun.output

    assert all(r.authorized for r in server.log)  # the key was sent...
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name.startswith("cache.sqlite") for p in files) and len(files) > 10
    for p in files:  # ...and written nowhere
        assert SECRET.encode() not in p.read_bytes(), p
    for text in (res.output, exp.output, rerun.output):
        assert SECRET not in text


def test_progress_bar_shows_counts(server, tmp_path):
    cfg = write_config(tmp_path, [endpoint(server)], repeats=1)
    res = runner.invoke(APP, ["run", str(cfg)])
    assert res.exit_code == 0, res.output
    assert "5/5" in res.output and "tokens" in res.output and "failed 0" in res.output


def test_bad_config_exits_with_a_clear_message(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("endpoints:\n  - {name: a, base_url: 'http://x', model: m, max_concurrency: 0}\n")
    res = runner.invoke(APP, ["run", str(p)])
    assert res.exit_code == 2
    assert "endpoints.0.max_concurrency" in res.output and "bad.yaml" in res.output


def test_templates_and_occupations_commands(tmp_path):
    res = runner.invoke(APP, ["templates"])
    assert res.exit_code == 0 and res.output.count("\n") == 6
    res = runner.invoke(APP, ["occupations", "--out", str(tmp_path / "o.csv")])
    assert "1631 fine occupations" in res.output and "header_as_fine: 1" in res.output
    assert len(pd.read_csv(tmp_path / "o.csv")) == 1631


def test_wrong_key_exits_1_and_still_writes_tables(server, tmp_path, monkeypatch):
    monkeypatch.setenv("SCORING_TEST_KEY", "sk-wrong")
    cfg = write_config(tmp_path, [endpoint(server, max_concurrency=1)], repeats=1)
    res = runner.invoke(APP, ["run", str(cfg), "--no-progress"])
    assert res.exit_code == 1 and "HTTP 401" in res.output and "sk-wrong" not in res.output
    assert (tmp_path / "out" / "manifest.json").exists()


def test_bench_runs_and_reports_every_level():
    from benchmarks.bench_scoring import run_benchmark

    lines = run_benchmark(calls=60, concurrency=[1, 8], hit_calls=200)
    assert len(lines) == 4 and "concurrency   8: raw" in lines[2] and lines[3].startswith("cache hit:")


def test_gbk_occupations_csv_is_a_located_one_line_error(server, tmp_path):
    from .test_occupations import GBK_CSV

    (tmp_path / "occ.csv").write_bytes(GBK_CSV.encode("gbk"))
    cfg = write_config(tmp_path, [endpoint(server)], repeats=1, occupations={
        "source": "csv", "path": "occ.csv", "columns": {"code": "code", "title": "title", "tasks": "tasks"}})
    res = runner.invoke(APP, ["run", str(cfg), "--dry-run"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.stderr.splitlines() == [
        f"error: {tmp_path / 'occ.csv'}: line 2, column 5: not valid utf-8 (byte 0xc8); the file looks gbk-encoded:"
        " read it with encoding gbk (--encoding gbk, or occupations.encoding in the run config)"]
    res = runner.invoke(APP, ["run", str(cfg), "--dry-run", "--encoding", "gbk"])
    assert res.exit_code == 0 and "calls planned: 2" in res.stdout
    res = runner.invoke(APP, ["run", str(cfg), "--dry-run", "--encoding", "klingon"])
    assert res.exit_code == 2 and res.stderr.startswith("error: --encoding: unknown encoding 'klingon'")
    ocd = write_config(tmp_path, [endpoint(server)], repeats=1)
    res = runner.invoke(APP, ["run", str(ocd), "--dry-run", "--encoding", "gbk"])
    assert res.exit_code == 2 and "--encoding applies to occupations.source: csv" in res.stderr
