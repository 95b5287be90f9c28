"""The retry conformance scenarios of ``sdks/conformance/retries.json`` (the rule is
``docs/sdk-retries.md``), played by a scripted HTTP server on loopback."""

from __future__ import annotations

import email.utils
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from tengineai import TengineAI, TengineError

DOC = json.loads((Path(__file__).resolve().parents[2] / "conformance" / "retries.json").read_text())
SLACK = 1.5  # seconds a retry may come late on a loaded machine, above a wait's upper bound
EARLY = 0.002  # seconds timer rounding may shave off a wait's lower bound


class ScriptedServer:
    """Answers ``responses`` in order (the last repeats); records (arrival, method, key)."""

    def __init__(self, responses: List[Dict[str, Any]]) -> None:
        self.seen: List[Tuple[float, str, Any]] = []
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with lock:
                    outer.seen.append((time.monotonic(), self.command, self.headers.get("Idempotency-Key")))
                    answer = responses[min(len(outer.seen), len(responses)) - 1]
                self.close_connection = True
                if answer.get("reset"):
                    return  # the socket closes without an answer
                status = answer["status"]
                if status < 300:
                    payload = json.dumps(DOC["project"]).encode()
                else:
                    code = DOC["error_codes"].get(str(status), "INTERNAL_ERROR")
                    err = {"code": code, "message": "scripted", "details": {}, "request_id": "req_scripted"}
                    payload = json.dumps({"error": err}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Connection", "close")
                if "retry_after" in answer:
                    self.send_header("Retry-After", answer["retry_after"])
                if "retry_after_http_date_offset_s" in answer:
                    when = time.time() + answer["retry_after_http_date_offset_s"]
                    self.send_header("Retry-After", email.utils.formatdate(when, usegmt=True))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def test_the_conformance_file_lists_the_scenarios():
    assert len(DOC["scenarios"]) >= 10


@pytest.mark.parametrize("scenario", DOC["scenarios"], ids=[s["name"] for s in DOC["scenarios"]])
def test_retry_scenario(scenario: Dict[str, Any]) -> None:
    config = {**DOC["defaults"], **scenario.get("config", {})}
    expect = scenario["expect"]
    server = ScriptedServer(scenario["responses"])
    client = TengineAI(
        api_key="tng_x",
        base_url=server.url,
        max_retries=config["max_retries"],
        retry_base_delay=config["base_delay_ms"] / 1000,
        retry_max_delay=config["max_delay_ms"] / 1000,
    )
    call = scenario["call"]
    started = time.monotonic()
    try:
        try:
            if call == "create_project":
                result: Any = client.projects.create(name="x")
            else:
                result = client.projects.retrieve("proj_1")
        except TengineError as exc:
            result = exc
        elapsed = time.monotonic() - started
    finally:
        client.close()
        server.close()
    seen = server.seen

    assert len(seen) == expect["attempts"]
    if expect["outcome"] == "ok":
        assert not isinstance(result, Exception), result
        assert result.id == "proj_1"
    else:
        assert isinstance(result, TengineError), result
        assert result.status == expect["outcome"]["status"]
        if "retry_after_s" in expect["outcome"]:
            assert result.retry_after == expect["outcome"]["retry_after_s"]

    method = DOC["calls"][call]["method"]
    keys = [key for _, _, key in seen]
    assert all(m == method for _, m, _ in seen)
    if method == "POST":
        assert uuid.UUID(keys[0]).version == 4
        assert keys == [keys[0]] * len(keys), "one Idempotency-Key across retries"
    else:
        assert keys == [None] * len(keys)

    waits = expect["waits_ms"]
    assert len(waits) == len(seen) - 1
    for i, (lo, hi) in enumerate(waits):
        gap = seen[i + 1][0] - seen[i][0]
        assert gap + EARLY >= lo / 1000, f"retry {i + 1} came after {gap:.3f}s, before {lo} ms"
        assert gap <= hi / 1000 + SLACK, f"retry {i + 1} came after {gap:.3f}s, long after {hi} ms"
    if not waits:
        assert elapsed < config["max_delay_ms"] / 1000, f"failed at once, not after {elapsed:.3f}s"
