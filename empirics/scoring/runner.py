"""Concurrent, retrying, cached calls to OpenAI-compatible chat-completions endpoints.

Each endpoint gets its own HTTP client and ``max_concurrency`` workers.  Transport
failures (refused connections and other connection errors, timeouts, 408, 429,
5xx, and malformed 200 responses: a truncated or non-JSON body, no ``choices``,
no message content) are retried with exponential backoff (seeded jitter,
``Retry-After`` honoured up to ``backoff_max_s``) up to ``max_retries`` times;
other 4xx answers stop that endpoint.  A well-formed completion whose text breaks
the rubric is logged and asked again, up to ``max_invalid_answers`` times, after
which the call is stored as ``invalid``.  Completed calls are committed to the
cache one by one and are never sent again (``retry_invalid`` re-asks the
``invalid`` ones).  :func:`failure_summary` groups a run's failed attempts by
endpoint and cause.
"""
from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import os
import random
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Iterable, Sequence
from urllib.parse import urlencode

from .cache import Cache, CallKey, CallRecord
from .config import EndpointConfig, FromEnv
from .errors import AnswerParseError, ConfigError, EndpointError, MalformedResponseError
from .occupations import Unit
from .parsing import parse_answer, parse_completion
from .templates import RubricTemplate

_MAX_LOGGED_BODY = 4000


@dataclass(frozen=True)
class CallSpec:
    endpoint: EndpointConfig
    template: RubricTemplate
    unit: Unit
    repeat: int

    @property
    def key(self) -> CallKey:
        return (self.endpoint.name, self.endpoint.model, self.template.sha256, self.unit.unit_id, self.repeat)


def request_id(key: CallKey) -> str:
    """A stable, key-free identifier of a call, sent as ``X-Client-Request-Id``."""
    return hashlib.sha256("\x1f".join(map(str, key)).encode()).hexdigest()[:32]


@dataclass
class RunStats:
    planned: int = 0
    cached: int = 0
    to_send: int = 0
    ok: int = 0
    invalid: int = 0
    failed: int = 0
    requests: int = 0
    retries: int = 0
    invalid_answers: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    elapsed_s: float = 0.0
    retried_invalid: int = 0
    started_at: float = 0.0
    endpoint_errors: dict[str, str] = field(default_factory=dict)
    #: per endpoint: requests, ok, invalid, failed (calls) in this run
    by_endpoint: dict[str, dict[str, int]] = field(default_factory=dict)

    def endpoint(self, name: str) -> dict[str, int]:
        d = self.by_endpoint.get(name)
        if d is None:
            d = self.by_endpoint[name] = {"requests": 0, "ok": 0, "invalid": 0, "failed": 0}
        return d

    @property
    def done(self) -> int:
        return self.ok + self.invalid

    def as_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["done"] = self.done
        return d


def plan_calls(
    endpoints: Sequence[EndpointConfig], template: RubricTemplate, units: Iterable[Unit], repeats: int
) -> list[CallSpec]:
    """Every (endpoint, unit, repeat) call, each key once, in a stable order."""
    units = list(units)
    seen: set[CallKey] = set()
    out = []
    for ep in endpoints:
        for u in units:
            for r in range(repeats):
                s = CallSpec(ep, template, u, r)
                if s.key not in seen:
                    seen.add(s.key)
                    out.append(s)
    return out


def _env(ep: EndpointConfig, var: str) -> str:
    value = os.environ.get(var)
    if not value:
        raise ConfigError(f"endpoint {ep.name!r}: environment variable {var} is not set or empty")
    return value


def resolve_api_key(ep: EndpointConfig) -> str | None:
    if ep.api_key_env is None:
        return None
    return _env(ep, ep.api_key_env)


@dataclass(frozen=True)
class ResolvedEndpoint:
    """An endpoint's request URL and headers with environment values filled in, and the secrets among them."""

    url: str
    headers: dict[str, str]
    secrets: tuple[str, ...]


