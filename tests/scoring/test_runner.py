from __future__ import annotations

import collections

import pytest

from benchmarks.references.fakeserver import Fault, expected_label
from empirics.scoring.cache import Cache
from empirics.scoring.config import EndpointConfig
from empirics.scoring.errors import ConfigError, EndpointError
from empirics.scoring.occupations import iter_units, load_ocd2022
from empirics.scoring.runner import plan_calls, request_id, run_calls
from empirics.scoring.templates import load_template

from .conftest import SECRET

TPL = load_template("exposure.zh.v1")
CODES = ["2-02-02-07", "2-03-01-00", "4-04-03-01", "4-13-03-02", "6-20-03-01"]


@pytest.fixture(scope="module")
def units():
    return list(iter_units(load_ocd2022().select(codes=CODES), "occupation"))


def ep(server, name="a", **kw):
    d = dict(name=name, base_url=server.base_url, model="m-" + name, api_key_env="SCORING_TEST_KEY",
             max_concurrency=3, backoff_base_s=0.0, timeout_s=5.0)
    d.update(kw)
    return EndpointConfig(**d)


def test_answers_match_the_server_and_are_cached_once(server, units, tmp_path):
    specs = plan_calls([ep(server, "a"), ep(server, "b", send_seed=True)], TPL, units + units[:2], 3)
    assert len(specs) == 2 * 5 * 3  # repeated units are planned once
    with Cache(tmp_path / "c.sqlite") as cache:
        st = run_calls(specs, cache)
        assert (st.ok, st.invalid, st.failed, st.requests, st.retries) == (30, 0, 0, 30, 0)
        assert len(server.log) == 30 and all(r.authorized for r in server.log)
        recs = {r.key: r for r in cache.records()}
        assert len(recs) == 30
        for s in specs:
            r = recs[s.key]
            seed = s.repeat if s.endpoint.send_seed else None
            assert r.label == expected_label(s.endpoint.model, TPL.render(s.unit), seed)
            assert r.template_hash == TPL.sha256 and r.status == "ok" and r.attempts == 1
        assert st.total_tokens == sum(r.total_tokens for r in recs.values()) > 0
        again = run_calls(specs, cache)
        assert (again.cached, again.requests, again.ok) == (30, 0, 0)
        assert len(server.log) == 30
        assert cache.count("calls") == 30


def test_429_500_and_timeouts_are_retried(server, units, tmp_path):
    server.faults = [Fault("429", 2), Fault("500", 1), Fault("hang", 1)]
    specs = plan_calls([ep(server, timeout_s=0.8)], TPL, units, 2)
    with Cache(tmp_path / "c.sqlite") as cache:
        st = run_calls(specs, cache)
        assert (st.ok, st.failed, st.requests, st.retries) == (10, 0, 50, 40)
        per_call = server.counts()
        assert set(per_call.values()) == {5} and len(per_call) == 10
        outcomes = collections.Counter(a for a in cache.frame("attempts").outcome)
        assert outcomes == {"http_429": 20, "http_500": 10, "timeout": 10}
        assert all(r.attempts == 5 and r.status == "ok" for r in cache.records())


def test_exhausted_retries_fail_then_resume_without_double_counting(server, units, tmp_path):
    server.faults = [Fault("500", 3, match="广播电视天线工")]
    specs = plan_calls([ep(server, max_retries=2)], TPL, units, 2)
    with Cache(tmp_path / "c.sqlite") as cache:
        st = run_calls(specs, cache)
        assert (st.ok, st.failed, st.retries) == (8, 2, 4)
        assert cache.count("calls") == 8
        st2 = run_calls(specs, cache)  # the server now answers (each call's 3 faults are used up)
        assert (st2.cached, st2.ok, st2.failed, st2.requests) == (8, 2, 0, 2)
        assert cache.count("calls") == 10
    ok_served = server.served_ok()
    assert len(ok_served) == 10 and set(ok_served.values()) == {1}


