from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import yaml

from empirics.scoring.config import load_config, load_endpoints
from empirics.scoring.errors import ConfigError


def _write(tmp_path, data, name="run.yaml"):
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


EP = {"name": "a", "base_url": "http://127.0.0.1:9/v1/", "model": "m"}


def test_defaults_follow_the_paper(tmp_path):
    cfg = load_config(_write(tmp_path, {"endpoints": [EP]}))
    assert cfg.repeats == 8 and cfg.template == "exposure.zh.v1" and cfg.granularity == "occupation"
    assert cfg.weights == {"E0": 0.0, "E1": 1.0, "E2": 0.5, "E3": 0.5}
    assert cfg.endpoints[0].base_url == "http://127.0.0.1:9/v1"
    assert cfg.path(cfg.cache) == tmp_path / "scoring-cache.sqlite"
    with pytest.raises(Exception):
        cfg.repeats = 3  # frozen


def test_example_endpoints_file_loads_and_has_no_keys():
    path = Path(str(resources.files("empirics.scoring") / "endpoints.example.yaml"))
    eps = load_endpoints(path)
    assert [e.name for e in eps] == ["gpt4", "glm", "internlm", "azure", "local"]
    assert eps[0].api_key_env == "OPENAI_API_KEY" and eps[4].api_key_env is None
    azure = eps[3]
    assert azure.api_key_env is None and azure.headers["api-key"].env == "AZURE_OPENAI_API_KEY"
    assert "api-version" in azure.query and "?" not in azure.base_url


def test_endpoints_from_a_file(tmp_path):
    _write(tmp_path, {"endpoints": [EP]}, "eps.yaml")
    cfg = load_config(_write(tmp_path, {"endpoints": "eps.yaml", "repeats": 3}))
    assert cfg.endpoints[0].name == "a" and cfg.repeats == 3


@pytest.mark.parametrize(
    "data,where,cond",
    [
        ({"endpoints": [{**EP, "max_concurrency": 0}]}, "endpoints.0.max_concurrency", "greater than or equal to 1"),
        ({"endpoints": [{**EP, "base_url": "ftp://x"}]}, "endpoints.0.base_url", "must start with http"),
        ({"endpoints": [{**EP, "api_key_env": "sk-abc123"}]}, "endpoints.0.api_key_env", "pattern"),
        ({"endpoints": [{**EP, "tempreature": 1}]}, "endpoints.0.tempreature", "Extra inputs are not permitted"),
        ({"endpoints": [EP, EP]}, "endpoints", "endpoint names must be unique"),
        ({"endpoints": []}, "endpoints", "at least 1 item"),
        ({"endpoints": [EP], "repeats": 0}, "repeats", "greater than or equal to 1"),
        ({"endpoints": [EP], "weights": {"E1": 1}}, "weights", "exactly E0, E1, E2 and E3"),
        ({"endpoints": [EP], "granularity": "word"}, "granularity", "'occupation' or 'task'"),
        ({"endpoints": [EP], "occupations": {"source": "csv"}}, "occupations", "needs 'path'"),
        ({"endpoints": [{**EP, "extra_body": {"model": "x"}}]}, "endpoints.0.extra_body", "must not set"),
    ],
)
def test_errors_name_file_key_and_condition(tmp_path, data, where, cond):
    p = _write(tmp_path, data)
    with pytest.raises(ConfigError) as ei:
        load_config(p)
    msg = str(ei.value)
    assert msg.startswith(f"{p}: {where}:"), msg
    assert cond in msg


def test_errors_in_an_endpoints_file_name_that_file(tmp_path):
    eps = _write(tmp_path, {"endpoints": [{**EP, "timeout_s": -1}]}, "eps.yaml")
    with pytest.raises(ConfigError, match=f"^{eps}: endpoints.0.timeout_s: Input should be greater than 0"):
        load_config(_write(tmp_path, {"endpoints": "eps.yaml"}))
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="nope.yaml: cannot read"):
        load_config(_write(tmp_path, {"endpoints": "nope.yaml"}))
    assert not missing.exists()


def test_bad_yaml_and_top_level(tmp_path):
    with pytest.raises(ConfigError, match=r"run.yaml: line 2, column 1: not valid YAML: expected the node content"):
        load_config(_write(tmp_path, "endpoints: [\n"))
    with pytest.raises(ConfigError, match=r"run.yaml: \(top level\): must be a mapping"):
        load_config(_write(tmp_path, "- 1\n"))