def resolve_endpoint(ep: EndpointConfig) -> ResolvedEndpoint:
    """The final URL (``base_url/chat/completions?query``) and headers; raises ConfigError on an unset variable."""
    secrets: list[str] = []

    def value(v) -> str:
        if isinstance(v, FromEnv):
            got = _env(ep, v.env)
            secrets.append(got)
            return v.prefix + got
        return v

    headers = {"Content-Type": "application/json"}
    key = resolve_api_key(ep)
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
        secrets.append(key)
    for name, v in ep.headers.items():
        headers[name] = value(v)
    url = f"{ep.base_url}/chat/completions"
    if ep.query:
        url += "?" + urlencode({k: value(v) for k, v in ep.query.items()})
    return ResolvedEndpoint(url, headers, tuple(sorted(set(secrets), key=len, reverse=True)))


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _connection_outcome(exc: BaseException) -> str:
    os_error = getattr(exc, "os_error", None)
    if isinstance(os_error, ConnectionRefusedError) or getattr(os_error, "errno", None) == errno.ECONNREFUSED:
        return "connection_refused"
    return "connection_error"


class _Progress:
    """A rich progress bar, or nothing."""

    def __init__(self, enabled: bool, total: int, stats: RunStats) -> None:
        self.stats = stats
        self._p = None
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._p = Progress(
                TextColumn("[bold]scoring"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("failed {task.fields[failed]}  invalid {task.fields[invalid]}  tokens {task.fields[tokens]}"),
                TimeElapsedColumn(),
                transient=False,
            )
            self._task = self._p.add_task("scoring", total=total, failed=0, invalid=0, tokens=0)

    def __enter__(self) -> "_Progress":
        if self._p is not None:
            self._p.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._p is not None:
            self.update()
            self._p.stop()

    def update(self) -> None:
        if self._p is not None:
            s = self.stats
            self._p.update(
                self._task, completed=s.done + s.failed, failed=s.failed, invalid=s.invalid, tokens=s.total_tokens
            )


class _EndpointRunner:
    def __init__(
        self,
        ep: EndpointConfig,
        cache: Cache,
        stats: RunStats,
        progress: _Progress,
        *,
        max_invalid_answers: int,
        rng: random.Random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        replace_invalid: frozenset[CallKey] = frozenset(),
    ) -> None:
        self.ep = ep
        self.cache = cache
        self.stats = stats
        self.progress = progress
        self.max_invalid = max_invalid_answers
        self.rng = rng
        self.sleep = sleep
        self.stopped: str | None = None
        self.replace_invalid = replace_invalid
        self.ep_stats = stats.endpoint(ep.name)
        resolved = resolve_endpoint(ep)
        self.url = resolved.url
        self.headers = resolved.headers
        self._secrets = resolved.secrets  # only used to scrub echoed secrets from stored bodies and details
        self._messages: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.session = None

    def _payload(self, spec: CallSpec) -> bytes:
        mk = (spec.template.sha256, spec.unit.unit_id)
        msgs = self._messages.get(mk)
        if msgs is None:
            msgs = self._messages[mk] = spec.template.render(spec.unit)
        body = {"model": self.ep.model, "messages": msgs, "temperature": self.ep.temperature}
        if self.ep.max_tokens is not None:
            body["max_tokens"] = self.ep.max_tokens
        if self.ep.send_seed:
            body["seed"] = spec.repeat
        if self.ep.json_mode:
            body["response_format"] = {"type": "json_object"}
        body.update(self.ep.extra_body)
        return json.dumps(body, ensure_ascii=False).encode("utf-8")

    def _backoff(self, n: int, retry_after: str | None) -> float:
        base = min(self.ep.backoff_max_s, self.ep.backoff_base_s * 2 ** (n - 1))
        delay = base * (0.5 + self.rng.random())
        if retry_after:
            try:
                delay = max(delay, float(retry_after))
            except ValueError:
                pass
        return min(delay, self.ep.backoff_max_s)

    async def call(self, spec: CallSpec) -> None:
        """Run one call to completion, failure, or endpoint stop."""
        import aiohttp

        key = spec.key
        payload = self._payload(spec)
        headers = {**self.headers, "X-Client-Request-Id": request_id(key)}
        attempt = transient = invalid = 0
        pt = ct = tt = 0
        t0 = time.perf_counter()
        while self.stopped is None:
            attempt += 1
            self.stats.requests += 1
            self.ep_stats["requests"] += 1
            status = retry_after = body = None
            try:
                async with self.session.post(self.url, data=payload, headers=headers) as resp:
                    status = resp.status
                    retry_after = resp.headers.get("Retry-After")
                    raw = await resp.read()
            except asyncio.TimeoutError:
                outcome, detail = "timeout", f"no complete answer within {self.ep.timeout_s:g} s"
            except aiohttp.ClientPayloadError as exc:  # the body broke off after the status line
                outcome, detail = "malformed_response", self._scrub(_one_line(f"{type(exc).__name__}: {exc}"))
            except aiohttp.ClientError as exc:
                outcome = _connection_outcome(exc)
                detail = self._scrub(_one_line(f"{type(exc).__name__}: {exc}"))
            else:
                body = self._scrub(raw.decode("utf-8", errors="replace"))
                if status == 200:
                    try:
                        comp = parse_completion(body)
                    except MalformedResponseError as exc:  # a transport failure, not an answer
                        outcome, detail = "malformed_response", str(exc)
                    else:
                        pt, ct, tt = pt + comp.prompt_tokens, ct + comp.completion_tokens, tt + comp.total_tokens
                        self._count_tokens(comp.prompt_tokens, comp.completion_tokens, comp.total_tokens)
                        try:
                            ans = parse_answer(comp.content, spec.template)
                        except AnswerParseError as exc:
                            invalid += 1
                            self.stats.invalid_answers += 1
                            self.cache.log_attempt(
                                key, attempt, "invalid_answer", http_status=200, detail=str(exc),
                                raw_response=body[:_MAX_LOGGED_BODY],
                            )
                            if invalid >= self.max_invalid:
                                self._complete(spec, "invalid", None, None, None, body, str(exc), pt, ct, tt,
                                               attempt, invalid, t0)
                                return
                            self.progress.update()
                            continue
                        self._complete(spec, "ok", ans.label, ans.value, ans.rationale, body, None, pt, ct, tt,
                                       attempt, invalid, t0)
                        return
                else:
                    outcome, detail = f"http_{status}", None
                    if status not in (408, 429) and status < 500:
                        self.cache.log_attempt(key, attempt, outcome, http_status=status,
                                               raw_response=body[:_MAX_LOGGED_BODY])
                        self.stopped = f"HTTP {status} from {self.url_shown}: {_one_line(body)}"
                        break
            self.cache.log_attempt(
                key, attempt, outcome, http_status=status, detail=detail,
                raw_response=body[:_MAX_LOGGED_BODY] if body else None,
            )
            transient += 1
            if transient > self.ep.max_retries:
                self.stats.failed += 1
                self.ep_stats["failed"] += 1
                self.progress.update()
                return
            self.stats.retries += 1
            self.progress.update()
            await self.sleep(self._backoff(transient, retry_after))

    @property
    def url_shown(self) -> str:
        """The request URL without its query string (which may hold a secret)."""
        return self.url.split("?", 1)[0]

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text

    def _count_tokens(self, pt: int, ct: int, tt: int) -> None:
        self.stats.prompt_tokens += pt
        self.stats.completion_tokens += ct
        self.stats.total_tokens += tt

    def _complete(self, spec, status, label, value, rationale, body, error, pt, ct, tt, attempts, invalid, t0):
        u = spec.unit
        rec = CallRecord(
            endpoint=self.ep.name, model=self.ep.model, template_hash=spec.template.sha256, unit_id=u.unit_id,
            repeat=spec.repeat, template=spec.template.ident, occupation_code=u.occupation.code,
            task_index=u.task.index if u.task is not None else None, status=status, label=label, value=value,
            rationale=rationale, raw_response=body, error=error, prompt_tokens=pt, completion_tokens=ct,
            total_tokens=tt, attempts=attempts, invalid_answers=invalid, latency_s=time.perf_counter() - t0,
            completed_at=time.time(),
        )
        if self.cache.put(rec, replace_invalid=rec.key in self.replace_invalid):
            if status == "ok":
                self.stats.ok += 1
            else:
                self.stats.invalid += 1
            self.ep_stats[status] += 1
        self.progress.update()

    async def run(self, specs: list[CallSpec]) -> None:
        import aiohttp

        queue: asyncio.Queue[CallSpec] = asyncio.Queue()
        for s in specs:
            queue.put_nowait(s)

        async def worker() -> None:
            while self.stopped is None:
                try:
                    spec = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await self.call(spec)

        connector = aiohttp.TCPConnector(limit=self.ep.max_concurrency, limit_per_host=0)
        timeout = aiohttp.ClientTimeout(total=self.ep.timeout_s)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                         trust_env=self.ep.use_env_proxy) as session:
            self.session = session
            n = min(self.ep.max_concurrency, max(1, len(specs)))
            await asyncio.gather(*(worker() for _ in range(n)))
        self.session = None
        if self.stopped is not None:
            self.stats.endpoint_errors[self.ep.name] = self.stopped


