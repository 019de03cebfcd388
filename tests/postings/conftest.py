import json

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def synth_codes(tmp_path_factory):
    """60k synthetic postings, every valid posting with its occupation code (no title matching)."""
    from empirics.postings.synth import SynthConfig, generate

    out = tmp_path_factory.mktemp("synth_codes")
    cfg = SynthConfig(rows=60_000, seed=11, chunk_rows=20_000, missing_code_share=0.0)
    res = generate(cfg, out)
    return {"dir": out, "cfg": cfg, "truth": res.truth, "files": res.files}


@pytest.fixture(scope="session")
def processed_codes(synth_codes, tmp_path_factory):
    from empirics.postings.process import ProcessConfig, process

    out = tmp_path_factory.mktemp("processed_codes")
    res = process(synth_codes["dir"] / "postings", out, ProcessConfig(match_titles=False, threads=2))
    return res


@pytest.fixture(scope="session")
def truth_occ(synth_codes):
    return pd.read_csv(synth_codes["dir"] / "truth_occupations.csv", dtype={"code": str})


@pytest.fixture(scope="session")
def truth_json(synth_codes):
    return json.loads((synth_codes["dir"] / "truth.json").read_text(encoding="utf-8"))
