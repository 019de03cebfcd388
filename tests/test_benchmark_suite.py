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
