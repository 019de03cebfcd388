"""The generator: seeded, chunked, valid configuration; the CLI end to end on a small set."""
import hashlib
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from empirics.postings.errors import ConfigError
from empirics.postings.synth import SynthConfig, _occupations, _title_pools, generate


def _digest(files):
    h = hashlib.sha256()
    for f in files:
        h.update(pq.read_table(f).to_pandas().to_csv(index=False).encode())
    return h.hexdigest()


def test_seeded_and_chunked(tmp_path):
    cfg = SynthConfig(rows=8000, seed=3, chunk_rows=2000)
    a = generate(cfg, tmp_path / "a")
    b = generate(cfg, tmp_path / "b")
    c = generate(SynthConfig(rows=8000, seed=4, chunk_rows=2000), tmp_path / "c")
    assert _digest(a.files) == _digest(b.files) != _digest(c.files)
    n = [pq.read_metadata(f).num_rows for f in a.files]
    assert sum(n) == 8000 and len(n) > 3
    t = a.truth
    assert t["rows"] == t["junk_rows"] + t["originals"] + t["duplicates"] == 8000
    assert t["provenance"]["parameters"]["seed"] == 3 and t["provenance"]["package_version"]
    ex = pd.read_csv(tmp_path / "a" / "exposure.csv", dtype={"code": str})
    assert len(ex) == 1631 and ex["score"].between(0, 1).all()


@pytest.mark.parametrize("kw", [dict(rows=0), dict(duplicate_rate=1.0), dict(unit_probs=(1, 0, 0, 0.5)), dict(year_volume=(1, 1))])
def test_bad_config(kw, tmp_path):
    with pytest.raises(ConfigError):
        generate(SynthConfig(**kw), tmp_path)


def test_synthetic_titles_are_matched():
    """Titles built with the generator's noise are matched to their occupation most of the time."""
    from empirics.postings.titles import default_matcher

    cfg = SynthConfig(title_variants=2)
    rng = np.random.default_rng(5)
    occ = _occupations(cfg, rng)
    pools = _title_pools(occ, cfg, rng)
    codes = np.repeat(occ["code"].to_numpy(), pools.shape[1])
    r = default_matcher().match(pools.ravel().tolist())
    assert (r["fine_code"].to_numpy() == codes).mean() > 0.88
    assert (r["fine_code"].str[:1].to_numpy() == np.array([c[:1] for c in codes])).mean() > 0.93


def test_cli_end_to_end(tmp_path):
    from typer.testing import CliRunner

    from llm_labor.cli import app

    run = CliRunner().invoke
    r = run(app, ["postings", "synth", "--rows", "6000", "--seed", "1", "--out", str(tmp_path / "s"), "--chunk-rows", "3000"])
    assert r.exit_code == 0, r.output
    r = run(app, ["postings", "process", str(tmp_path / "s" / "postings"), "--out", str(tmp_path / "p")])
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "p" / "report.json").read_text())
    truth = json.loads((tmp_path / "s" / "truth.json").read_text())
    # besides the injected junk, only the titles below the matcher's confidence threshold (a few %)
    tm = rep["title_matching"]
    assert rep["rows_read"] == 6000 and rep["quarantined"] == truth["junk_rows"] + rep["quarantine_by_reason"]["unmatched_title"]
    assert rep["quarantine_by_reason"]["unmatched_title"] == sum(tm["postings_unmatched_by_reason"].values())
    assert tm["share_matched"] > 0.95 and rep["balance"]["ok"]
    assert "titles matched:" in r.output and "(balanced)" in r.output
    assert rep["titles_matched"] > 0 and rep["provenance"]["git_commit"]
    r = run(app, ["postings", "relate", str(tmp_path / "p"), "--exposure", str(tmp_path / "s" / "exposure.csv"),
                  "--out", str(tmp_path / "r"), "--level", "medium", "--n-boot", "50"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "r" / "moments.json").is_file()
    r = run(app, ["postings", "process", str(tmp_path / "missing"), "--out", str(tmp_path / "p2")])
    assert r.exit_code == 2 and "does not exist" in r.output
