"""A local OpenAI-compatible chat-completions server for tests and benchmarks.

It listens on 127.0.0.1, speaks HTTP/1.1 with keep-alive, and answers
``POST /v1/chat/completions`` deterministically from the prompt: the answer's
keys and allowed labels are read from the JSON example at the end of the system
prompt (``{"KEY": "A|B|C", "KEY2": ...}`` or ``{"KEY": <number ...>, ...}``)
and the label is chosen by a hash of the model, the user prompt and the
``seed`` field.  Faults can be injected per call (per ``X-Client-Request-Id``):
``429``, ``500``, ``hang``, ``malformed`` (an HTML 200 body), ``truncated``
(half a 200 body), ``cut`` (a 200 whose body breaks off: the connection closes
before ``Content-Length`` bytes), ``empty_choices``, ``no_content`` (a message
with ``content: null``), ``bad_label``, ``prose`` and ``echo_auth`` (a valid
answer whose rationale repeats the ``Authorization`` header, as a misbehaving
proxy might).  Every request is recorded with its path (query string included)
and headers.  ``key_header`` names the header that must carry ``api_key``
(``authorization``: ``Bearer KEY``; any other, e.g. Azure's ``api-key``: ``KEY``).

Run standalone from the repository root with ``python -m benchmarks.references.fakeserver --port 8099``.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field

_EXAMPLE_CHOICE = re.compile(r'\{"([^"]+)": "([A-Za-z0-9|]+)", "([^"]+)": "[^"]*"\}')
_EXAMPLE_NUMBER = re.compile(r'\{"([^"]+)": <[^>]*>, "([^"]+)": "[^"]*"\}')
FAULT_KINDS = ("429", "500", "hang", "malformed", "truncated", "cut", "empty_choices", "no_content", "bad_label",
               "prose", "echo_auth")


@dataclass(frozen=True)
class Fault:
    """Apply ``kind`` to the first ``times`` requests of every call whose user prompt contains ``match``."""

    kind: str
    times: int = 1
    match: str = ""

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}")


@dataclass(frozen=True)
class RequestLog:
    request_id: str
    status: int
    fault: str | None
    authorized: bool
    at: float
    path: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # names lower-cased


@dataclass
class FakeOpenAIServer:
    api_key: str | None = None
    key_header: str = "authorization"
    latency_s: float = 0.0
    hang_s: float = 30.0
    faults: list[Fault] = field(default_factory=list)
    port: int = 0
    log: list[RequestLog] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._ready = threading.Event()
        self._handlers: set[asyncio.Task] = set()

    # -- lifecycle --------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "FakeOpenAIServer":
        self._thread = threading.Thread(target=self._serve_thread, name="fake-openai", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake server did not start")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        fut.result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None

    def __enter__(self) -> "FakeOpenAIServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _serve_thread(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._server = loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self.port, backlog=1024)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for t in list(self._handlers):
            t.cancel()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    # -- accounting -------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Number of requests received per request id."""
        with self._lock:
            out: dict[str, int] = {}
            for r in self.log:
                out[r.request_id] = out.get(r.request_id, 0) + 1
            return out

    def served_ok(self) -> dict[str, int]:
        """Number of well-formed, valid 200 answers sent per request id."""
        with self._lock:
            out: dict[str, int] = {}
            for r in self.log:
                if r.status == 200 and r.fault is None:
                    out[r.request_id] = out.get(r.request_id, 0) + 1
            return out

    # -- HTTP -------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for ln in lines[1:]:
                    if ":" in ln:
                        k, v = ln.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, payload, extra = await self._respond(method, path, headers, body)
                if status is None:  # hang: keep the connection silent, then drop it
                    writer.close()
                    return
                length = extra.pop("Content-Length", len(payload))
                hdrs = "".join(f"{k}: {v}\r\n" for k, v in extra.items())
                writer.write(
                    f"HTTP/1.1 {status} {'OK' if status == 200 else 'ERR'}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {length}\r\n{hdrs}\r\n".encode() + payload
                )
                await writer.drain()
                if length != len(payload):  # cut: the body breaks off
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._handlers.discard(task)
            writer.close()

    def _fault_for(self, rid: str, user: str) -> str | None:
        with self._lock:
            n = self._seen.get(rid, 0)
            self._seen[rid] = n + 1
        seq: list[str] = []
        for f in self.faults:
            if f.match in user:
                seq.extend([f.kind] * f.times)
        return seq[n] if n < len(seq) else None

    def _record(self, req: tuple[str, dict], rid: str, status: int, fault: str | None, authorized: bool) -> None:
        with self._lock:
            self.log.append(RequestLog(rid, status, fault, authorized, time.time(), req[0], dict(req[1])))

    async def _respond(self, method: str, path: str, headers: dict, body: bytes):
        rid = headers.get("x-client-request-id", "")
        seen = (path, headers)
        expected = f"Bearer {self.api_key}" if self.key_header.lower() == "authorization" else self.api_key
        authorized = self.api_key is None or headers.get(self.key_header.lower()) == expected
        if method != "POST" or not path.split("?", 1)[0].endswith("/chat/completions"):
            self._record(seen, rid, 404, None, authorized)
            return 404, b'{"error": {"message": "not found"}}', {}
        if not authorized:
            self._record(seen, rid, 401, None, authorized)
            return 401, b'{"error": {"message": "invalid api key"}}', {}
        req = json.loads(body)
        messages = req["messages"]
        system = next((m["content"] for m in messages if m["role"] == "system"), "")
        user = next((m["content"] for m in messages if m["role"] == "user"), "")
        fault = self._fault_for(rid, user)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if fault == "429":
            self._record(seen, rid, 429, fault, authorized)
            return 429, b'{"error": {"message": "rate limited"}}', {"Retry-After": "0"}
        if fault == "500":
            self._record(seen, rid, 500, fault, authorized)
            return 500, b'{"error": {"message": "internal error"}}', {}
        if fault == "hang":
            self._record(seen, rid, 0, fault, authorized)
            await asyncio.sleep(self.hang_s)
            return None, b"", {}
        content = self.answer(req.get("model", ""), system, user, req.get("seed"))
        if fault == "bad_label":
            content = re.sub(r'": "[A-Z0-9]+"', '": "E5"', content, count=1)
        elif fault == "echo_auth":
            obj = json.loads(content)
            obj[list(obj)[1]] = "echo " + headers.get("authorization", "")
            content = json.dumps(obj, ensure_ascii=False)
        elif fault == "prose":
            content = "I would say it is E1 because the work is mostly writing."
        completion = {
            "id": "chatcmpl-" + rid[:12],
            "object": "chat.completion",
            "created": 0,
            "model": req.get("model", ""),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": len(system) + len(user),
                "completion_tokens": len(content),
                "total_tokens": len(system) + len(user) + len(content),
            },
        }
        if fault == "empty_choices":
            completion["choices"] = []
        elif fault == "no_content":
            completion["choices"][0]["message"]["content"] = None
        data = json.dumps(completion, ensure_ascii=False).encode()
        extra: dict[str, object] = {}
        if fault == "malformed":
            data = b"<html><body>Bad gateway</body></html>"
        elif fault == "truncated":
            data = data[: len(data) // 2]
        elif fault == "cut":
            extra["Content-Length"] = len(data)
            data = data[: len(data) // 2]
        self._record(seen, rid, 200, fault, authorized)
        return 200, data, extra

    @staticmethod
    def answer(model: str, system: str, user: str, seed=None) -> str:
        """The deterministic answer text for a prompt."""
        h = int.from_bytes(hashlib.sha256(f"{model}\x1f{user}\x1f{seed}".encode()).digest()[:8], "big")
        m = _EXAMPLE_CHOICE.search(system)
        if m:
            lk, options, rk = m.group(1), m.group(2).split("|"), m.group(3)
            label = options[h % len(options)]
            return json.dumps({lk: label, rk: f"deterministic answer {h % 1000}."}, ensure_ascii=False)
        m = _EXAMPLE_NUMBER.search(system)
        if m:
            lk, rk = m.group(1), m.group(2)
            return json.dumps({lk: (h % 6) / 5, rk: f"deterministic answer {h % 1000}."}, ensure_ascii=False)
        return "no answer format found in the system prompt"


def expected_label(model: str, messages: list[dict[str, str]], seed=None) -> str:
    """The label the fake server answers for these messages (for tests)."""
    system = next(m["content"] for m in messages if m["role"] == "system")
    user = next(m["content"] for m in messages if m["role"] == "user")
    obj = json.loads(FakeOpenAIServer.answer(model, system, user, seed))
    return str(next(iter(obj.values())))


def main(argv: list[str] | None = None) -> None:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=8099)
    p.add_argument("--latency", type=float, default=0.0)
    a = p.parse_args(argv)
    srv = FakeOpenAIServer(port=a.port, latency_s=a.latency).start()
    print(f"listening on {srv.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()


if __name__ == "__main__":
    main()
