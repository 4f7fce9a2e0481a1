"""A fake OpenAI-compatible chat server for tests and benchmarks: fixed answers, injected faults.

    with FakeOpenAIServer(faults=FaultRates(http_500=0.02, malformed=0.01)) as server:
        config = VerifyConfig(backend="openai", base_url=server.url, model="fake-model", ...)

It answers the three request kinds of the pipeline from fixed rules, so a run is reproducible:
``claims`` (one claim per TARGET sentence, its words as given; "opinion" when it holds an opinion
word), ``verdict`` (a label chosen by a hash of the claim; the first shown sentence id when the
schema asks for citations) and ``checkable``. A fault is drawn per request from a hash of the
request body and how many times that body was seen, so a retried request gets a fresh draw and
two servers with the same settings fail the same requests. ``python -m verify.testing_server``
serves one on its own.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OPINION_WORDS = ("reckless", "should", "shameful", "best")
LABELS = ("supported", "disputed", "unverifiable")
CONTEXT_MARKER = "OVERSIZE"  # a request holding this word is refused as too long for the context
CUT_MARKER = "LONGWINDED"  # an answer to a request holding it is cut by the token limit (one-sentence windows excepted)
DROP_MARKER = "UNPLUGGED"  # an extraction request holding it has its connection closed without an answer
DISCONNECT = object()  # the body of an answer that closes the connection instead


@dataclass(frozen=True)
class FaultRates:
    """Share of requests answered with each fault (drawn independently per attempt)."""

    rate_limit_retry_after: float = 0.0  # 429 with Retry-After: 1
    rate_limit: float = 0.0  # 429 without Retry-After
    http_500: float = 0.0
    http_503: float = 0.0
    slow: float = 0.0  # answers after slow_seconds (longer than the client's timeout)
    hang: float = 0.0  # never answers while the server runs
    malformed: float = 0.0  # content that is not JSON
    truncated: float = 0.0  # JSON cut in the middle, finish_reason "stop"
    length: float = 0.0  # JSON cut in the middle, finish_reason "length"
    disconnect: float = 0.0  # the connection is closed without an answer

    def pick(self, draw: float) -> str | None:
        edge = 0.0
        for name in self.__dataclass_fields__:
            edge += getattr(self, name)
            if draw < edge:
                return name
        return None


@dataclass
class ServerStats:
    requests: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    peak_in_flight: int = 0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256  # the default 5 resets connections when many clients connect at once


class FakeOpenAIServer:
    def __init__(
        self,
        *,
        faults: FaultRates | None = None,
        latency: float = 0.0,
        slow_seconds: float = 3.0,
        seed: str = "0",
        fail_all: str | None = None,
        port: int = 0,
    ) -> None:
        """``fail_all``: "auth" (401 to everything) or "quota" (429 insufficient_quota); can be set later."""
        self.faults = faults or FaultRates()
        self.latency = latency
        self.slow_seconds = slow_seconds
        self.seed = seed
        self.fail_all = fail_all
        self.stats = ServerStats()
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", port), _handler(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> FakeOpenAIServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset_stats(self) -> None:
        with self._lock:
            self.stats = ServerStats()

    # ----- answering ------------------------------------------------------------------------
    def _draw(self, raw: bytes) -> str | None:
        digest = hashlib.sha256(raw).hexdigest()
        with self._lock:
            self._seen[digest] += 1
            attempt = self._seen[digest]
        value = hashlib.sha256(f"{self.seed}:{digest}:{attempt}".encode()).digest()
        return self.faults.pick(int.from_bytes(value[:8], "big") / 2**64)

    def respond(self, raw: bytes) -> tuple[int, dict[str, str], Any, float]:
        """(status, headers, body, delay) for one request body; body None means never answer,
        :data:`DISCONNECT` close the connection without an answer."""
        body = json.loads(raw)
        kind = (body.get("response_format") or {}).get("json_schema", {}).get("name", "?")
        with self._lock:
            self.stats.requests += 1
            self.stats.by_kind[kind] += 1
        if self.fail_all == "auth":
            return 401, {}, _error("Incorrect API key provided", "invalid_api_key", "invalid_request_error"), 0
        if self.fail_all == "quota":
            return 429, {}, _error("You exceeded your current quota", "insufficient_quota", "insufficient_quota"), 0
        text_in = " ".join(m.get("content", "") for m in body.get("messages", []))
        if CONTEXT_MARKER in text_in:
            return 400, {}, _error("This model's maximum context length is 4096 tokens", "context_length_exceeded"), 0
        fault = self._draw(raw)
        if CUT_MARKER in text_in and (kind != "claims" or len(re.findall(r"^TARGET ", text_in, re.MULTILINE)) > 1):
            fault = "length"
        if kind == "claims" and DROP_MARKER in text_in:
            fault = "disconnect"
        if fault:
            with self._lock:
                self.stats.faults[fault] += 1
        delay = self.latency
        if fault == "rate_limit_retry_after":
            return 429, {"Retry-After": "1"}, _error("Rate limit reached", "rate_limit_exceeded"), delay
        if fault == "rate_limit":
            return 429, {}, _error("Rate limit reached", "rate_limit_exceeded"), delay
        if fault == "http_500":
            return 500, {}, _error("internal error", None, "server_error"), delay
        if fault == "http_503":
            return 503, {}, _error("overloaded", None, "server_error"), delay
        if fault == "hang":
            return 200, {}, None, 0
        if fault == "disconnect":
            return 200, {}, DISCONNECT, 0
        if fault == "slow":
            delay = self.slow_seconds
        content = json.dumps(answer(kind, body))
        finish = "stop"
        if fault == "malformed":
            content = "Sure! Here is the answer: " + content.replace('"', "'")
        elif fault in ("truncated", "length"):
            content = content[: max(1, len(content) // 2)]
            finish = "length" if fault == "length" else "stop"
        prompt_tokens = len(text_in.split())
        return (
            200,
            {},
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", "fake-model"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": finish,
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": len(content.split()),
                    "total_tokens": prompt_tokens + len(content.split()),
                    "prompt_tokens_details": {"cached_tokens": prompt_tokens // 2},
                },
            },
            delay,
        )


def answer(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """The fixed rules. Re-asks keep the original prompt as the second message."""
    messages = body.get("messages", [])
    prompt = messages[1]["content"] if len(messages) > 1 else messages[-1]["content"]
    if kind == "claims":
        claims = []
        for number, sentence in re.findall(r"^TARGET (\d+): (.+)$", prompt, re.MULTILINE):
            text = sentence.strip().rstrip(".!?")
            opinion = any(w in text.lower() for w in OPINION_WORDS)
            claims.append({"sentence": int(number), "claim": text, "kind": "opinion" if opinion else "fact"})
        return {"claims": claims}
    if kind == "verdict":
        match = re.search(r"^Claim: (.+)$", prompt, re.MULTILINE)
        claim = match.group(1) if match else prompt
        label = LABELS[int(hashlib.sha256(claim.encode()).hexdigest(), 16) % 3]
        schema = body["response_format"]["json_schema"]["schema"]
        out: dict[str, Any] = {"label": label}
        if "evidence" in schema.get("properties", {}):
            ids = schema["properties"]["evidence"].get("items", {}).get("enum") or []
            out["evidence"] = ids[:1]
        if "rationale" in schema.get("properties", {}):
            out["rationale"] = "By rule."
        return out
    if kind == "checkable":
        return {"checkable": True}
    return {}


def _error(message: str, code: str | None, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _handler(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if server._stopping.is_set():  # a stopped server answers nothing, kept-alive connections included
                self.close_connection = True
                return
            with server._lock:
                server.stats.in_flight += 1
                server.stats.peak_in_flight = max(server.stats.peak_in_flight, server.stats.in_flight)
            try:
                if not self.path.endswith("/chat/completions"):
                    status, headers, body, delay = 404, {}, _error("not found", None), 0.0
                else:
                    status, headers, body, delay = server.respond(raw)
                if body is None:  # a hang: hold the connection until the server stops
                    server._stopping.wait(120)
                    return
                if body is DISCONNECT:
                    self.close_connection = True
                    return
                if delay:
                    time.sleep(delay)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                with server._lock:
                    server.stats.in_flight -= 1

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the fake OpenAI-compatible chat endpoint.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before every answer")
    args = parser.parse_args()
    server = FakeOpenAIServer(latency=args.latency, port=args.port).start()
    print(server.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
