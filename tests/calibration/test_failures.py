"""Calibration takes no moment on trust: bad moments files are located errors (exit 2), and a
target the model cannot reach is a failed calibration (exit 3), never a corner estimate with an se."""
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]


def _doc(slope=0.9, se=0.15, **entry):
    return {"format": "llm-labor/moments", "version": 1, "source": "test",
            "moments": {"log_wage": {"weighted": {"slope": slope, "se": se, "bootstrap_draws": [slope] * 20, **entry}}}}


def _config(tmp_path, doc, extra_params="", moments="  - {kind: wage_exposure_slope, weighted: true}\n"):
    m = tmp_path / "m.json"
    m.write_text(json.dumps(doc, indent=2))
    c = tmp_path / "c.yaml"
    c.write_text(f"""name: t
data_label: test
scenario: {ROOT / 'scenarios' / 'llm_scaling.yaml'}
moments_file: {m}
parameters:
  eta: {{start: 1.0, lower: 0.05, upper: 2.5}}
{extra_params}moments:
{moments}bootstrap: {{draws: 20, seed: 0}}
profile: {{points: 11}}
""")
    return c


def _cli(*args):
    from llm_labor.cli import app

    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize(
    "doc, key, words",
    [
        (_doc(se=0.0), "moments.log_wage.weighted.se", "standard error must be > 0"),
        (_doc(se=-0.1), "moments.log_wage.weighted.se", "standard error must be > 0"),
        (_doc(slope="0.9"), "moments.log_wage.weighted.slope", "must be a finite number"),
        ({**_doc(), "moments": {"log_wage": {"weighted": {"se": 0.1}}}}, "moments.log_wage.weighted", "'slope' is missing"),
        ({**_doc(), "units": [{"code": "a", "exposure": 0.1}, {"code": "b", "exposure": "high"}]}, "units[1].exposure", "finite number or null"),
        ({**_doc(), "units": [{"code": "a", "exposure": 0.1, "weight": -3}]}, "units[0].weight", "weights must be >= 0"),
    ],
)
def test_bad_moments_files_are_located_errors(tmp_path, doc, key, words):
    from calibration.data import load_moments_file
    from calibration.errors import CalibrationError

    p = tmp_path / "m.json"
    p.write_text(json.dumps(doc, indent=2))
    with pytest.raises(CalibrationError, match=words) as err:
        load_moments_file(p)
    assert err.value.key == key and err.value.file == str(p)
    # the line points at the offending value's key
    leaf = key.split(".")[-1].split("[")[0]
    assert f'"{leaf}"' in p.read_text().splitlines()[err.value.line - 1]
    r = _cli("calibrate", str(_config(tmp_path, doc)), "--out", str(tmp_path / "out"), "--no-plots")
    assert r.exit_code == 2 and r.output.startswith("error:") and "Traceback" not in r.output


def test_unreachable_target_fails_with_the_attainable_range(tmp_path):
    """The model's weighted slope never falls below about 0.54 here: a slope of 0.3 has no estimate."""
    from calibration.config import load_config
    from calibration.run import calibrate

    c = _config(tmp_path, _doc(slope=0.3, se=0.149))
    res = calibrate(load_config(c), compare=False)
    assert res["status"] == "target_unreachable"
    f = res["failure"]
    low, high = f["attainable"]
    assert 0.5 < low < 0.6 and high > 1.0
    assert f["se_outside"] == pytest.approx((low - 0.3) / 0.149)
    assert res["parameters"][0]["estimate"] is None and res["parameters"][0]["se_delta"] is None
    assert res["bootstrap"] is None
    assert not any("widen the bounds" in w for w in res["warnings"])
    r = _cli("calibrate", str(c), "--out", str(tmp_path / "out"), "--no-plots")
    assert r.exit_code == 3
    assert "calibration failed (target_unreachable)" in r.output and "se outside" in r.output
    md = (tmp_path / "out" / "report.md").read_text()
    assert "## Calibration failed: target_unreachable" in md


def test_targets_out_of_reach_together(tmp_path):
    """Slope and premium each attainable alone, not together: no estimate (the China premium config's case)."""
    from calibration.config import load_config
    from calibration.run import calibrate

    c = _config(tmp_path, _doc(slope=2.0, se=0.1), extra_params="  A_H: {start: 1.5, lower: 1.01, upper: 3.0}\n",
                moments="  - {kind: wage_exposure_slope, weighted: true}\n  - {kind: skill_premium, value: 0.05, se: 0.01}\n")
    res = calibrate(load_config(c), compare=False)
    assert res["status"] == "targets_not_jointly_reached"
    for j, a in enumerate(res["attainable"]):
        d = res["moments"][j]["data"]
        assert a["low"] <= d <= a["high"]
    assert all(p["estimate"] is None for p in res["parameters"])


def test_reached_target_is_ok(tmp_path):
    from calibration.config import load_config
    from calibration.run import calibrate

    res = calibrate(load_config(_config(tmp_path, _doc(slope=0.9, se=0.15))), compare=False)
    assert res["status"] == "ok" and res["failure"] is None
    a = res["attainable"][0]
    assert a["low"] < 0.9 < a["high"]
    assert res["moments"][0]["model"] == pytest.approx(0.9, abs=1e-9)
