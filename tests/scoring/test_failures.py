"""What a run says about failures, --retry-invalid, key checks, custom headers and query parameters."""
from __future__ import annotations

import socket

import pytest
import yaml
from typer.testing import CliRunner

from benchmarks.references.fakeserver import Fault, FakeOpenAIServer
from empirics.scoring.cache import Cache
from empirics.scoring.cli import build_app
from empirics.scoring.config import EndpointConfig, load_config
from empirics.scoring.errors import ConfigError
from empirics.scoring.occupations import iter_units, load_ocd2022
from empirics.scoring.runner import failure_summary, plan_calls, run_calls
from empirics.scoring.templates import load_template

from .conftest import SECRET, endpoint, write_config

runner = CliRunner()
APP = build_app()


def closed_port() -> int:
    """A localhost port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _one_line_errors(text: str) -> list[str]:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("error: ") for ln in lines), text
    return lines


def test_failures_grouped_by_endpoint_and_cause(server, tmp_path):
    server.faults = [Fault("500", 1, match="土壤"), Fault("truncated", 1, match="天线"),
                     Fault("bad_label", 1, match="文物修复师"), Fault("hang", 1, match="地理信息")]
    down = endpoint(server, "down", max_retries=1)
    down["base_url"] = f"http://127.0.0.1:{closed_port()}/v1"
    cfg = write_config(tmp_path, [endpoint(server, "a", timeout_s=0.5, max_retries=2), down], repeats=1)
    res = runner.invoke(APP, ["run", str(cfg), "--no-progress"])
    assert res.exit_code == 1, res.output
    assert "planned 10, cached 0, ok 5, invalid 0, failed 5" in res.stdout
    err = res.stderr.splitlines()
    i = err.index("failures by endpoint and cause (attempts in this run):")
    assert err[i + 1] == "  a: 4 of 9 requests failed; calls: 5 ok, 0 invalid, 0 failed"
    assert err[i + 2].startswith("    timeout: 1 (latest: no complete answer within 0.5 s)")
    assert err[i + 3] == "    HTTP 5xx: 1 (500: 1)"
    assert err[i + 4].startswith("    malformed response: 1 (latest: response body is not JSON")
    assert err[i + 5].startswith("    invalid answer: 1 (latest: label 'E5' is not one of")
    # the closed port: 5 calls x (1 + 1 retry) refused connections, and said so plainly
    assert err[i + 6] == ("  down: unreachable throughout: all 10 requests failed at the transport level;"
                          " calls: 0 ok, 0 invalid, 5 failed")
    assert err[i + 7].startswith("    refused connection: 10 (latest: ClientConnectorError: ")
    assert len(err) == i + 8

    # the summary covers this run only: a rerun sends the 5 failed calls again and reports them alone
    res = runner.invoke(APP, ["run", str(cfg), "--no-progress"])
    assert "cached 5, ok 0, invalid 0, failed 5" in res.stdout
    assert "  down: unreachable throughout: all 10 requests" in res.stderr and "  a:" not in res.stderr


def test_nothing_failed_prints_no_summary(server, tmp_path):
    res = runner.invoke(APP, ["run", str(write_config(tmp_path, [endpoint(server)], repeats=1)), "--no-progress"])
    assert res.exit_code == 0 and res.stderr == ""


def test_failure_summary_from_the_api(server, tmp_path):
    server.faults = [Fault("429", 2), Fault("empty_choices", 1, match="土壤")]
    units = list(iter_units(load_ocd2022().select(codes=["2-03-01-00", "4-04-03-01"]), "occupation"))
    specs = plan_calls([EndpointConfig(name="a", base_url=server.base_url, model="m", api_key_env="SCORING_TEST_KEY",
                                       backoff_base_s=0.0)], load_template("exposure.zh.v1"), units, 1)
    with Cache(tmp_path / "c.sqlite") as cache:
        st = run_calls(specs, cache)
        assert (st.ok, st.failed, st.requests) == (2, 0, 7)
        assert failure_summary(cache, st) == [
            "failures by endpoint and cause (attempts in this run):",
            "  a: 5 of 7 requests failed; calls: 2 ok, 0 invalid, 0 failed",
            "    HTTP 4xx: 4 (429: 4)",
            "    malformed response: 1 (latest: response has no choices)",
        ]


def test_retry_invalid_reasks_and_says_how_many(server, tmp_path):
    server.faults = [Fault("bad_label", 3, match="文物修复师")]
    cfg = write_config(tmp_path, [endpoint(server)], repeats=2, max_invalid_answers=2)
    res = runner.invoke(APP, ["run", str(cfg), "--no-progress"])
    assert res.exit_code == 0 and "ok 8, invalid 2" in res.stdout
    assert "requests 0" in runner.invoke(APP, ["run", str(cfg), "--no-progress"]).stdout
    dry = runner.invoke(APP, ["run", str(cfg), "--dry-run", "--retry-invalid"])
    assert dry.exit_code == 0
    assert "calls planned: 10  already cached: 8  to send: 2 (of them 2 stored as invalid" in dry.stdout
    n = len(server.log)
    res = runner.invoke(APP, ["run", str(cfg), "--no-progress", "--retry-invalid"])
    assert res.exit_code == 0, res.output
    assert "re-asked 2 calls stored as invalid" in res.stdout and "cached 8, ok 2, invalid 0" in res.stdout
    assert len(server.log) - n == 2 * 2  # each had one of its 3 bad answers left
    res = runner.invoke(APP, ["run", str(cfg), "--no-progress", "--retry-invalid"])
    assert "re-asked 0 calls stored as invalid" in res.stdout and "requests 0" in res.stdout


def test_dry_run_checks_every_key_variable(server, tmp_path, monkeypatch):
    monkeypatch.delenv("SCORING_AZURE_KEY", raising=False)
    eps = [endpoint(server, "a"),
           {"name": "az", "base_url": server.base_url, "model": "m",
            "headers": {"api-key": {"env": "SCORING_AZURE_KEY"}}}]
    (tmp_path / "eps.yaml").write_text(yaml.safe_dump({"endpoints": eps}), encoding="utf-8")
    cfg = write_config(tmp_path, "eps.yaml")
    res = runner.invoke(APP, ["run", str(cfg), "--dry-run"])
    assert res.exit_code == 2
    assert "calls planned: 20" in res.stdout
    assert _one_line_errors(res.stderr) == [
        f"error: {tmp_path / 'eps.yaml'}: endpoints.1.headers.api-key.env: environment variable SCORING_AZURE_KEY"
        " is not set or empty (endpoint 'az')"]
    assert SECRET not in res.output and server.log == []
    # inline endpoints are located in the run config; an empty variable counts as unset
    monkeypatch.setenv("SCORING_TEST_KEY", "")
    cfg = write_config(tmp_path, [endpoint(server, "a")])
    res = runner.invoke(APP, ["run", str(cfg), "--dry-run"])
    assert res.exit_code == 2 and _one_line_errors(res.stderr) == [
        f"error: {cfg}: endpoints.0.api_key_env: environment variable SCORING_TEST_KEY is not set or empty"
        " (endpoint 'a')"]
    monkeypatch.setenv("SCORING_TEST_KEY", SECRET)
    monkeypatch.setenv("SCORING_AZURE_KEY", "az-key")
    assert runner.invoke(APP, ["run", str(write_config(tmp_path, "eps.yaml")), "--dry-run"]).exit_code == 0


@pytest.mark.parametrize("in_base_url", [False, True])
def test_azure_style_headers_and_query_reach_the_server(tmp_path, monkeypatch, in_base_url):
    monkeypatch.setenv("SCORING_AZURE_KEY", SECRET)
    with FakeOpenAIServer(api_key=SECRET, key_header="api-key") as srv:
        ep = {"name": "azure", "base_url": f"{srv.base_url}/openai/deployments/gpt-4o", "model": "gpt-4o",
              "backoff_base_s": 0.0, "timeout_s": 5.0,
              "headers": {"api-key": {"env": "SCORING_AZURE_KEY"}, "X-Gateway-Team": "labour"},
              "query": {"api-version": "2024-10-21"}}
        if in_base_url:  # written into base_url, the query string still ends the final URL
            ep["base_url"] += "?api-version=2024-10-21"
            del ep["query"]
        cfg = write_config(tmp_path, [ep], repeats=1)
        res = runner.invoke(APP, ["run", str(cfg), "--no-progress"])
        assert res.exit_code == 0, res.output
        assert len(srv.log) == 5 and all(r.authorized for r in srv.log)
        assert {r.path for r in srv.log} == {"/v1/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"}
        for r in srv.log:
            assert r.headers["api-key"] == SECRET and r.headers["x-gateway-team"] == "labour"
            assert "authorization" not in r.headers
    for p in tmp_path.rglob("*"):
        if p.is_file():
            assert SECRET.encode() not in p.read_bytes(), p
    assert SECRET not in res.output


def test_header_and_query_config_errors(tmp_path):
    base = {"name": "a", "base_url": "http://127.0.0.1:9/v1", "model": "m"}
    ok = EndpointConfig(**{**base, "base_url": "http://h/v1/?api-version=1&x=2"})
    assert ok.base_url == "http://h/v1" and ok.query == {"api-version": "1", "x": "2"}
    assert ok.env_vars() == []
    az = EndpointConfig(**base, headers={"api-key": {"env": "K1"}}, query={"sig": {"env": "K2", "prefix": "s-"}})
    assert az.env_vars() == [("headers.api-key.env", "K1"), ("query.sig.env", "K2")]
    for bad, msg in [
        ({"headers": {"Content-Type": "text/plain"}}, "set by the runner"),
        ({"headers": {"bad name": "x"}}, "not a valid header name"),
        ({"headers": {"X-A": "a\nb"}}, "line breaks"),
        ({"headers": {"Authorization": "Token x"}, "api_key_env": "K"}, "either api_key_env or an Authorization"),
        ({"headers": {"api-key": {"env": "1BAD"}}}, "String should match pattern"),
        ({"base_url": "http://h/v1?api-version=1", "query": {"api-version": "2"}}, "both in base_url and in query"),
    ]:
        with pytest.raises(Exception, match=msg):
            EndpointConfig(**{**base, **bad})
    p = tmp_path / "run.yaml"
    p.write_text(yaml.safe_dump({"endpoints": [{**base, "headers": {"Host": "x"}}]}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"run.yaml: endpoints.0.headers: Value error, 'Host' is set by the runner"):
        load_config(p)


def test_errors_are_one_line_each_whatever_their_length(server, tmp_path, monkeypatch):
    """A non-terminal stderr gets each error whole on one line (no wrapping at 80 columns)."""
    deep = tmp_path / ("a-rather-long-folder-name-" * 4)
    deep.mkdir()
    monkeypatch.setenv("SCORING_TEST_KEY", "sk-wrong")
    cfg = write_config(deep, [endpoint(server, max_concurrency=1)], repeats=1)
    res = runner.invoke(APP, ["run", str(cfg), "--no-progress"])
    assert res.exit_code == 1
    stop = [ln for ln in res.stderr.splitlines() if ln.startswith("error: ")]
    assert stop == [f"error: endpoint stopped: a: HTTP 401 from {server.base_url}/chat/completions:"
                    ' {"error": {"message": "invalid api key"}}']
    bad = deep / "bad.yaml"
    bad.write_text("endpoints:\n  - {name: a, base_url: 'ftp://x', model: m, max_concurrency: 0}\n")
    res = runner.invoke(APP, ["run", str(bad)])
    assert res.exit_code == 2 and len(str(bad)) > 80
    assert _one_line_errors(res.stderr) == [
        f"error: {bad}: endpoints.0.base_url: Value error, must start with http:// or https://",
        f"error: {bad}: endpoints.0.max_concurrency: Input should be greater than or equal to 1"]
