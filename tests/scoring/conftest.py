from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from benchmarks.references.fakeserver import FakeOpenAIServer

SECRET = "sk-test-4f9c2e7d1b8a6053-do-not-log"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def server():
    srv = FakeOpenAIServer(api_key=SECRET, hang_s=3.0).start()
    try:
        yield srv
    finally:
        srv.stop()


def endpoint(srv, name="a", model="m1", **kw):
    d = {"name": name, "base_url": srv.base_url, "model": model, "api_key_env": "SCORING_TEST_KEY",
         "max_concurrency": 4, "backoff_base_s": 0.0, "timeout_s": 5.0}
    d.update(kw)
    return d


def write_config(tmp_path: Path, endpoints: list[dict], **kw) -> Path:
    cfg = {"endpoints": endpoints, "occupations": {"codes": ["2-02-02-07", "2-03-01-00", "4-04-03-01",
                                                               "4-13-03-02", "6-20-03-01"]},
           "repeats": 2, "cache": "cache.sqlite", "output_dir": "out"}
    cfg.update(kw)
    p = tmp_path / "run.yaml"
    p.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return p


@pytest.fixture(autouse=True)
def _key_env(monkeypatch):
    monkeypatch.setenv("SCORING_TEST_KEY", SECRET)
