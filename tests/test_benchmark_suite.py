"""The benchmark runner's bookkeeping: merging a partial rerun into earlier results, and the Markdown it writes."""
import json

import pytest

from benchmarks.__main__ import _merged, render


def rows(suite, *names):
    return [{"suite": suite, "name": n, "work": 10, "seconds": 1.0} for n in names]


def test_merge_replaces_only_the_suites_run(tmp_path):
    path = tmp_path / "results.json"
    old = rows("engine", "a", "b") + rows("market", "m") + rows("scaleout", "old")
    path.write_text(json.dumps({"machine": "box", "quick": False, "rows": old}))
    merged = _merged(path, rows("scaleout", "new"), "box", False)
    assert [r["name"] for r in merged] == ["a", "b", "m", "new"]


@pytest.mark.parametrize("machine,quick", [("other box", False), ("box", True)])
def test_merge_refuses_results_from_another_machine_or_mode(tmp_path, machine, quick):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"machine": "box", "quick": False, "rows": rows("engine", "a")}))
    with pytest.raises(SystemExit, match="another machine or mode"):
        _merged(path, rows("scaleout", "new"), machine, quick)


def test_render_reports_memory_and_notes(tmp_path):
    row = rows("scaleout", "sweep")[0] | {"peak_memory_mb": 1500.4, "baseline": "in memory", "baseline_peak_memory_mb": 2300.0,
                                          "note": "78 blocks", "unit": "points"}
    text = render([row], "box", False, [], tmp_path, plots_too=False)
    assert "sweep, 10 points: 1,500 MB (in memory: 2,300 MB)" in text
    assert "78 blocks" in text
    assert json.loads((tmp_path / "results.json").read_text())["rows"][0]["peak_memory_mb"] == 1500.4


def test_rows_marked_not_to_plot_get_no_plot(tmp_path):
    growing = [{"suite": "engine", "name": "grows", "work": w, "seconds": w / 10, "unit": "points"} for w in (10, 100)]
    profile = [r | {"name": "profile", "plot": False} for r in growing]
    render(growing + profile, "box", False, [], tmp_path, plots_too=True)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["grows.png"]


def test_profile_rows_derive_their_shares_from_the_timings():
    from benchmarks.bench_llm_profile import _rows

    best = {"full": 1.0, "first": 0.8, "one": 0.4, "none": 0.25}
    rows = {r["name"].split(": ", 1)[1]: r for r in _rows("route", 1000, best, {"full": 1.0, "first": 0.97})}
    assert rows["full (first pass and retries)"]["ratio"] == 1.0
    assert "the retries take 20% of the full time; 97.0% of points solved" in rows["first pass, no retries"]["note"]
    assert "each Newton step after the first costs 10.0%" in rows["one Newton step, no retries"]["note"]
    ceiling = rows["no Newton steps, no retries (ceiling)"]
    assert ceiling["rate"] == 4000.0 and ceiling["ratio"] == 4.0 and "4e+03 equilibria/s, 4.00× the full rate" in ceiling["note"]


def test_the_ceiling_variant_takes_the_newton_steps_out():
    from benchmarks.bench_llm_profile import _child

    # without the wage solve most points stay where the solver starts, unsolved
    _, solved_without_steps = _child("none", "analytic", 64, 1)
    _, solved_first_pass = _child("first", "analytic", 64, 1)
    assert solved_without_steps < 0.9 < solved_first_pass
