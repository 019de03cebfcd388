import json

import numpy as np
import pandas as pd
import pytest


def assert_same_cells(a: pd.DataFrame, b: pd.DataFrame):
    """Occupation tables agree: integer columns and medians identical, other floats up to summation order."""
    a = a.set_index(["level", "code", "period"]).sort_index()
    b = b.set_index(["level", "code", "period"]).sort_index()
    assert a.index.equals(b.index)
    for c in a.columns:
        if pd.api.types.is_integer_dtype(a[c]):
            assert (a[c].to_numpy() == b[c].to_numpy()).all(), c
        elif c == "median_wage":  # an order statistic: no rounding at all
            np.testing.assert_array_equal(a[c].to_numpy(), b[c].to_numpy(), err_msg=c)
        else:
            # sums of floating-point numbers in a different order agree to rounding; the premium's
            # standard error comes from SSR = Syy - b Sxy, whose cancellation magnifies that rounding
            # (where the fit is nearly perfect SSR is itself rounding noise, good to ~sqrt(eps) absolutely)
            rtol, atol = (1e-9, 1e-7) if c == "experience_premium_se" else (1e-12, 1e-15)
            np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=rtol, atol=atol, err_msg=c)


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
