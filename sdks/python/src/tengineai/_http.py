"""The HTTP layer: authentication, retries with backoff, idempotency keys, error mapping."""

from __future__ import annotations

import email.utils
import json
import random
import time
import uuid
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Tuple
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from ._errors import (
    APIConnectionError,
    APITimeoutError,
    RateLimitError,
    ServiceUnavailableError,
    TengineError,
    error_class,
)
from ._sse import ServerSentEvent, SSEParser
from ._version import __version__

DEFAULT_BASE_URL = "https://app.tengine.ai/api/v1"
API_PREFIX = "/api/v1"
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# Event streams: the pause before the first reconnection, doubled after each failed one.
STREAM_FIRST_PAUSE = 0.5
STREAM_MAX_PAUSE = 10.0
# The server sends a keep-alive comment every 15 s: three missed means the connection is
# gone, and the stream resumes on a new one.
STREAM_READ_TIMEOUT = 45.0


def normalize_base_url(url: str) -> str:
    """Append ``/api/v1`` unless the URL's path already ends with it; drop a trailing ``/``."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    if not path.endswith(API_PREFIX):
        path += API_PREFIX
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def path(*segments: str) -> str:
    """A route from segments, each id percent-encoded so it can't escape its segment."""
    return "/" + "/".join(quote(str(s), safe="") for s in segments)


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; ``None`` when absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