async def _run_async(specs, cache, stats, progress, max_invalid_answers, seed, sleep, replace_invalid) -> None:
    by_ep: dict[str, list[CallSpec]] = {}
    eps: dict[str, EndpointConfig] = {}
    for s in specs:
        by_ep.setdefault(s.endpoint.name, []).append(s)
        eps[s.endpoint.name] = s.endpoint
    runners = [
        _EndpointRunner(
            eps[name], cache, stats, progress, max_invalid_answers=max_invalid_answers,
            rng=random.Random(f"{seed}:{name}"), sleep=sleep, replace_invalid=replace_invalid,
        )
        for name in by_ep
    ]
    await asyncio.gather(*(r.run(by_ep[r.ep.name]) for r in runners))


def run_calls(
    specs: Sequence[CallSpec],
    cache: Cache,
    *,
    max_invalid_answers: int = 3,
    seed: int = 0,
    progress: bool = False,
    sleep=asyncio.sleep,
    retry_invalid: bool = False,
) -> RunStats:
    """Send every call in ``specs`` that the cache does not hold yet.

    With ``retry_invalid`` the calls stored as ``invalid`` are asked again too (an
    ``invalid`` row stays until a new answer replaces it).  ``sleep`` (the backoff
    wait) can be replaced in tests.  Raises :class:`EndpointError` if an endpoint
    stopped on a non-retryable HTTP status, after all other work is done.
    """
    t0 = time.perf_counter()
    stats = RunStats(planned=len(specs), started_at=time.time())
    done: set[CallKey] = set()
    invalid: set[CallKey] = set()
    for ep_name, th in {(s.endpoint.name, s.template.sha256) for s in specs}:
        done |= cache.completed_keys(ep_name, th)
        if retry_invalid:
            invalid |= cache.completed_keys(ep_name, th, status="invalid")
    done -= invalid
    todo = [s for s in specs if s.key not in done]
    retried = frozenset(s.key for s in todo if s.key in invalid)
    stats.cached = len(specs) - len(todo)
    stats.to_send = len(todo)
    stats.retried_invalid = len(retried)
    for ep in {s.endpoint.name: s.endpoint for s in todo}.values():  # fail fast on missing variables
        resolve_endpoint(ep)
        stats.endpoint(ep.name)
    if todo:
        with _Progress(progress, len(todo), stats) as prog:
            asyncio.run(_run_async(todo, cache, stats, prog, max_invalid_answers, seed, sleep, retried))
    stats.elapsed_s = time.perf_counter() - t0
    if stats.endpoint_errors:
        msg = "; ".join(f"{k}: {v}" for k, v in stats.endpoint_errors.items())
        err = EndpointError(f"endpoint stopped: {msg}")
        err.stats = stats  # type: ignore[attr-defined]
        raise err
    return stats


