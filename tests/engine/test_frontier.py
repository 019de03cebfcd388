"""Dated frontier paths of released language models (simulator.frontier) and path sweeps."""
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from simulator import ScenarioError, Status
from llm_labor.cli import app
from simulator.errors import FrontierError
from simulator.frontier import DATA, HOFFMANN, frontier_path, load_models, read_path_csv
from simulator.scenario import load_scenario
from simulator.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [ROOT / "scenarios" / "china_frontier.yaml", ROOT / "scenarios" / "world_frontier.yaml"]
runner = CliRunner()


@pytest.fixture(scope="module")
def models():
    return load_models()


@pytest.fixture(scope="module")
def table():
    """The bundled table read independently: language models with both figures, plain pandas."""
    raw = pd.read_csv(DATA)
    language = raw["Domain"].fillna("").str.split(",").map(lambda parts: "Language" in [p.strip() for p in parts])
    G = pd.to_numeric(raw["Parameters"], errors="coerce")
    N = pd.to_numeric(raw["Training dataset size (gradients)"], errors="coerce")
    out = pd.DataFrame({"date": pd.to_datetime(raw["Publication date"]), "G": G, "N": N,
                        "china": raw["Country (of organization)"].fillna("").str.contains(r"(?:^|,)\s*China\s*(?:,|$)")})
    return out[language & G.notna() & N.notna()]


def test_load_models_reads_the_bundled_table(models):
    assert len(models) == 282 and int(models["china"].sum()) == 66
    assert list(models.columns) == ["date", "model", "organization", "country", "G", "N", "china"]
    assert models["date"].is_monotonic_increasing
    assert not models["model"].str.contains("\n").any()  # quoted names with newlines are collapsed
    assert (models["G"] > 0).all() and (models["N"] > 0).all()
    # several countries: China's when any of them is China
    assert models.loc[models["country"] == "United States of America,China", "china"].all()


@pytest.mark.parametrize("region", ["china", "world"])
def test_running_max_is_monotone(models, region):
    for frequency in ("MS", "release"):
        path = frontier_path(models, region=region, rule="running_max", start="2018-01-01", frequency=frequency)
        assert np.all(np.diff(path.G) >= 0) and np.all(np.diff(path.N_bar) >= 0)
        assert np.all(np.diff(path.dates.astype(np.int64)) > 0)
        assert path.dates.dtype == np.dtype("datetime64[D]")


@pytest.mark.parametrize("region", ["china", "world"])
@pytest.mark.parametrize("start", ["2018-01-01", "2021-06-01", "2023-03-01", "2025-10-01"])
def test_first_point_is_the_running_max_up_to_start(models, table, region, start):
    released = table[(table["date"] <= pd.Timestamp(start)) & (table["china"] if region == "china" else True)]
    for frequency in ("MS", "release"):
        path = frontier_path(models, region=region, start=start, frequency=frequency)
        assert str(path.dates[0]) == start
        assert path.G[0] == released["G"].max() and path.N_bar[0] == released["N"].max()


@pytest.mark.parametrize("region", ["china", "world"])
def test_last_point_is_the_month_of_the_last_release(models, table, region):
    path = frontier_path(models, region=region, start="2018-01-01")
    last = table["date"].max()
    assert str(path.dates[-1]) == f"{last:%Y-%m}-01"
    mine = table[table["china"]] if region == "china" else table
    assert path.G[-1] == mine["G"].max() and path.N_bar[-1] == mine["N"].max()
    assert len(path) == (last.year - 2018) * 12 + last.month


def test_monthly_labels_name_the_models_that_moved_since_the_previous_month(models):
    path = frontier_path(models, region="china", start="2018-01-01")
    moved = dict(zip(path.dates.astype(str), path.models))
    assert moved["2020-09-01"] == "ERNIE-GEN (large)"  # released 2020-08-06
    assert moved["2021-04-01"] == "M6-T"  # released 2021-03-05: G to 1e12
    assert all(moved[d] == "" for d in ("2018-01-01", "2019-06-01", "2020-08-01"))
    for k in path.events:  # a label exactly where G or N changes
        assert k == 0 or path.G[k] > path.G[k - 1] or path.N_bar[k] > path.N_bar[k - 1]
    assert all(path.models[k] == "" for k in range(1, len(path)) if path.G[k] == path.G[k - 1] and path.N_bar[k] == path.N_bar[k - 1])


