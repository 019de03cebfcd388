"""The fast paths of `process` against slow, obviously right ones: the hashed dedup key (forced
collisions fall back to the exact order), batch boundaries of the stream, the exact in-memory
medians (ties, even counts, overlapping periods) against pandas and DuckDB's median, and the
quarantine's round trip of failing rows through text."""
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import empirics.postings.process as proc
from benchmarks.references import postings as reference
from empirics.postings.process import ProcessConfig, grouped_medians, process
from empirics.postings.schema import default_rules

from .conftest import assert_same_cells

COUNTS = ("rows_read", "quarantined", "quarantine_by_reason", "valid_rows", "heads", "duplicates", "rows_without_firm")


@pytest.mark.parametrize("key", ["hash(firm, _ci) % 3", "0::UBIGINT"])
def test_forced_key_collisions_fall_back_to_the_exact_order(synth_codes, processed_codes, tmp_path, monkeypatch, key):
    """With a key that collides all the time the clash check fires and the exact order gives the
    same heads as the 64-bit hash (and as the pandas reference)."""
    monkeypatch.setattr(proc, "_DEDUP_KEY", key)
    res = process(synth_codes["dir"] / "postings", tmp_path / "o", ProcessConfig(match_titles=False, threads=2))
    assert res.report["dedup_key_clashes"] > 0
    assert processed_codes.report["dedup_key_clashes"] == 0
    for k in COUNTS:
        assert res.report[k] == processed_codes.report[k], k
    assert_same_cells(res.occupations, processed_codes.occupations)


def _postings(rows):
    cols = ["posting_id", "posting_date", "firm", "occupation_code", "n_recruits", "wage_min", "wage_max", "experience_min_years", "education"]
    df = pd.DataFrame(rows, columns=cols)
    df["title"] = "t"
    df["wage_unit"] = np.where(df["wage_min"].notna(), "month", None)
    return df


@pytest.mark.parametrize("batch_rows", [1 << 20, 1, 2])
def test_interleaved_pairs_under_one_key_match_the_reference(tmp_path, monkeypatch, batch_rows):
    """Two firms of one occupation (and a row without a firm) whose postings interleave in time:
    under a constant key the rows of both pairs sort together, so a row's predecessor can be the
    other firm's row; the clash check must catch this, and the result equal the reference. Runs of
    one pair on one day (the head is the smallest id) also come one or two rows per batch."""
    monkeypatch.setattr(proc, "_BATCH_ROWS", batch_rows)
    a, b = "2-02-10-03", "2-02-10-04"
    rows = [
        ("1", "2019-01-01", "A", a, 1, 5000.0, 6000.0, 1.0, "本科"),
        ("2", "2019-01-10", "B", a, 2, 7000.0, 7000.0, 2.0, "大专"),
        ("3", "2019-01-20", "A", a, 3, 4000.0, 4000.0, None, None),
        ("4", "2019-02-15", "B", a, 4, 9000.0, 9500.0, 3.0, "硕士"),  # 36 days after B's last: a head
        ("5", "2019-02-16", "A", a, 1, None, None, None, None),  # 27 days after A's last: a duplicate
        ("6", "2019-02-16", None, a, 2, 3000.0, 3000.0, 0.0, None),
        ("7", "2019-02-16", "A", b, 1, 3100.0, 3100.0, 0.0, None),  # same firm, other occupation
        ("8", "2019-02-16", "A", a, 5, 8000.0, 8000.0, 1.0, None),  # same day as 5: a duplicate too
        ("9", "2019-06-01", "C", a, 7, 6000.0, 6000.0, 4.0, "本科"),  # two heads-to-be on one day: the
        ("10", "2019-06-01", "C", a, 1, 9000.0, 9000.0, 5.0, "博士"),  # smaller id as text ("10") is the head
    ]
    p = tmp_path / "p.parquet"
    _postings(rows).to_parquet(p)
    _, ref_heads, ref_occ, _ = reference.run(p, default_rules(), ProcessConfig(match_titles=False))
    base = process(p, tmp_path / "base", ProcessConfig(match_titles=False))
    monkeypatch.setattr(proc, "_DEDUP_KEY", "0::UBIGINT")
    forced = process(p, tmp_path / "forced", ProcessConfig(match_titles=False))
    assert forced.report["dedup_key_clashes"] > 0
    for res in (base, forced):
        assert res.report["heads"] == len(ref_heads) == 6 and res.report["duplicates"] == 4
        assert_same_cells(res.occupations, ref_occ)