#: Causes of failed attempts, in the order :func:`failure_summary` lists them.
CAUSES = ("refused connection", "connection error", "timeout", "HTTP 4xx", "HTTP 5xx", "malformed response",
          "invalid answer")


def attempt_cause(outcome: str, http_status: int | None) -> str:
    """The cause of a failed attempt as :func:`failure_summary` groups it."""
    if outcome == "connection_refused":
        return "refused connection"
    if outcome in ("connection_error", "transport_error"):  # transport_error: caches written before the split
        return "connection error"
    if outcome == "timeout":
        return "timeout"
    if outcome.startswith("http_"):
        code = http_status if http_status is not None else int(outcome[5:])
        return f"HTTP {code // 100}xx"
    if outcome == "malformed_response":
        return "malformed response"
    if outcome == "invalid_answer":
        return "invalid answer"
    return outcome


def _is_transport(outcome: str, http_status: int | None) -> bool:
    """A failure retried as a transport failure (everything but an invalid answer and a stopping 4xx)."""
    if outcome == "invalid_answer":
        return False
    if outcome.startswith("http_") and http_status is not None and 400 <= http_status < 500:
        return http_status in (408, 429)
    return True


def failure_summary(cache: Cache, stats: RunStats) -> list[str]:
    """Lines describing this run's failed attempts, from the cache's ``attempts`` table.

    Grouped by endpoint and cause (:data:`CAUSES`), with the HTTP statuses of each
    status class, or the latest detail of each other cause.  An endpoint every one
    of whose requests in this run failed at the transport level is called
    unreachable throughout.  Empty when nothing failed.
    """
    rows = [r for r in cache.failed_attempts(stats.started_at) if r[0] in stats.by_endpoint]
    if not rows:
        return []
    lines = ["failures by endpoint and cause (attempts in this run):"]
    for ep in sorted({r[0] for r in rows}):
        mine = [r for r in rows if r[0] == ep]
        counts = stats.by_endpoint[ep]
        n_failed = sum(r[3] for r in mine)
        n_transport = sum(r[3] for r in mine if _is_transport(r[1], r[2]))
        calls = f"calls: {counts['ok']} ok, {counts['invalid']} invalid, {counts['failed']} failed"
        if counts["requests"] and n_transport == counts["requests"]:
            lines.append(f"  {ep}: unreachable throughout: all {counts['requests']} requests failed at the"
                         f" transport level; {calls}")
        else:
            lines.append(f"  {ep}: {n_failed} of {counts['requests']} requests failed; {calls}")
        by_cause: dict[str, list] = {}
        for r in mine:
            by_cause.setdefault(attempt_cause(r[1], r[2]), []).append(r)
        for cause in sorted(by_cause, key=lambda c: (CAUSES.index(c) if c in CAUSES else len(CAUSES), c)):
            group = by_cause[cause]
            n = sum(r[3] for r in group)
            if cause.startswith("HTTP"):
                statuses: dict[int, int] = {}
                for r in group:
                    statuses[r[2]] = statuses.get(r[2], 0) + r[3]
                extra = ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
            else:
                extra = next((f"latest: {_one_line(r[4], 160)}" for r in reversed(group) if r[4]), "")
            lines.append(f"    {cause}: {n}" + (f" ({extra})" if extra else ""))
    return lines
