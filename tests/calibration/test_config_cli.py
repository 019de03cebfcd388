"""Config validation (errors name file, line, key and condition) and the CLI end to end."""
import json
from pathlib import Path

import pytest

from calibration.config import load_config
from calibration.errors import CalibrationError

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "calibration" / "configs"

GOOD = f"""name: t
data_label: "simulated"
scenario: {ROOT / 'scenarios' / 'llm_scaling.yaml'}
moments_file: {ROOT / 'calibration' / 'data' / 'moments_us.json'}
parameters:
  eta: {{start: 1.0, lower: 0.05, upper: 2.5}}
moments:
  - {{kind: wage_exposure_slope, weighted: true}}
bootstrap: {{draws: 50, seed: 3}}
profile: {{points: 21}}
"""


def _write(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


def test_shipped_configs_are_valid():
    for p in sorted(CONFIGS.glob("*.yaml")):
        cfg = load_config(p)
        assert cfg.names and cfg.moments


@pytest.mark.parametrize("old,new,line,words", [
    ("  eta: {start", "  etaa: {start", 6, ["unknown parameter 'etaa'", "parameters.etaa"]),
    ("  - {kind: wage_exposure_slope, weighted: true}", "  - {kind: vacancy_share_slope}", 8, ["no model counterpart", "moments.0.kind"]),
    ("  - {kind: wage_exposure_slope, weighted: true}", "  - {kind: wages}", 8, ["unknown moment kind 'wages'"]),
    ("lower: 0.05", "lower: -0.5", 6, ["inadmissible bound lower = -0.5", "eta > 0"]),
    ("upper: 2.5", "upper: 0.01", 6, ["lower < upper is violated"]),
    ("start: 1.0", "start: 3.0", 6, ["outside [lower, upper]"]),
    ("profile: {points: 21}", "profile: {points: 21, colour: red}", 10, ["unknown key", "profile.colour"]),
    ("moments_us.json", "missing.json", 4, ["moments file not found"]),
])
def test_bad_configs_raise_clear_errors(tmp_path, old, new, line, words):
    p = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(CalibrationError) as exc:
        load_config(p)
    msg = str(exc.value)
    assert msg.startswith(f"{p}:{line}:"), msg
    for w in words:
        assert w in msg, msg


def test_inadmissible_window_bound(tmp_path):
    text = GOOD.replace("  eta: {start: 1.0, lower: 0.05, upper: 2.5}", "  llm.I_hi: {start: 0.95, lower: 0.9, upper: 1.2}")
    with pytest.raises(CalibrationError, match=r"inadmissible bound upper = 1.2.*I_hi <= 1"):
        load_config(_write(tmp_path, text))


def test_cli_end_to_end(tmp_path):
    from typer.testing import CliRunner

    from llm_labor.cli import app

    p = _write(tmp_path, GOOD)
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["calibrate", str(p), "--out", str(out)])
    assert r.exit_code == 0, r.output
    res = json.loads((out / "results.json").read_text())
    prov = res["provenance"]
    assert prov["package_version"] and prov["git_commit"] and prov["seed"] == 3 and prov["config_text"] == GOOD
    assert prov["moments_file"]["sha256"]
    (eta,) = res["parameters"]
    assert 0.4 < eta["estimate"] < 1.2 and eta["se_delta"] > 0
    assert eta["ci_bootstrap"][0] < eta["estimate"] < eta["ci_bootstrap"][1]
    assert abs(res["moments"][0]["difference"]) < 1e-10
    md = (out / "report.md").read_text()
    assert "profile_eta.png" in md and "US real data" not in md and "simulated" in md
    assert (out / "profile_eta.png").stat().st_size > 0
    bad = _write(tmp_path, GOOD.replace("  eta:", "  kappa:"))
    r = CliRunner().invoke(app, ["calibrate", str(bad)])
    assert r.exit_code == 2 and "unknown parameter 'kappa'" in r.output