def _hand_table():
    rows = [  # date, model, G, N, china
        ("2020-01-01", "A", 1e4, 1e4, True),    # loss 1/sqrt(N) + 1/sqrt(G) = 0.02
        ("2020-03-10", "B", 1e8, 1e2, True),    # 0.1001: more parameters, higher loss
        ("2020-06-01", "C", 1e6, 1e6, True),    # 0.002: lowest so far
        ("2020-06-01", "D", 1e5, 1e8, True),    # 0.00326: most tokens, not the lowest loss that day
        ("2020-08-01", "E", 1e12, 1e12, False),  # not China
        ("2021-01-01", "F", 1e9, 1e3, True),    # 0.0316
    ]
    return pd.DataFrame({"date": pd.to_datetime([r[0] for r in rows]), "model": [r[1] for r in rows],
                         "organization": "x", "country": ["China" if r[4] else "France" for r in rows],
                         "G": [r[2] for r in rows], "N": [r[3] for r in rows], "china": [r[4] for r in rows]})


def test_min_loss_picks_the_lowest_loss_model():
    t = _hand_table()
    path = frontier_path(t, rule="min_loss", constants=(1.0, 0.5, 1.0, 0.5), frequency="release")
    assert path.dates.astype(str).tolist() == ["2020-01-01", "2020-06-01"]
    assert path.G.tolist() == [1e4, 1e6] and path.N_bar.tolist() == [1e4, 1e6] and path.models == ("A", "C")
    monthly = frontier_path(t, rule="min_loss", constants=(1.0, 0.5, 1.0, 0.5), start="2020-01-01")
    assert monthly.dates.astype(str).tolist()[-1] == "2021-01-01"  # the month of the last release (any region)
    assert monthly.G[4] == 1e4 and monthly.G[5] == 1e6 and monthly.models[5] == "C"
    world = frontier_path(t, region="world", rule="min_loss", constants=(1.0, 0.5, 1.0, 0.5), frequency="release")
    assert world.models == ("A", "C", "E") and world.G[-1] == 1e12
    # running_max on the same table: G moves with B and F, N with D (C moves neither)
    rm = frontier_path(t, rule="running_max", frequency="release")
    assert rm.models == ("A", "B", "D", "F")
    assert rm.G.tolist() == [1e4, 1e8, 1e8, 1e9] and rm.N_bar.tolist() == [1e4, 1e4, 1e8, 1e8]


def test_min_loss_on_the_bundled_table_ends_at_the_lowest_loss_model(models, table):
    a, alpha, b, beta = HOFFMANN
    china = table[table["china"]]
    best = (a / china["N"] ** alpha + b / china["G"] ** beta).idxmin()
    path = frontier_path(models, region="china", rule="min_loss", start="2018-01-01")
    assert (path.G[-1], path.N_bar[-1]) == (china.loc[best, "G"], china.loc[best, "N"])
    loss = a / path.N_bar ** alpha + b / path.G ** beta
    assert np.all(np.diff(loss) <= 0)


@pytest.mark.parametrize(
    "kwargs,option,fragment",
    [
        ({"start": "2010-01-01"}, "start", "before the first release of region 'china'"),
        ({"start": "2018-01-01", "end": "2017-01-01"}, "end", "before start"),
        ({"start": "2018-02-30"}, "start", "not a date"),
        ({"region": "europe"}, "region", "must be one of"),
        ({"rule": "biggest"}, "rule", "must be one of"),
        ({"frequency": "D"}, "frequency", "must be one of"),
        ({"exclude": ["GPT-5 (imaginary)"]}, "exclude", "no model named"),
    ],
)
def test_frontier_path_errors(models, kwargs, option, fragment):
    with pytest.raises(FrontierError) as info:
        frontier_path(models, **kwargs)
    assert info.value.option == option and fragment in str(info.value)


