"""Row-level quarantine of unreadable CSV lines, --encoding, duplicate posting_ids (CSV == Parquet)
and the balance rows in = rows kept + rows quarantined."""
import json

import pandas as pd
import pytest

from empirics.postings.errors import ConfigError, InputError
from empirics.postings.process import ProcessConfig, process
from empirics.postings.schema import default_rules

from .test_validation import GOOD

NUM = ("n_recruits", "wage_min", "wage_max", "experience_min_years")


@pytest.fixture(scope="module")
def code():
    return default_rules().known_codes[500]


def _csv_bytes(rows, enc="utf-8"):
    return pd.DataFrame(rows).to_csv(index=False).encode(enc)


def _row(code, i, **kw):
    return {**GOOD, "occupation_code": code, "posting_id": f"p{i}", "firm": f"F{i}", **kw}


def _balanced(r):
    assert r["balance"]["ok"] and r["rows_in"] == r["valid_rows"] + r["quarantined"]
    assert r["rows_in"] == r["rows_read"] + r["rows_rejected_on_read"]
    assert r["quarantined"] == sum(r["quarantine_by_reason"].values())


def test_bad_bytes_and_long_line_quarantined_row_by_row(tmp_path, code):
    good = [_row(code, i) for i in range(4)]
    head, *lines = _csv_bytes(good).split(b"\n")[:-1]
    bad_bytes = _csv_bytes([_row(code, 90, title="会\xff计")], "utf-8").split(b"\n")[1]
    bad_bytes = bad_bytes.replace("会".encode(), b"\xff\xfe")  # not UTF-8
    long_line = _csv_bytes([_row(code, 91, description="x" * 3_000_000)]).split(b"\n")[1]
    wrong_fields = b"p92,2019-05-01,extra,fields,only"
    data = b"\n".join([head, lines[0], bad_bytes, lines[1], long_line, lines[2], wrong_fields, lines[3]]) + b"\n"
    p = tmp_path / "p.csv"
    p.write_bytes(data)
    res = process(p, tmp_path / "o", ProcessConfig(medians=False, match_titles=False))
    r = res.report
    _balanced(r)
    assert r["rows_in"] == 7 and r["valid_rows"] == 4 and r["rows_rejected_on_read"] == 3
    assert {k: v for k, v in r["quarantine_by_reason"].items() if v} == {"invalid_encoding": 1, "line_too_long": 1, "malformed_row": 1}
    q = pd.read_parquet(tmp_path / "o" / "quarantine.parquet").set_index("reason")
    # the bad byte's line (record 3, the header being 1) and its byte offset in the file
    enc = q.loc["invalid_encoding"]
    at = data.index(b"\xff")
    assert enc["source_line"] == 3 and enc["byte_offset"] == at
    assert f"line 3, column title, byte {at}" in enc["detail"] and str(p) in enc["detail"]
    assert q.loc["line_too_long", "source_line"] == 5 and q["source_file"].eq(str(p)).all()
    assert q.loc["malformed_row", "raw_line"].startswith("p92")
    # the same with a smaller limit: a 2,001-byte description is too long at 2,000
    short = [_row(code, 1), _row(code, 2, description="y" * 2001)]
    (tmp_path / "s.csv").write_bytes(_csv_bytes(short))
    r = process(tmp_path / "s.csv", tmp_path / "o2", ProcessConfig(medians=False, match_titles=False, max_line_bytes=2000)).report
    _balanced(r)
    assert r["quarantine_by_reason"]["line_too_long"] == 1 and r["valid_rows"] == 1