class HttpClient:
    """Sends requests to the API and turns answers into JSON values or typed errors."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        timeout: float,
        max_retries: int,
        retry_base_delay: float,
        retry_max_delay: float,
        http_client: Optional[httpx.Client] = None,
        default_headers: Optional[Mapping[str, str]] = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_key = api_key
        self.base_url = normalize_base_url(base_url)
        self.max_retries = max(0, int(max_retries))
        self.retry_base_delay = retry_base_delay
        self.retry_max_delay = retry_max_delay
        self._sleep = sleep
        self._owns_client = http_client is None
        self._client = http_client or httpx.Client(timeout=timeout)
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Accept": "application/json",
            "User-Agent": f"tengineai-python/{__version__}",
        }
        self._headers.update(default_headers or {})

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def backoff(self, attempt: int, retry_after: Optional[float]) -> Optional[float]:
        """Delay before retry number ``attempt + 1`` (docs/sdk-retries.md): exponential from
        ``retry_base_delay`` capped at ``retry_max_delay``, with equal jitter in [b/2, b];
        ``Retry-After`` is a lower bound. ``None`` when ``Retry-After`` exceeds the cap:
        the caller gets the error at once rather than a longer sleep or a doomed retry."""
        if retry_after is not None and retry_after > self.retry_max_delay:
            return None
        delay = min(self.retry_max_delay, self.retry_base_delay * (2**attempt))
        jittered = delay * (0.5 + random.random() / 2)
        return jittered if retry_after is None else max(retry_after, jittered)

    def request(
        self,
        method: str,
        route: str,
        *,
        params: Optional[Mapping[str, Any]] = None,
        json_body: Any = None,
        send_body: bool = False,
        idempotency_key: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> Any:
        """Send a request, retrying 429/502/503/504 and connection errors as docs/sdk-retries.md
        says (a POST always carries an ``Idempotency-Key``, the same on every retry). Returns the parsed
        JSON body (``None`` for 204) or raises a :class:`TengineError` subclass."""
        return self._handle(
            self._send(method, route, params, json_body, send_body, idempotency_key, headers)
        )

    def request_with_headers(
        self,
        method: str,
        route: str,
        *,
        params: Optional[Mapping[str, Any]] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> Tuple[Any, httpx.Headers]:
        """:meth:`request`, also returning the answer's headers."""
        response = self._send(method, route, params, None, False, None, headers)
        return self._handle(response), response.headers

    def _send(
        self,
        method: str,
        route: str,
        params: Optional[Mapping[str, Any]],
        json_body: Any,
        send_body: bool,
        idempotency_key: Optional[str],
        headers: Optional[Mapping[str, str]],
    ) -> httpx.Response:
        """The answer of one logical call, after the retries of docs/sdk-retries.md."""
        method = method.upper()
        extra = headers
        headers = dict(self._headers)
        if extra:
            headers.update(extra)
        if method == "POST":
            # One key per logical call, reused by its retries, so a retried create is applied once.
            headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        content: Optional[bytes] = None
        if json_body is not None or send_body:
            content = json.dumps(json_body if json_body is not None else {}).encode("utf-8")
            headers["Content-Type"] = "application/json"
        query = {k: v for k, v in (params or {}).items() if v is not None}
        url = self.base_url + route

        attempt = 0
        while True:
            try:
                response = self._client.request(method, url, params=query or None, content=content, headers=headers)
            except httpx.TransportError as exc:
                wait = self.backoff(attempt, None) if attempt < self.max_retries else None
                if wait is not None:
                    self._sleep(wait)
                    attempt += 1
                    continue
                cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
                raise cls(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from exc

            if response.status_code in RETRYABLE_STATUSES and attempt < self.max_retries:
                wait = self.backoff(attempt, parse_retry_after(response.headers.get("Retry-After")))
                if wait is not None:
                    response.close()
                    self._sleep(wait)
                    attempt += 1
                    continue
            return response

    def stream(self, route: str, last_event_id: Optional[str] = None) -> Iterator[ServerSentEvent]:
        """Follow a Server-Sent Events route: its messages, one connection after another, each
        resuming (``Last-Event-ID``) after the last id received. The first connection is
        retried as any call is; a reconnection after any 5xx, 429 or connection error, after
        a pause of 0.5 s doubling to 10 s, until it succeeds. A 4xx other than 429 is raised:
        waiting would not change the answer. Closing the generator closes the connection."""
        url = self.base_url + route
        reconnecting = False
        while True:
            response = self._open_stream(url, last_event_id, reconnecting)
            reconnecting = True
            parser = SSEParser()
            try:
                for chunk in response.iter_bytes():
                    for message in parser.feed(chunk):
                        if message.id:
                            last_event_id = message.id
                        yield message
            except httpx.TransportError:
                # The connection dropped or went silent: resume. A message cut short is
                # dropped; it comes again after Last-Event-ID.
                pass
            finally:
                response.close()

    def _open_stream(self, url: str, last_event_id: Optional[str], reconnecting: bool) -> httpx.Response:
        """A streaming answer with a 2xx status, retried as :meth:`stream` says."""
        headers = dict(self._headers)
        headers["Accept"] = "text/event-stream"
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        configured = self._client.timeout
        read = None if configured.read is None else max(configured.read, STREAM_READ_TIMEOUT)
        timeout = httpx.Timeout(connect=configured.connect, read=read, write=configured.write, pool=configured.pool)
        attempt = 0
        pause = STREAM_FIRST_PAUSE
        wait: Optional[float] = None
        if reconnecting:
            wait, pause = pause, min(pause * 2, STREAM_MAX_PAUSE)
        while True:
            if wait is not None:
                self._sleep(wait)
            retry_after: Optional[float] = None
            error: TengineError
            try:
                request = self._client.build_request("GET", url, headers=headers, timeout=timeout)
                response = self._client.send(request, stream=True)
                if 200 <= response.status_code < 300:
                    return response
                try:
                    response.read()
                finally:
                    response.close()
            except httpx.TransportError as exc:
                error = transport_error(exc)
            else:
                status = response.status_code
                error = error_from_response(response)
                if not (status in RETRYABLE_STATUSES or (reconnecting and status >= 500)):
                    raise error
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if reconnecting:
                if retry_after is not None and retry_after > self.retry_max_delay:
                    raise error
                wait = max(pause, retry_after or 0.0)
                pause = min(pause * 2, STREAM_MAX_PAUSE)
            else:
                wait = self.backoff(attempt, retry_after) if attempt < self.max_retries else None
                if wait is None:
                    raise error
                attempt += 1

    @staticmethod
    def _handle(response: httpx.Response) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            if status == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError as exc:
                raise TengineError(
                    "The server answered with a body that is not JSON",
                    status=status,
                    request_id=response.headers.get("X-Request-Id"),
                    headers=response.headers,
                    body=response.text,
                ) from exc
        raise error_from_response(response)


def transport_error(exc: httpx.TransportError) -> TengineError:
    """The typed error for a request that got no answer (``__cause__`` is ``exc``)."""
    cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
    error: TengineError = cls(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    error.__cause__ = exc
    return error


def error_from_response(response: httpx.Response) -> TengineError:
    """The typed error for a non-2xx answer; a body that isn't the envelope still gives one."""
    status = response.status_code
    request_id = response.headers.get("X-Request-Id")
    code: Optional[str] = None
    details: Dict[str, Any] = {}
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = response.text
    envelope = body.get("error") if isinstance(body, dict) else None
    if isinstance(envelope, dict):
        code = envelope.get("code") if isinstance(envelope.get("code"), str) else None
        message = str(envelope.get("message") or response.reason_phrase or f"HTTP {status}")
        details = envelope.get("details") if isinstance(envelope.get("details"), dict) else {}
        request_id = envelope.get("request_id") or request_id
    else:
        text = body.strip() if isinstance(body, str) else ""
        message = f"HTTP {status} {response.reason_phrase}".strip()
        if text:
            message += f": {text[:200]}"
    cls = error_class(status, code)
    kwargs: Dict[str, Any] = dict(
        status=status, code=code, details=details, request_id=request_id, headers=response.headers, body=body
    )
    if issubclass(cls, (RateLimitError, ServiceUnavailableError)):
        kwargs["retry_after"] = parse_retry_after(response.headers.get("Retry-After"))
    return cls(message, **kwargs)