def test_exclude_leaves_models_out(models):
    path = frontier_path(models, region="world", start="2018-01-01", exclude=["SB-LM", "KN-LM"])
    assert path.G[0] < 3e11 and path.N_bar[0] < 1.8e12


# ----------------------------------------------------------------------------- the CSV reader
def test_read_path_csv_sorts_and_labels(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text('date,G,N,model\n2024-01-01,2e11,2e12,"two\nlines"\n\n2023-01-01, 1e10 ,1e11,\n')
    path = read_path_csv(f)
    assert path.dates.astype(str).tolist() == ["2023-01-01", "2024-01-01"]
    assert path.G.tolist() == [1e10, 2e11] and path.N_bar.tolist() == [1e11, 2e12]
    assert path.models == ("", "two\nlines") and path.source == str(f)


CSV_ERRORS = [
    ("date,G,N\n2020-01-01,1e9,1e10\n2020-13-01,1e9,1e10\n", 3, "date", "not a date"),
    ("date,G,N\n2020-01-01,1e9,1e10\n2020-02-01,1e9,1e10\n2020-03-01,0,1e10\n", 4, "G", "must be > 0"),
    ("date,G,N\n2020-01-01,-5,1e10\n", 2, "G", "must be > 0"),
    ("date,G,N\n2020-01-01,1e9,inf\n", 2, "N", "must be finite"),
    ("date,G,N\n2020-01-01,1e9,nan\n", 2, "N", "must be finite"),
    ("date,G,N\n2020-01-01,1e9,many\n", 2, "N", "not a number"),
    ("date,G,N,colour\n2020-01-01,1e9,1e10,red\n", 1, "colour", "unknown column"),
    ("date,G\n2020-01-01,1e9\n", 1, "N", "missing column"),
    ("date,G,N\n2020-01-01,1e9,1e10\n2021-01-01,1e9,1e10\n2020-01-01,2e9,1e10\n", 4, "date", "duplicate date 2020-01-01 (also on line 2)"),
    # a quoted label over two lines and a blank line: the bad row is on line 6 of the file
    ('date,G,N,label\n2020-01-01,1e9,1e10,"a\nb"\n\n2020-02-01,1e9,1e10,c\n2020-03-01,1e9,-1,d\n', 6, "N", "must be > 0"),
]


@pytest.mark.parametrize("text,line,column,fragment", CSV_ERRORS)
def test_read_path_csv_errors_name_file_line_and_column(tmp_path, text, line, column, fragment):
    f = tmp_path / "bad_path.csv"
    f.write_text(text)
    with pytest.raises(FrontierError) as info:
        read_path_csv(f)
    message = str(info.value)
    assert message.startswith(f"{f}:{line}: column '{column}': "), message
    assert fragment in message
    assert (info.value.file, info.value.line, info.value.column) == (str(f), line, column)


def test_read_path_csv_field_count_and_empty_file(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("date,G,N\n2020-01-01,1e9\n")
    with pytest.raises(FrontierError, match=rf"{f}:2: expected 3 fields"):
        read_path_csv(f)
    f.write_text("date,G,N\n")
    with pytest.raises(FrontierError, match="no data rows"):
        read_path_csv(f)
    with pytest.raises(FrontierError, match="cannot read"):
        read_path_csv(tmp_path / "missing.csv")


# ----------------------------------------------------------------------------- scenarios
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_frontier_scenarios_solve(path):
    scenario = load_scenario(path)
    assert scenario.dims == ("date",) and scenario.outputs.plots == ["frontier", "assignment"]
    ds = run_sweep(scenario)
    status = ds["status"].values
    assert {int(s) for s in status} <= {int(s) for s in Status if s is not Status.PENDING}
    ok = status == Status.OK
    assert ok.sum() > len(status) // 2
    for var in ("W_L", "W_H", "premium", "Y", "shares", "m"):
        assert np.all(np.isfinite(ds[var].values[ok]))
    assert np.abs(ds["residuals"].values[ok]).max() <= 1e-10
    assert np.all(np.isnan(ds["premium"].values[~ok]))
    assert ds["date"].dtype.kind == "M" and str(ds["date"].values[0])[:10] == "2018-01-01"
    record = json.loads(ds.attrs["sweep_path"])
    assert record["table_sha256"] == hashlib.sha256(DATA.read_bytes()).hexdigest()
    assert record["region"] == scenario.frontier.region and record["rule"] == "running_max"
    assert "Epoch AI" in ds.attrs["sweep_path_source"]


def test_china_and_world_share_dates():
    china, world = (load_scenario(p).frontier for p in SHIPPED)
    assert np.array_equal(china.dates, world.dates)
    assert np.all(world.G >= china.G) and np.all(world.N_bar >= china.N_bar)


SCENARIO = """name: csv_path
economy: {eta: 1.0, A_L: 1.0, A_H: 1.5, L: 1.0, H: 0.6}
technologies:
  - {kind: llm, A_bar: 3.0, F: 1.0, a: 410.7, alpha: 0.28, b: 406.4, beta: 0.34, G: 1.0e+10, N_bar: 1.0e+11, I_lo: 0.6, I_hi: 0.95}
sweep:
  mode: path
  path: {csv: path.csv}
solver: {method: analytic}
"""
PATH_CSV = "date,G,N,model\n2019-02-14,1.5e9,1.0e10,GPT-2\n2020-05-28,1.75e11,3.0e11,GPT-3\n2022-03-29,7.0e10,1.4e12,Chinchilla\n"


def test_cli_runs_a_csv_path_scenario(tmp_path):
    (tmp_path / "path.csv").write_text(PATH_CSV)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO)
    result = runner.invoke(app, ["run", str(scenario), "--out", str(tmp_path / "out"), "--no-progress"])
    assert result.exit_code == 0, result.output
    ds = xr.load_dataset(tmp_path / "out" / "csv_path.nc")
    assert ds["status"].dims == ("date",) and ds["date"].dtype.kind == "M"
    assert [str(d)[:10] for d in ds["date"].values] == ["2019-02-14", "2020-05-28", "2022-03-29"]
    assert ds["date"].encoding["units"].startswith("days since") and ds["date"].attrs["long_name"]
    assert ds["llm.G"].values.tolist() == [1.5e9, 1.75e11, 7.0e10]
    assert ds["llm.N_bar"].values.tolist() == [1.0e10, 3.0e11, 1.4e12]
    assert ds["frontier_model"].values.tolist() == ["GPT-2", "GPT-3", "Chinchilla"]
    record = json.loads(ds.attrs["sweep_path"])
    assert record["source"] == "csv" and record["csv"] == str(tmp_path / "path.csv")
    assert record["csv_sha256"] == hashlib.sha256(PATH_CSV.encode()).hexdigest()
    for png in ("frontier.png", "assignment.png"):
        assert (tmp_path / "out" / png).stat().st_size > 5000
    checked = runner.invoke(app, ["validate", str(scenario)])
    assert checked.exit_code == 0 and "path over date" in checked.output and "3 points" in checked.output


def test_path_sweep_into_a_store_matches_memory(tmp_path):
    from simulator.execution import Execution, run_to_store
    from simulator.store import open_store

    (tmp_path / "path.csv").write_text(PATH_CSV)
    scenario_file = tmp_path / "s.yaml"
    scenario_file.write_text(SCENARIO.replace("solver: {method: analytic}", "solver: {method: analytic, chunk_size: 2}"))
    scenario = load_scenario(scenario_file)
    run_to_store(scenario, str(tmp_path / "s.zarr"), Execution(uses_store=True))
    stored = open_store(str(tmp_path / "s.zarr")).load()
    memory = run_sweep(scenario)
    assert np.array_equal(stored["date"].values, memory["date"].values.astype(stored["date"].dtype))
    assert stored["frontier_model"].values.tolist() == memory["frontier_model"].values.tolist()
    np.testing.assert_array_equal(stored["premium"].values, memory["premium"].values)


BAD_PATHS = [  # (sweep section, line, key, fragment)
    ("sweep:\n  mode: path\n  path: {source: epoch, regoin: china}\n", 7, "sweep.path.regoin", "unknown key"),
    ("sweep:\n  mode: path\n  path:\n    source: epoch\n    region: europe\n", 9, "sweep.path.region", "'china' or 'world'"),
    ("sweep:\n  mode: path\n  path:\n    source: epoch\n    rule: biggest\n", 9, "sweep.path.rule", "'running_max' or 'min_loss'"),
    ("sweep:\n  mode: path\n  path:\n    source: epoch\n    start: 2010-01-01\n", 9, "sweep.path.start", "before the first release"),
    ("sweep:\n  mode: path\n  path:\n    source: epoch\n    start: soon\n", 9, "sweep.path.start", "not a date"),
    ("sweep:\n  mode: path\n  path:\n    csv: nowhere.csv\n", 8, "sweep.path.csv", "cannot read"),
    ("sweep:\n  mode: path\n  path:\n    csv: bad.csv\n", 8, "sweep.path.csv", "bad.csv:3: column 'G': must be > 0"),
    ("sweep:\n  mode: path\n  path:\n    csv: bad.csv\n    region: china\n", 9, "sweep.path.region", "applies to 'source: epoch' only"),
    ("sweep:\n  mode: path\n  path: {region: china}\n", 7, "sweep.path", "either 'source: epoch'"),
    ("sweep:\n  mode: path\n  path:\n    source: epoch\n    technology: gpt\n", 9, "sweep.path.technology", "no 'kind: llm' technology"),
    ("sweep:\n  mode: path\n", 6, "sweep.path", "needs 'path:"),
    ("sweep:\n  mode: grid\n  path: {source: epoch}\n", 7, "sweep.path", "applies to sweep mode 'path' only"),
    ("sweep:\n  mode: path\n  path: {source: epoch}\n  parameters: {G: [1, 2]}\n", 8, "sweep.parameters", "'grid' and 'zip' only"),
    ("sweep:\n  parameters: {G: [1, 2]}\noutputs: {plots: [frontier]}\n", 7, "outputs.plots", "needs a path sweep"),
    ("sweep:\n  mode: path\n  path: {source: epoch}\noutputs:\n  assignment_points:\n    - {date: someday}\n", 10,
     "outputs.assignment_points.0.date", "not a date"),
]


@pytest.mark.parametrize("sweep,line,key,fragment", BAD_PATHS)
def test_bad_path_sweeps_name_file_line_and_key(tmp_path, sweep, line, key, fragment):
    (tmp_path / "bad.csv").write_text("date,G,N\n2020-01-01,1e9,1e10\n2021-01-01,-1,1e10\n")
    text = SCENARIO.split("sweep:")[0].replace("solver: {method: analytic}\n", "") + sweep
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: key '{key}': "), message
    assert fragment in message
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and result.output.startswith(f"error: {path}:{line}: key '{key}'"), result.output


def test_frontier_plot_shades_points_that_are_not_ok(tmp_path):
    from simulator import plots

    (tmp_path / "path.csv").write_text(PATH_CSV)
    (tmp_path / "s.yaml").write_text(SCENARIO)
    ds = run_sweep(load_scenario(tmp_path / "s.yaml"))
    ds["status"][1] = int(Status.NOT_CONVERGED)
    ds["premium"][1] = np.nan
    assert plots.frontier(ds, tmp_path / "frontier.png") == tmp_path / "frontier.png"
    assert (tmp_path / "frontier.png").stat().st_size > 5000
    assert plots.frontier(ds.isel(date=0, drop=True).expand_dims("x"), tmp_path / "no.png") is None


def test_importing_the_package_stays_cheap():
    code = "import sys, simulator, simulator.frontier, simulator.scenario; print('pandas' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