def test_gbk_file_with_encoding_option(tmp_path, code):
    rows = [_row(code, i, title="会计", city="北京", education="本科") for i in range(3)]
    data = _csv_bytes(rows, "gbk")
    head, *lines = data.split(b"\r\n" if b"\r\n" in data else b"\n")[:-1]
    bad = lines[1].replace("北京".encode("gbk"), b"\x81\x20")  # a GBK lead byte without its trail byte
    (tmp_path / "g.csv").write_bytes(b"\n".join([head, lines[0], bad, lines[2]]) + b"\n")
    # read as UTF-8, the GBK bytes are bad on every row: each row is quarantined, the run goes on
    r = process(tmp_path / "g.csv", tmp_path / "u", ProcessConfig(medians=False, match_titles=False)).report
    _balanced(r)
    assert r["quarantine_by_reason"]["invalid_encoding"] == 3 and r["valid_rows"] == 0
    res = process(tmp_path / "g.csv", tmp_path / "o", ProcessConfig(medians=False, match_titles=False, encoding="gbk"))
    r = res.report
    _balanced(r)
    assert r["valid_rows"] == 2 and r["quarantine_by_reason"]["invalid_encoding"] == 1
    q = pd.read_parquet(tmp_path / "o" / "quarantine.parquet")
    assert q["source_line"].tolist() == [3] and "line 3" in q["detail"].iloc[0] and q["source_file"].iloc[0] == str(tmp_path / "g.csv")
    e = res.occupations.query("level == 'fine' and period == '2019'")
    assert e["n_postings"].sum() == 2 and e["edu_bachelor"].iloc[0] == 1.0  # 本科 decoded
    # gb18030 reads the GBK file too; --encoding on Parquet input or an unknown one is an error
    assert process(tmp_path / "g.csv", tmp_path / "o3", ProcessConfig(medians=False, match_titles=False, encoding="gb18030")).report["valid_rows"] == 2
    pd.DataFrame(rows).to_parquet(tmp_path / "g.parquet")
    with pytest.raises(ConfigError, match="CSV input only"):
        process(tmp_path / "g.parquet", tmp_path / "o4", ProcessConfig(encoding="gbk"))
    with pytest.raises(ConfigError, match="latin-1"):
        process(tmp_path / "g.csv", tmp_path / "o5", ProcessConfig(encoding="latin-1"))
    # a header that is not UTF-8 is an error naming the file and line, with the option to use
    (tmp_path / "h.csv").write_bytes("posting_date,title,城市\n".encode("gbk"))
    with pytest.raises(InputError, match=r"h\.csv: line 1.*--encoding gbk"):
        process(tmp_path / "h.csv", tmp_path / "o6")


def _dup_rows(code):
    # the case: identical keys, different wages, one posting_id twice, same firm, code and day
    a = _row(code, 0, posting_id="X", firm="F", wage_min="4000", wage_max="5000")
    b = _row(code, 0, posting_id="X", firm="F", wage_min="9000", wage_max="9500")
    c = _row(code, 1, posting_id="Y", firm="G", wage_min="7000", wage_max="7000")
    d = _row(code, 2, posting_id="Y", firm="G", posting_date="bad")  # fails another rule: the valid one is kept
    e = _row(code, 3, posting_id="", firm="H", wage_min="3000", wage_max="3000")  # missing ids are never duplicates
    f = _row(code, 4, posting_id="", firm="H", wage_min="8000", wage_max="8000")  # same firm and day: a same-day duplicate
    return [a, b, c, d, e, f]


