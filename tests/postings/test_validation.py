"""Every class of bad row is quarantined with the right reason; bad input gets clear errors."""
import pandas as pd
import pytest

from empirics.postings.errors import ConfigError, DataNotFoundError, InputError, PostingsError, SchemaError
from empirics.postings.process import ProcessConfig, process
from empirics.postings.schema import default_rules

GOOD = dict(posting_id="g", posting_date="2019-05-01", firm="F1", city="北京", title="会计", description="",
            occupation_code="2-06-03-00", n_recruits="2", wage_min="6000", wage_max="8000", wage_unit="month",
            education="本科", experience_min_years="1")

CASES = [
    ("non_numeric_field", {"wage_min": "面议"}),
    ("unparseable_date", {"posting_date": "2019-13-45"}),
    ("unparseable_date", {"posting_date": ""}),
    ("date_out_of_range", {"posting_date": "1970-01-01"}),
    ("empty_title", {"title": "   "}),
    ("invalid_occupation_code", {"occupation_code": "9-99-99-99"}),
    ("unknown_unit", {"wage_unit": "week"}),
    ("unknown_unit", {"wage_unit": ""}),
    ("wage_min_gt_max", {"wage_min": "9000", "wage_max": "8000"}),
    ("impossible_wage", {"wage_min": "-1", "wage_max": "8000"}),
    ("impossible_wage", {"wage_min": "100", "wage_max": "200"}),
    ("impossible_wage", {"wage_min": "50000000", "wage_max": "90000000", "wage_unit": "year"}),
    ("invalid_recruits", {"n_recruits": "0"}),
    ("invalid_recruits", {"n_recruits": "1.5"}),
    ("invalid_experience", {"experience_min_years": "-2"}),
    ("unmatched_title", {"occupation_code": "", "title": "!!!"}),
]


def _write(tmp_path, rows, name="postings.csv"):
    p = tmp_path / name
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


@pytest.fixture(scope="module")
def known_code():
    rules = default_rules()
    return rules.known_codes[500]


def test_each_bad_class_gets_its_reason(tmp_path, known_code):
    rows = []
    for i, (reason, change) in enumerate(CASES):
        r = {**GOOD, "occupation_code": known_code, **change, "posting_id": f"bad{i}", "firm": f"B{i}"}
        rows.append(r)
    good = [{**GOOD, "occupation_code": known_code, "posting_id": f"ok{i}", "firm": f"G{i}"} for i in range(3)]
    # valid variants that must not be quarantined: Chinese unit, one wage bound, missing wage, slash date
    good += [
        {**GOOD, "occupation_code": known_code, "posting_id": "ok_unit", "firm": "G9", "wage_unit": "元/天", "wage_min": "300", "wage_max": "400"},
        {**GOOD, "occupation_code": known_code, "posting_id": "ok_one", "firm": "G10", "wage_max": ""},
        {**GOOD, "occupation_code": known_code, "posting_id": "ok_none", "firm": "G11", "wage_min": "", "wage_max": "", "wage_unit": ""},
        {**GOOD, "occupation_code": known_code, "posting_id": "ok_slash", "firm": "G12", "posting_date": "2019/06/01"},
    ]
    p = _write(tmp_path, rows + good)
    res = process(p, tmp_path / "out", ProcessConfig(match_titles=True, medians=False))
    q = pd.read_parquet(tmp_path / "out" / "quarantine.parquet").set_index("posting_id")
    for i, (reason, _) in enumerate(CASES):
        assert q.loc[f"bad{i}", "reason"] == reason, (i, reason, q.loc[f"bad{i}", "reasons"])
        assert reason in q.loc[f"bad{i}", "reasons"].split(";")
    assert not any(i.startswith("ok") for i in q.index)
    r = res.report
    assert r["rows_read"] == len(rows) + len(good) == r["valid_rows"] + r["quarantined"]
    assert r["quarantined"] == len(CASES)
    # all input columns are kept, with the source file
    assert set(GOOD) <= set(q.columns) | {"posting_id"} and q["source_file"].str.endswith("postings.csv").all()
    assert q.loc["bad0", "wage_min"] == "面议"


def test_all_reasons_are_listed(tmp_path, known_code):
    row = {**GOOD, "occupation_code": known_code, "posting_date": "bad", "title": "", "n_recruits": "-1"}
    process(_write(tmp_path, [row]), tmp_path / "o", ProcessConfig(medians=False, match_titles=False))
    q = pd.read_parquet(tmp_path / "o" / "quarantine.parquet")
    assert q["reason"].iloc[0] == "unparseable_date"
    assert q["reasons"].iloc[0].split(";") == ["unparseable_date", "empty_title", "invalid_recruits"]


def test_missing_required_column_names_file_and_column(tmp_path):
    p = _write(tmp_path, [{k: v for k, v in GOOD.items() if k != "title"}])
    with pytest.raises(SchemaError, match=r"postings\.csv.*'title'"):
        process(p, tmp_path / "o")


def test_missing_optional_columns_read_as_missing(tmp_path, known_code):
    p = _write(tmp_path, [{"posting_date": "2020-01-02", "title": "会计", "occupation_code": known_code}])
    res = process(p, tmp_path / "o", ProcessConfig(medians=False))
    assert res.report["valid_rows"] == 1 and res.report["rows_without_firm"] == 1 and res.report["recruits_imputed"] == 1


def test_input_errors(tmp_path):
    with pytest.raises(DataNotFoundError, match="does not exist"):
        process(tmp_path / "nope.parquet", tmp_path / "o")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(InputError, match="unsupported file type"):
        process(tmp_path / "a.txt", tmp_path / "o")
    _write(tmp_path, [GOOD], "b.csv")
    pd.DataFrame([GOOD]).to_parquet(tmp_path / "c.parquet")
    with pytest.raises(InputError, match="mixes Parquet and CSV"):
        process([tmp_path / "b.csv", tmp_path / "c.parquet"], tmp_path / "o")
    with pytest.raises(ConfigError, match="growth period"):
        process(tmp_path / "b.csv", tmp_path / "o", ProcessConfig(growth=("2017-2019", "nope")))
    assert issubclass(SchemaError, PostingsError) and issubclass(InputError, ValueError)


def test_every_synthetic_junk_class_is_a_quarantine_reason():
    from empirics.postings.schema import REASONS
    from empirics.postings.synth import JUNK_CLASSES

    assert set(JUNK_CLASSES) <= set(REASONS)
    assert len(set(JUNK_CLASSES)) == len(JUNK_CLASSES)
