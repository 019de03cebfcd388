"""The report command end to end on the bundled data, the figures and the CLI."""
import json

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from empirics.aggregation.errors import InputError
from empirics.aggregation.report import ReportConfig, build_report, md_table


@pytest.fixture(scope="module")
def report(tmp_path_factory, shared_dir):
    out = tmp_path_factory.mktemp("report")
    age = out / "age.csv"
    pd.DataFrame(
        {"age_group": ["16-19", "16-19", "20-24", "20-24", "20-24"], "industry": ["F", "C", "P", "C", "S"], "employment": [5, 5, 3, 6, 1]}
    ).to_csv(age, index=False)
    return build_report(ReportConfig(out_dir=str(out / "r"), n_boot=200, lang="both", age_table=str(age)))


def test_report_files_and_numbers(report):
    out = report.out_dir
    for name in ["report.md", "table1.md", "industry_scores.md", "us_summary.md", "age_groups.md", "provenance.json"]:
        assert (out / name).is_file(), name
    figs = sorted(p.name for p in (out / "figures").glob("*.png"))
    for n in ("01", "02", "06", "07", "10", "11", "12", "15"):
        assert any(f.startswith(f"figure{n}_") for f in figs), n
    t1 = (out / "table1.md").read_text()
    assert "0.5938***" in t1 and "0.4807***" in t1 and "0.3060*" in t1
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["package"] == "llm-labor" and prov["inputs"]["table2"]["sha256"]
    assert round(prov["headline"]["expert_vs_llm_r"], 2) == 0.65
    assert prov["headline"]["us_occ_level_max_abs_diff"] <= 1e-12


def test_png_carries_provenance(report):
    from PIL import Image

    with Image.open(report.out_dir / "figures" / "figure01_expert_vs_llm.png") as im:
        meta = json.loads(im.text["Description"])
    assert meta["command"] == "llm-labor empirics report"


def test_chinese_labels_render_without_missing_glyphs(tmp_path, table2):
    # pytest turns matplotlib's "Glyph ... missing from font" warning into an error
    from empirics.aggregation import plots

    s = table2.set_index("code").combined.head(10)
    labels = [plots.label(c, None, table2.set_index("code").title_zh[c], "zh") for c in s.index]
    plots.save(plots.bar_chart(s, labels, title="中类 职业暴露度"), tmp_path / "zh.png")
    assert (tmp_path / "zh.png").stat().st_size > 1000


def test_scores_file_path(tmp_path):
    # a fine-level tidy scores file as the scoring step would write it
    from empirics.aggregation.data import ocd_codes

    codes = [c for c in ocd_codes("fine") if c[0] in "23456"][::3]
    rows = [(c, m, ((i * (k + 2)) % 5) / 4) for i, c in enumerate(codes) for k, m in enumerate(("glm", "internlm", "gpt4"))]
    f = tmp_path / "scores.csv"
    # the scoring step's column name and an invalid answer (empty score) are accepted
    rows.append((codes[0], "glm", float("nan")))
    pd.DataFrame(rows, columns=["occupation_code", "model", "score"]).to_csv(f, index=False)
    res = build_report(ReportConfig(out_dir=str(tmp_path / "r"), scores=str(f), n_boot=50, us=False))
    t1 = (res.out_dir / "table1.md").read_text()
    assert "## Fine categories" in t1 and "## Small categories" in t1
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"code": ["2-01-01-77"], "model": ["glm"], "score": [0.5]}).to_csv(bad, index=False)
    with pytest.raises(InputError, match="bad.csv.*2-01-01-77"):
        build_report(ReportConfig(out_dir=str(tmp_path / "r2"), scores=str(bad), us=False))


def test_md_table():
    t = md_table(pd.DataFrame({"a": [0.12345, 2.0], "b": ["x|y", None]}, index=["r1", "r2"]), digits=2)
    assert t.splitlines() == ["|  | a | b |", "|---|---|---|", "| r1 | 0.12 | x/y |", "| r2 | 2 |  |"]


def test_cli_report_and_error(tmp_path):
    from empirics.aggregation.cli import register

    app = typer.Typer()
    register(app)
    register(typer.Typer())  # registering into another app leaves this one untouched
    assert [g.name for g in app.registered_groups] == ["empirics"]
    runner = CliRunner()
    res = runner.invoke(app, ["empirics", "report", "--out", str(tmp_path / "o"), "--n-boot", "20", "--no-us"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "o" / "report.md").is_file()
    res = runner.invoke(app, ["empirics", "report", "--out", str(tmp_path / "o2"), "--scores", str(tmp_path / "missing.csv")])
    assert res.exit_code == 2 and "scores file not found" in res.output
