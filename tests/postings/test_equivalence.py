"""Results do not depend on how the input is split into files, nor on Parquet against CSV."""
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from empirics.postings.process import ProcessConfig, process

from .conftest import assert_same_cells


@pytest.fixture(scope="module")
def one_file(synth_codes, tmp_path_factory):
    d = tmp_path_factory.mktemp("onefile")
    t = pa.concat_tables([pq.read_table(f) for f in synth_codes["files"]])
    # a different row order as well
    t = t.take(np.random.default_rng(0).permutation(t.num_rows))
    pq.write_table(t, d / "all.parquet")
    return d / "all.parquet"


def test_one_file_equals_many(synth_codes, processed_codes, one_file, tmp_path):
    assert len(synth_codes["files"]) > 1
    res = process(one_file, tmp_path / "o", ProcessConfig(match_titles=False, threads=2))
    for k in ("rows_read", "quarantined", "valid_rows", "heads", "duplicates", "quarantine_by_reason"):
        assert res.report[k] == processed_codes.report[k], k
    assert_same_cells(res.occupations, processed_codes.occupations)


def test_csv_equals_parquet(one_file, processed_codes, tmp_path):
    pd.read_parquet(one_file).to_csv(tmp_path / "all.csv", index=False)
    res = process(tmp_path / "all.csv", tmp_path / "o", ProcessConfig(match_titles=False, threads=2))
    assert res.report["quarantine_by_reason"] == processed_codes.report["quarantine_by_reason"]
    assert_same_cells(res.occupations, processed_codes.occupations)