def test_batch_boundaries_do_not_change_results(synth_codes, processed_codes, tmp_path, monkeypatch):
    """The stream in batches of 997 rows (pairs and runs of duplicates cut across batches) gives
    the same result as in batches of 2^20 (the whole test input in one)."""
    monkeypatch.setattr(proc, "_BATCH_ROWS", 997)
    res = process(synth_codes["dir"] / "postings", tmp_path / "o", ProcessConfig(match_titles=False, threads=2))
    for k in COUNTS:
        assert res.report[k] == processed_codes.report[k], k
    assert_same_cells(res.occupations, processed_codes.occupations)


@pytest.mark.parametrize("batch_rows", [997, 1 << 20])
def test_worker_threads_give_the_inline_result_to_the_last_bit(synth_codes, processed_codes, tmp_path, monkeypatch, batch_rows):
    """The heads' sums on the worker thread (with one batch in flight at most, so the threads take
    turns, and with many) and the medians on their own thread give the same tables, bit for bit,
    as everything inline: batches are summed one at a time in stream order either way."""
    monkeypatch.setattr(proc, "_BATCH_ROWS", batch_rows)
    cfg = ProcessConfig(match_titles=False, threads=2)
    monkeypatch.setattr(proc, "_PENDING_BATCHES", 1)
    one = process(synth_codes["dir"] / "postings", tmp_path / "one", cfg)
    monkeypatch.setattr(proc, "_PENDING_BATCHES", 64)
    many = process(synth_codes["dir"] / "postings", tmp_path / "many", cfg)
    monkeypatch.setattr(proc, "_THREADS", False)
    inline = process(synth_codes["dir"] / "postings", tmp_path / "inline", cfg)
    for res in (one, many):
        for k in (*COUNTS, "recruits_imputed", "heads_outside_periods"):
            assert res.report[k] == inline.report[k] == processed_codes.report[k], k
        pd.testing.assert_frame_equal(res.occupations, inline.occupations, check_exact=True)
        pd.testing.assert_frame_equal(res.growth, inline.growth, check_exact=True)
    assert_same_cells(inline.occupations, processed_codes.occupations)


def test_duckdb_medians_equal_in_memory_medians(synth_codes, processed_codes, tmp_path, monkeypatch):
    """Inputs too large for the in-memory medians go through DuckDB's median, one level at a time
    (the per-(level, period) split is tested in test_dedup_aggregate): the same values to the last
    bit, and everything else unchanged."""
    monkeypatch.setattr(proc, "_GROUPED_MEDIAN_BYTES_PER_VALUE", 10**12)
    res = process(synth_codes["dir"] / "postings", tmp_path / "o", ProcessConfig(match_titles=False, threads=2))
    assert_same_cells(res.occupations, processed_codes.occupations)


def _pandas_medians(wage, code, year, periods):
    h = pd.DataFrame({"monthly": wage, "code": code, "year": year})
    rows = []
    for label, a, b in periods:
        s = h[(h["year"] >= a) & (h["year"] <= b)]
        for lv, k in proc.LEVEL_CHARS.items():
            m = s.groupby(s["code"].str[:k])["monthly"].median()
            rows += [(lv, pfx, label, v) for pfx, v in m.items()]
    return pd.DataFrame(rows, columns=["level", "prefix", "period", "median_wage"])


@pytest.mark.parametrize("seed", [0, 1])
def test_grouped_medians_exact_against_pandas(seed):
    """Many ties (few distinct wages), groups of one and of two, even and odd counts, overlapping
    periods, a period without data, years outside every period, and codes sharing prefixes."""
    rng = np.random.default_rng(seed)
    codes = np.array(sorted({f"{a}-{b:02d}-{c:02d}-{d:02d}" for a, b, c, d in rng.integers(1, 4, (60, 4))}), dtype=object)
    n = 5000
    ci = rng.integers(0, len(codes), n)
    year = rng.integers(2015, 2024, n)
    wage = np.round(rng.lognormal(8.5, 0.6, n) / 500) * 500 + rng.choice([0.0, 0.1, 1 / 3], n)  # ties, and values off the grid
    ci[:3], year[:3] = 0, 2016  # a group of three equal codes in one year
    periods = (("2016", 2016, 2016), ("2017", 2017, 2017), ("2016-2018", 2016, 2018), ("2018-2020", 2018, 2020),
               ("2030", 2030, 2030), ("all", 2000, 2099))
    got = grouped_medians(wage, ci, year, codes, periods)
    want = _pandas_medians(wage, codes[ci], year, periods)
    m = got.merge(want, on=["level", "prefix", "period"], how="outer", suffixes=("", "_pd"), indicator=True)
    assert (m["_merge"] == "both").all()
    np.testing.assert_array_equal(m["median_wage"].to_numpy(), m["median_wage_pd"].to_numpy())


