"""Verify that a call to your API came from Tengine (a tool with ``hmac_signature``).

Tengine signs each tool call with ``X-Tengine-Signature: tng2=<hex>``, the lowercase hex
HMAC-SHA256, keyed by the tool's secret (its UTF-8 bytes), of six lines joined by ``\\n``::

    tng2
    <X-Tengine-Timestamp>
    <X-Tengine-Request-Id>
    <HTTP method, upper case>
    <path and query exactly as on the request line, still percent-encoded>
    <lowercase hex SHA-256 of the raw body (of b"" without one)>

The header may hold several comma-separated values while a secret is rotated; any
``tng2=`` value may match. ``docs/tool-signing.md`` is the specification, with vectors.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple, Union

from ._errors import TengineError

__all__ = ["verify", "sign", "canonical_string", "ToolSignatureError", "DEFAULT_TOLERANCE"]

DEFAULT_TOLERANCE = 300
SCHEME = "tng2"

Payload = Union[bytes, bytearray, memoryview, str]
Headers = Union[Mapping[str, Any], Iterable[Tuple[str, Any]]]


class ToolSignatureError(TengineError):
    """A tool call's signature or timestamp did not verify."""


def _body(payload: Payload) -> bytes:
    if isinstance(payload, str):
        return payload.encode("utf-8")
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    raise TypeError("body must be the raw request body, as bytes or str")


def _lower_headers(headers: Headers) -> Dict[str, str]:
    items = headers.items() if hasattr(headers, "items") else headers
    out: Dict[str, str] = {}
    for name, value in items:  # type: ignore[union-attr]
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        out[str(name).lower()] = str(value)
    return out


def canonical_string(timestamp: Union[int, str], request_id: str, method: str, target: str, body: Payload) -> str:
    """The string Tengine signs for a call."""
    digest = hashlib.sha256(_body(body)).hexdigest()
    return "\n".join([SCHEME, str(timestamp), request_id, method.upper(), target, digest])


def sign(secret: str, timestamp: Union[int, str], request_id: str, method: str, target: str, body: Payload) -> str:
    """The ``X-Tengine-Signature`` value ``tng2=<hex>`` of a call (for tests and tools)."""
    canonical = canonical_string(timestamp, request_id, method, target, body)
    return SCHEME + "=" + hmac.new(secret.encode("utf-8"), canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def verify(
    secret: str,
    method: str,
    target: str,
    body: Payload,
    headers: Headers,
    tolerance: float = DEFAULT_TOLERANCE,
    *,
    now: Optional[float] = None,
) -> Dict[str, Optional[str]]:
    """Verify a tool call and return its ``X-Tengine-*`` facts.

    ``target`` is the request target exactly as received (path and query, still
    percent-encoded: ``self.path`` in ``http.server``; in ASGI, ``scope["raw_path"]``
    plus ``?`` and ``scope["query_string"]`` when there is one); ``body`` the raw body.
    The timestamp must be within ``tolerance`` seconds of ``now``. Returns
    ``project_id``, ``tool``, ``request_id``, ``timestamp``, ``member_id``,
    ``member_email`` and ``member_roles`` (``None`` when absent). Raises
    :class:`ToolSignatureError` on any failure.
    """
    if not secret:
        raise ToolSignatureError("No tool secret given")
    h = _lower_headers(headers)
    signature = h.get("x-tengine-signature")
    timestamp = h.get("x-tengine-timestamp")
    request_id = h.get("x-tengine-request-id")
    if not signature or not timestamp or not request_id:
        raise ToolSignatureError("Missing X-Tengine-Signature, X-Tengine-Timestamp or X-Tengine-Request-Id header")
    timestamp, request_id = timestamp.strip(), request_id.strip()
    if not timestamp.lstrip("-").isdigit():
        raise ToolSignatureError("Invalid X-Tengine-Timestamp header")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        raise ToolSignatureError("Call timestamp outside the tolerance")
    expected = sign(secret, timestamp, request_id, method, target, body).encode("ascii")
    matched = False
    for candidate in signature.split(","):
        candidate = candidate.strip()
        if not candidate.startswith(SCHEME + "="):
            continue
        # Compare every candidate (no early exit) in constant time.
        if hmac.compare_digest(expected, candidate.lower().encode("ascii", "replace")):
            matched = True
    if not matched:
        raise ToolSignatureError("No matching tng2 signature in X-Tengine-Signature")
    return {
        "project_id": h.get("x-tengine-project-id"),
        "tool": h.get("x-tengine-tool"),
        "request_id": request_id,
        "timestamp": timestamp,
        "member_id": h.get("x-tengine-member-id"),
        "member_email": h.get("x-tengine-member-email"),
        "member_roles": h.get("x-tengine-member-roles"),
    }
