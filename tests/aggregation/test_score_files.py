"""Strict validation of `empirics report --scores` files, --encoding, partial coverage and --require-complete."""
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from empirics.aggregation.cli import register
from empirics.aggregation.errors import EncodingError, InputError
from empirics.aggregation.report import KNOWN_MODELS, ReportConfig, build_report, load_scores

FINE = ["2-02-01-01", "2-02-01-02", "4-01-02-01"]


@pytest.fixture(scope="module")
def cli():
    app = typer.Typer()
    register(app)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(app, ["empirics", "report", "--no-us", "--n-boot", "20", *map(str, args)])

    return invoke


@pytest.fixture(scope="module")
def fine():
    from empirics.aggregation.data import ocd_codes

    codes = set(ocd_codes("fine"))
    assert set(FINE) <= codes
    return codes


def _single_error(res) -> str:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and res.exception is None or isinstance(res.exception, SystemExit)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    return lines[0]


GOOD = "code,model,score\n2-02-01-01,glm,0.5\n2-02-01-02,gpt4,0.25\n"


@pytest.mark.parametrize("text,line,column,words", [
    (GOOD + "4-01-02-01,glm,1.7\n", 4, "score", ["score 1.7 is outside [0, 1]"]),
    (GOOD + "4-01-02-01,glm,-0.2\n", 4, "score", ["outside [0, 1]"]),
    (GOOD + "4-01-02-01,glm,170\n", 4, "score", ["score 170"]),
    (GOOD + "4-01-02-01,glm,inf\n", 4, "score", ["outside"]),
    (GOOD + "4-01-02-01,glm,high\n", 4, "score", ["'high' is not a number"]),
    (GOOD + "4-01-02-01,GLM ,0.5\n", 4, "model", ["'GLM '", "did you mean 'glm'", "known names: glm, internlm, gpt4"]),
    (GOOD + "4-01-02-01,,0.5\n", 4, "model", ["missing model name"]),
    (GOOD + ",glm,0.5\n", 4, "code", ["missing occupation code"]),
    (GOOD + "2-02-01-77,glm,0.5\n\n2-02-01-78,glm,0.5\n", 4, "code", ["'2-02-01-77' is not in the OCD 2022 list", "2 rows in all, lines 4, 6"]),
    (GOOD + "2-02,glm,0.5\n", 4, "code", ["not an OCD 2022 fine code", "--level"]),
    (GOOD + "4-01-02-01,qwen,0.5\n4-01-02-01,Qwen,0.5\n", 5, "model", ["'Qwen' differs from 'qwen' (line 4)"]),
    ("code,model,score,weight\n2-02-01-01,glm,0.5,1\n2-02-01-02,glm,0.5,-1\n", 3, "weight", ["'-1' is not a finite non-negative number"]),
    ("occupation_code,model,score\n2-02-01-01,glm,0.5\n2-02-01-02,glm,2\n", 3, "score", ["outside"]),
])
def test_bad_score_rows_are_located(cli, tmp_path, text, line, column, words):
    f = tmp_path / "scores.csv"
    f.write_text(text, encoding="utf-8")
    msg = _single_error(cli("--scores", f, "-o", tmp_path / "out"))
    assert f"{f}, line {line}, column {column!r}: " in msg or (column == "score" and f"line {line}, column 'score'" in msg), msg
    for w in words:
        assert w in msg, msg
    assert not (tmp_path / "out" / "report.md").exists()


@pytest.mark.parametrize("content,words", [
    (b"", ["the file is empty"]),
    (b"code,model,score\n", ["no data rows"]),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), ["not a text file"]),
    (b"code;model;score\n2-02-01-01;glm;0.5\n", ["line 1: missing column(s)", "a score file has columns code"]),
    (b"code,model,score\n2-02-01-01,glm,0.5,9\n", ["line 2: 4 field(s), but the header (line 1) has 3"]),
    (b"code,model,scor\n2-02-01-01,glm,0.5\n", ["'score' (close: 'scor')"]),
])
def test_bad_score_files(cli, tmp_path, content, words):
    f = tmp_path / "s.csv"
    f.write_bytes(content)
    msg = _single_error(cli("--scores", f, "-o", tmp_path / "out"))
    assert str(f) in msg
    for w in words:
        assert w in msg, msg


def test_missing_file(cli, tmp_path):
    msg = _single_error(cli("--scores", tmp_path / "nope.csv", "-o", tmp_path / "out"))
    assert "scores file not found" in msg and "nope.csv" in msg


def test_near_miss_model_suggests_known_name(tmp_path):
    f = tmp_path / "s.csv"
    f.write_text(GOOD + "4-01-02-01,Gpt4,0.5\n")
    with pytest.raises(InputError, match=r"line 4, column 'model': model 'Gpt4' differs from the known name 'gpt4'.*did you mean 'gpt4'"):
        load_scores(f)


def test_clean_new_model_names_are_accepted_and_empty_scores_counted(tmp_path):
    f = tmp_path / "s.csv"
    f.write_text(GOOD + "4-01-02-01,qwen2.5-72b,0.5\n4-01-02-01,glm-4,0.75\n4-01-02-01,glm,\n2-02-01-01,gpt4,NaN\n")
    sf = load_scores(f)
    assert sf.new_models == ("qwen2.5-72b",)  # glm-4 is the scoring step's example model id
    assert sf.missing_score_lines == (6, 7) and sf.n_rows == 6 and len(sf.table) == 4
    assert sf.table["line"].tolist() == [2, 3, 4, 5]