def test_duplicate_ids_flagged_and_csv_equals_parquet(tmp_path, code):
    rows = _dup_rows(code)
    results = {}
    for order in ("fwd", "rev"):
        rr = rows if order == "fwd" else rows[::-1]
        df = pd.DataFrame(rr)
        df.to_csv(tmp_path / f"{order}.csv", index=False)
        pq = df.replace("", None).astype({c: float for c in NUM})
        pq.to_parquet(tmp_path / f"{order}.parquet")
        for fmt in ("csv", "parquet"):
            res = process(tmp_path / f"{order}.{fmt}", tmp_path / f"o_{order}_{fmt}", ProcessConfig(medians=True, match_titles=False))
            results[order, fmt] = res
    ref = results["fwd", "csv"]
    r = ref.report
    _balanced(r)
    assert r["duplicate_posting_ids"]["ids"] == 2 and r["duplicate_posting_ids"]["rows_quarantined"] == 2
    assert r["quarantine_by_reason"]["duplicate_posting_id"] == 1 and r["quarantine_by_reason"]["unparseable_date"] == 1
    q = pd.read_parquet(tmp_path / "o_fwd_csv" / "quarantine.parquet").set_index("posting_id")
    assert q.loc["X", "reason"] == "duplicate_posting_id" and q.loc["X", "wage_min"] == "9000"  # the first by value is kept
    assert q.loc["Y", "reasons"] == "unparseable_date;duplicate_posting_id"
    fine = ref.occupations.query("level == 'fine' and period == '2019'").iloc[0]
    # heads: X (4500), Y (7000) and one H row (the 3000 one: missing ids, then the smaller wage)
    assert fine["n_postings"] == 3 and fine["mean_wage"] == pytest.approx((4500 + 7000 + 3000) / 3)
    for k, res in results.items():
        assert res.report["quarantine_by_reason"] == r["quarantine_by_reason"], k
        pd.testing.assert_frame_equal(res.occupations, ref.occupations, check_exact=True, obj=str(k))
        pd.testing.assert_frame_equal(res.growth, ref.growth, check_exact=True, obj=str(k))


def test_duplicate_ids_pandas_reference(tmp_path, code):
    from benchmarks.references import postings as reference

    rows = _dup_rows(code)[::-1]
    pd.DataFrame(rows).to_csv(tmp_path / "d.csv", index=False)
    cfg = ProcessConfig(match_titles=False)
    res = process(tmp_path / "d.csv", tmp_path / "o", cfg)
    parsed, heads, occ, growth = reference.run(tmp_path / "d.csv", default_rules(), cfg)
    assert parsed["reason"].value_counts().to_dict() == {k: v for k, v in res.report["quarantine_by_reason"].items() if v}
    assert sorted(heads["monthly"]) == [3000.0, 4500.0, 7000.0]
    a = res.occupations.set_index(["level", "code", "period"]).sort_index()
    b = occ.set_index(["level", "code", "period"]).sort_index()
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_balance_mismatch_is_an_error(tmp_path, code, monkeypatch):
    import empirics.postings.process as proc
    from empirics.postings.errors import AccountingError, PostingsError

    assert issubclass(AccountingError, PostingsError)
    pd.DataFrame([_row(code, 1)]).to_csv(tmp_path / "a.csv", index=False)
    real = proc._check_balance
    monkeypatch.setattr(proc, "_check_balance", lambda files, rows_in, *a: real(files, rows_in + 1, *a))
    with pytest.raises(AccountingError, match="rows in"):
        process(tmp_path / "a.csv", tmp_path / "o", ProcessConfig(medians=False, match_titles=False))


def test_cli_encoding_and_report(tmp_path, code):
    from typer.testing import CliRunner

    from llm_labor.cli import app

    rows = [_row(code, 1, title="会计"), _row(code, 2, occupation_code="", title="外卖骑手"),
            _row(code, 3, occupation_code="", title="Senior Software Engineer"), _row(code, 4, occupation_code="", title="中式烹调师")]
    (tmp_path / "g.csv").write_bytes(_csv_bytes(rows, "gbk"))
    out = tmp_path / "o"
    r = CliRunner().invoke(app, ["postings", "process", str(tmp_path / "g.csv"), "--out", str(out), "--encoding", "gbk", "--no-medians"])
    assert r.exit_code == 0, r.output
    assert "rows in 4 = kept 2 + quarantined 2" in r.output
    assert "titles matched: 1 of 3 postings (33.3%)" in r.output
    rep = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert rep["config"]["encoding"] == "gbk" and rep["provenance"]["parameters"]["encoding"] == "gbk"
    bad = CliRunner().invoke(app, ["postings", "process", str(tmp_path / "g.csv"), "--out", str(out), "--encoding", "ebcdic"])
    assert bad.exit_code == 2 and "error:" in bad.output
