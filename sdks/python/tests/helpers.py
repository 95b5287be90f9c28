"""Test helpers: API key generation, a webhook receiver and a scripted fake API server."""

from __future__ import annotations

import json
import re
import secrets
import socket
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple

import httpx
import pytest

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = BASE62[r] + out
    return out or "0"


def make_api_key() -> str:
    """A well-formed key: ``tng_`` + 40 base62 chars + base62(CRC-32 of those 44 bytes), 6 wide."""
    body = "tng_" + "".join(secrets.choice(BASE62) for _ in range(40))
    return body + base62(zlib.crc32(body.encode("ascii"))).rjust(6, "0")


def unused_port() -> int:
    """A port nothing listens on, for connection-refused cases. Not for starting a server
    on: it could be taken before the server binds it (servers listen on port 0 instead)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; ``None`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def skip_unless_route(base_url: str, api_key: str, route: str) -> None:
    """Skip the test when the server under test does not have ``route`` yet (404 route)."""
    r = httpx.get(base_url + route, headers={"Authorization": f"Bearer {api_key}"})
    if r.status_code == 404:
        try:
            details = r.json()["error"].get("details") or {}
        except (ValueError, KeyError, TypeError):
            details = {}
        if details.get("resource") == "route":
            shown = re.sub(r"proj_[0-9A-Za-z]+", "{project_id}", route.split("?")[0])
            pytest.skip(f"this tengine binary has no route {shown} (404 route)")


class Recorded:
    """One request as received; ``headers`` is case-insensitive (as HTTP header names are)."""

    def __init__(self, method: str, path: str, headers: List[Tuple[str, str]], body: bytes) -> None:
        self.method, self.path, self.body = method, path, body
        self.headers = httpx.Headers(headers)


class _Server:
    """An http.server on 127.0.0.1:0 in a daemon thread; ``handle`` answers each request."""

    def __init__(self, handle: Callable[[Recorded], Tuple[int, Dict[str, str], bytes]]) -> None:
        self.requests: List[Recorded] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rec = Recorded(self.command, self.path, list(self.headers.items()), body)
                with outer._lock:
                    outer.requests.append(rec)
                status, headers, payload = handle(rec)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def snapshot(self) -> List[Recorded]:
        with self._lock:
            return list(self.requests)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class WebhookReceiver(_Server):
    """Records every POST it receives and answers 200."""

    def __init__(self) -> None:
        super().__init__(lambda rec: (200, {"Content-Type": "text/plain"}, b"ok"))


class FakeApi(_Server):
    """Answers with a script of ``(status, headers, json_or_bytes)``; the last entry repeats."""

    def __init__(self, script: List[Tuple[int, Dict[str, str], Any]]) -> None:
        self._script = list(script)
        self._n = 0

        def handle(rec: Recorded) -> Tuple[int, Dict[str, str], bytes]:
            status, headers, body = self._script[min(self._n, len(self._script) - 1)]
            self._n += 1
            headers = dict(headers)
            if isinstance(body, (bytes, str)):
                payload = body.encode() if isinstance(body, str) else body
                headers.setdefault("Content-Type", "text/plain")
            else:
                payload = json.dumps(body).encode()
                headers.setdefault("Content-Type", "application/json")
            return status, headers, payload

        super().__init__(handle)


def error_body(code: str, message: str = "nope", details: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}, "request_id": "req_fake"}}