def test_known_models_cover_the_scoring_example_endpoints():
    from pathlib import Path

    import yaml

    p = Path(__file__).resolve().parents[2] / "empirics" / "scoring" / "endpoints.example.yaml"
    models = [e["model"] for e in yaml.safe_load(p.read_text())["endpoints"]]
    named = {"gpt-4", "glm-4", "internlm2.5-latest"}
    assert named <= set(models) and named <= set(KNOWN_MODELS)
    for m in models:  # every example model id passes validation
        f = Path(__import__("tempfile").mkdtemp()) / "s.csv"
        f.write_text(f"code,model,score\n2-02-01-01,{m},0.5\n")
        assert load_scores(f).table["model"].tolist() == [m]


def _gbk_file(tmp_path):
    f = tmp_path / "gbk.csv"
    f.write_bytes("code,model,score,title\n2-02-01-01,glm,0.5,工程技术人员\n2-02-01-02,glm,0.25,机械工程技术人员\n".encode("gbk"))
    return f


def test_gbk_file_needs_encoding(cli, tmp_path):
    f = _gbk_file(tmp_path)
    msg = _single_error(cli("--scores", f, "-o", tmp_path / "a"))
    assert f"{f}, line 2: not utf-8 text" in msg and "GBK" in msg and "--encoding gbk" in msg
    with pytest.raises(EncodingError):
        load_scores(f)
    assert load_scores(f, encoding="gbk").table["code"].tolist() == ["2-02-01-01", "2-02-01-02"]
    assert load_scores(f, encoding="gb18030").n_rows == 2
    res = cli("--scores", f, "--encoding", "gbk", "-o", tmp_path / "b")
    assert res.exit_code == 0, res.output
    assert "partial coverage" in res.stderr
    bad = cli("--scores", f, "--encoding", "latin-1", "-o", tmp_path / "c")
    assert bad.exit_code == 2


def test_latin1_file_is_named(tmp_path):
    f = tmp_path / "l.csv"
    f.write_bytes("code,model,score,note\n2-02-01-01,glm,0.5,café\n".encode("latin-1"))
    with pytest.raises(EncodingError, match="line 2: not utf-8 text.*Latin-1"):
        load_scores(f)


def _partial_scores(tmp_path, mediums, per_medium=60):
    from empirics.aggregation.data import ocd_codes

    fine = ocd_codes("fine")
    codes = [c for m in mediums for c in [x for x in fine if x.startswith(m + "-")][:per_medium]]
    rows = [(c, m, ((i * (k + 2)) % 5) / 4) for i, c in enumerate(codes) for k, m in enumerate(("glm", "internlm", "gpt4"))]
    rows.append((codes[0], "glm", None))  # an invalid answer
    f = tmp_path / "partial.csv"
    pd.DataFrame(rows, columns=["code", "model", "score"]).to_csv(f, index=False)
    return f, codes


def test_partial_coverage_reports_what_it_can(cli, tmp_path):
    # a few hundred fine occupations from nine medium categories in large categories 2, 3, 4 and 6
    f, codes = _partial_scores(tmp_path, ["2-02", "2-06", "3-01", "4-01", "4-03", "4-04", "6-04", "6-05", "6-18"])
    assert 200 <= len(codes) <= 600
    res = cli("--scores", f, "-o", tmp_path / "r")
    assert res.exit_code == 0, res.output
    assert "note: partial coverage" in res.stderr
    out = tmp_path / "r"
    rep = (out / "report.md").read_text()
    assert "**Partial coverage.** 9 of the paper's 63 medium categories have a score" in rep
    assert "- 2-01 Scientific Researchers" in rep and "- 2-02 " not in rep
    assert "Large categories with no scored medium category: 5 " in rep
    assert f"Scored fine codes in large categories 2-6: {len(codes):,} of" in rep
    assert "1 with an empty score (invalid LLM answers) left out (lines" in rep
    assert "Partial coverage: the scored categories hold" in rep
    assert (out / "table1.md").is_file() and "## Fine categories" in (out / "table1.md").read_text()
    ind = (out / "industry_scores.md").read_text()
    assert "coverage" in ind
    # every large category 2, 3, 4, 6 has a scored medium category: the China section runs
    assert (out / "china" / "china_slopes.md").is_file() and "Within industries the slope" in rep
    import json

    head = json.loads((out / "provenance.json").read_text())["headline"]
    assert head["complete"] is False and "2-01" in head["coverage"]["missing_medium"]
    assert head["coverage"]["empty_scores_dropped"] == 1


def test_partial_coverage_without_a_post_group_skips_china(tmp_path):
    f, _ = _partial_scores(tmp_path, ["2-02", "3-01", "4-01"], per_medium=80)
    res = build_report(ReportConfig(out_dir=str(tmp_path / "r"), scores=str(f), n_boot=20, us=False))
    assert "China" in res.skipped and "['6']" in res.skipped["China"]
    rep = (res.out_dir / "report.md").read_text()
    assert "## China: official wages of post groups\n\nSkipped: large categories ['6']" in rep
    assert not (res.out_dir / "china").exists()
    assert (res.out_dir / "table1.md").is_file() and (res.out_dir / "industry_scores.md").is_file()


def test_require_complete_fails_naming_what_is_missing(cli, tmp_path):
    f, _ = _partial_scores(tmp_path, ["2-02", "3-01", "4-01"], per_medium=20)
    msg = _single_error(cli("--scores", f, "--require-complete", "-o", tmp_path / "r"))
    assert "--require-complete" in msg and "2-01 Scientific Researchers" in msg and "large categories ['5', '6']" in msg
    assert not (tmp_path / "r" / "report.md").exists()


def test_bundled_table2_is_complete(cli, tmp_path):
    res = cli("--require-complete", "-o", tmp_path / "r")
    assert res.exit_code == 0, res.output
    assert "Coverage of the scores" not in (tmp_path / "r" / "report.md").read_text()