@pytest.mark.parametrize("kind", ["bad_label", "prose"])
def test_unparseable_answers_are_retried_then_recorded(server, units, tmp_path, kind):
    server.faults = [Fault(kind, 1, match="土壤"), Fault(kind, 5, match="文物修复师")]
    specs = plan_calls([ep(server)], TPL, units, 2)
    with Cache(tmp_path / "c.sqlite") as cache:
        st = run_calls(specs, cache, max_invalid_answers=3)
        assert (st.ok, st.invalid, st.failed) == (8, 2, 0)
        assert st.invalid_answers == 2 * 1 + 2 * 3
        recs = {r.unit_id: r for r in cache.records() if r.repeat == 0}
        bad = recs["4-13-03-02"]
        assert bad.status == "invalid" and bad.label is None and bad.invalid_answers == 3 and bad.error
        soil = recs["2-03-01-00"]
        assert soil.status == "ok" and soil.invalid_answers == 1 and soil.attempts == 2
        assert soil.label == expected_label("m-a", TPL.render(units[1]))
        att = cache.frame("attempts")
        assert (att.outcome == "invalid_answer").sum() == 8 and att.raw_response.notna().all()
        # an invalid call is completed: a rerun does not ask again...
        assert run_calls(specs, cache).requests == 0
        # ...unless asked to: --retry-invalid re-asks exactly the invalid calls and replaces their rows
        # (each has 2 of its 5 bad answers left, then answers well)
        again = run_calls(specs, cache, retry_invalid=True)
        assert (again.retried_invalid, again.cached, again.requests, again.ok, again.invalid) == (2, 8, 6, 2, 0)
        assert {r.status for r in cache.records()} == {"ok"} and cache.count("calls") == 10
        assert run_calls(specs, cache, retry_invalid=True).requests == 0


@pytest.mark.parametrize("kind", ["malformed", "truncated", "cut", "empty_choices", "no_content"])
def test_malformed_responses_are_transport_failures(server, units, tmp_path, kind):
    """A broken 200 body is retried like a 5xx (same backoff budget), never counted or stored as invalid."""
    server.faults = [Fault(kind, 1, match="土壤"), Fault(kind, 5, match="文物修复师")]
    specs = plan_calls([ep(server, max_retries=4)], TPL, units, 2)
    with Cache(tmp_path / "c.sqlite") as cache:
        st = run_calls(specs, cache, max_invalid_answers=1)
        # 5 faults exceed 4 retries: failed, not stored, asked again by the next run
        assert (st.ok, st.invalid, st.failed, st.invalid_answers) == (8, 0, 2, 0)
        assert st.retries == 2 * 1 + 2 * 4 and st.requests == 8 + 2 + 2 * 5
        assert cache.count("calls") == 8 and {r.status for r in cache.records()} == {"ok"}
        soil = {r.unit_id: r for r in cache.records() if r.repeat == 0}["2-03-01-00"]
        assert soil.attempts == 2 and soil.invalid_answers == 0
        att = cache.frame("attempts")
        assert set(att.outcome) == {"malformed_response"} and len(att) == 2 * 1 + 2 * 5
        rerun = run_calls(specs, cache, max_invalid_answers=1)
        assert (rerun.cached, rerun.ok, rerun.requests) == (8, 2, 2)
    assert len(server.served_ok()) == 10


def test_wrong_key_stops_the_endpoint(server, units, tmp_path, monkeypatch):
    monkeypatch.setenv("SCORING_TEST_KEY", "sk-wrong")
    specs = plan_calls([ep(server, max_concurrency=1)], TPL, units, 2)
    with Cache(tmp_path / "c.sqlite") as cache:
        with pytest.raises(EndpointError, match="HTTP 401") as ei:
            run_calls(specs, cache)
        assert ei.value.stats.requests == 1 and cache.count("calls") == 0
        assert "sk-wrong" not in str(ei.value)


def test_missing_key_variable_fails_before_sending(server, units, tmp_path, monkeypatch):
    monkeypatch.delenv("SCORING_TEST_KEY")
    with Cache(tmp_path / "c.sqlite") as cache, pytest.raises(ConfigError, match="SCORING_TEST_KEY is not set"):
        run_calls(plan_calls([ep(server)], TPL, units, 1), cache)
    assert server.log == []


def test_request_ids_are_stable_and_key_free(units):
    k = ("a", "m", TPL.sha256, "2-02-02-07", 3)
    assert request_id(k) == request_id(tuple(k)) and len(request_id(k)) == 32
    assert SECRET not in request_id(k)


def test_an_echoed_key_is_scrubbed_before_storage(server, units, tmp_path):
    server.faults = [Fault("echo_auth", 1)]
    specs = plan_calls([ep(server)], TPL, units, 1)
    db = tmp_path / "c.sqlite"
    with Cache(db) as cache:
        assert run_calls(specs, cache).ok == 5
        assert {r.rationale for r in cache.records()} == {"echo Bearer ***"}
    for p in tmp_path.iterdir():
        assert SECRET.encode() not in p.read_bytes()