def test_grouped_medians_small_cases_and_errors():
    codes = np.array(["1-01-01-01", "1-01-01-02", "2-01-01-01"], dtype=object)
    got = grouped_medians(np.array([3.0, 1.0, 2.0, 10.0]), np.array([0, 0, 1, 2]), np.array([2020, 2020, 2021, 2020]), codes,
                          (("2020", 2020, 2020), ("both", 2020, 2021))).set_index(["level", "prefix", "period"])["median_wage"]
    assert got[("fine", "1-01-01-01", "2020")] == 2.0  # (1 + 3) / 2
    assert got[("large", "1", "both")] == 2.0 and got[("large", "1", "2020")] == 2.0
    assert ("fine", "1-01-01-02", "2020") not in got.index  # no wage there: no row
    assert got[("large", "2", "both")] == 10.0
    assert grouped_medians(np.empty(0), np.empty(0, int), np.empty(0, int), codes, (("a", 1, 2),)).empty
    with pytest.raises(ValueError, match="sorted"):
        grouped_medians(np.array([1.0]), np.array([0]), np.array([2020]), codes[::-1], (("a", 1, 2),))


def test_quarantine_keeps_failing_rows_exactly(tmp_path):
    """Failing rows travel through the sort as text and come back with their input types and
    values: doubles (infinite, NaN, many digits), dates and awkward strings."""
    code = default_rules().known_codes[0]
    t = pa.table({
        "posting_id": ["q1", "q2", "q3", "ok"],
        "posting_date": pa.array([None, "2019-01-01", "2019-01-01", "2019-01-01"]),
        "firm": ['F "quoted"\n\\ 中文 😀', None, "", "F"],
        "title": ["t", "t", "  ", "t"],
        "occupation_code": [code, code, code, code],
        "n_recruits": [1.0, float("inf"), 0.1 + 0.2, 2.0],
        "wage_min": [float("nan"), 1e-300, 1234.5678901234567, 5000.0],
        "wage_max": [None, 2.5e6, None, 6000.0],
        "wage_unit": ["month", "month", "月", "month"],
        "city": pa.array([None, "x", "[1, 2]", "y"]),
        "extra": [1, 2, 3, 4],  # not a schema column: not kept, as before
    })
    pq.write_table(t, tmp_path / "p.parquet")
    res = process(tmp_path / "p.parquet", tmp_path / "o", ProcessConfig(match_titles=False, medians=False))
    q = pd.read_parquet(tmp_path / "o" / "quarantine.parquet").set_index("posting_id")
    src = t.to_pandas().set_index("posting_id")
    assert sorted(q.index) == ["q1", "q2", "q3"] and res.report["valid_rows"] == 1
    for c in ("posting_date", "firm", "title", "occupation_code", "wage_unit", "city"):
        for i in q.index:
            a, b = q.loc[i, c], src.loc[i, c]
            assert (pd.isna(a) and pd.isna(b)) or a == b, (i, c, a, b)
    for c in ("n_recruits", "wage_min", "wage_max"):
        assert q[c].dtype == np.float64
        np.testing.assert_array_equal(q.loc[["q1", "q2", "q3"], c].to_numpy(), src.loc[["q1", "q2", "q3"], c].to_numpy())
    assert q.loc["q1", "reason"] == "unparseable_date" and q.loc["q3", "reason"] == "empty_title"
    assert math.isinf(q.loc["q2", "n_recruits"])


def test_csv_tables_written_as_pandas_writes_them(processed_codes, tmp_path):
    """The occupations and growth tables go to CSV through DuckDB: the text is pandas' own
    ``to_csv`` (missing values empty, floats in shortest round-trip form), and so is a small
    table with the awkward cases."""
    occ = processed_codes.occupations
    assert occ.isna().any().any()  # missing values are among the cases checked
    for name, df in [("occupations", occ), ("growth", processed_codes.growth)]:
        assert (processed_codes.out_dir / f"{name}.csv").read_text() == df.to_csv(index=False)
    odd = pd.DataFrame({"x": [1.0, np.nan, 1e20, 1e-7, 0.1 + 0.2, -0.0, 2.0**-1074], "s": ["a", None, "b,c", 'q"', "π", "1", "x y"],
                        "n": np.arange(7)})
    proc._write_csv(odd, tmp_path / "odd.csv")
    assert (tmp_path / "odd.csv").read_text() == odd.to_csv(index=False)
