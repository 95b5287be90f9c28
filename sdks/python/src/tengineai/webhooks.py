"""Verify that a webhook request came from Tengine.

Tengine signs every delivery twice:

* Standard Webhooks: ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature:
  v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`` (a space-separated list while a
  secret rotation is in its grace period). The key is the base64-decoded part after
  ``whsec_`` when the secret has that form, else the secret's UTF-8 bytes.
* The reference's scheme: ``X-Tengine-Signature: sha256=<hex HMAC-SHA256(secret, body)>``
  (a comma-separated list during rotation), keyed by the secret's UTF-8 bytes.

:func:`verify` checks the Standard Webhooks signature and timestamp when those headers
are present (they bind the timestamp, so a captured request can't be replayed later), and
falls back to ``X-Tengine-Signature`` only when they are absent. :func:`verify_event` does
the same and returns a :class:`WebhookEvent` whose ``data`` is the model of its ``type``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Tuple, Union

from ._errors import WebhookVerificationError
from ._models import (
    ApiKey,
    IntegrationEventData,
    Project,
    Tool,
    UsageAlertData,
    WebhookDisabledData,
    WebhookTestData,
)
from ._time import parse_datetime

__all__ = [
    "verify",
    "verify_event",
    "verify_signature",
    "sign",
    "WebhookEvent",
    "EventData",
    "WebhookVerificationError",
    "DEFAULT_TOLERANCE",
]

DEFAULT_TOLERANCE = 300
_SECRET_PREFIX = "whsec_"

Payload = Union[bytes, bytearray, memoryview, str]


def _body(payload: Payload) -> bytes:
    if isinstance(payload, str):
        return payload.encode("utf-8")
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    raise TypeError("payload must be the raw request body, as bytes or str")


def _lower_headers(headers: Union[Mapping[str, Any], Iterable[Tuple[str, Any]]]) -> Dict[str, str]:
    """Header names lowercased; works for dicts, httpx/requests headers and http.server's Message."""
    items = headers.items() if hasattr(headers, "items") else headers
    out: Dict[str, str] = {}
    for name, value in items:  # type: ignore[union-attr]
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        out[str(name).lower()] = str(value)
    return out


def standard_key(secret: str) -> bytes:
    """The HMAC key of the Standard Webhooks scheme for ``secret``."""
    if secret.startswith(_SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(_SECRET_PREFIX):], validate=True)
        except (binascii.Error, ValueError):
            pass
    return secret.encode("utf-8")


def sign(msg_id: str, timestamp: Union[int, str], payload: Payload, secret: str) -> str:
    """The Standard Webhooks signature ``v1,<base64>`` of a message (for tests and tools)."""
    signed = f"{msg_id}.{timestamp}.".encode("utf-8") + _body(payload)
    digest = hmac.new(standard_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def _simple_signature(payload: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()


def verify_signature(payload: Payload, signature_header: Optional[str], secret: str) -> bool:
    """Check an ``X-Tengine-Signature`` header (``sha256=<hex>``, comma-separated list).

    Returns ``True`` or raises :class:`WebhookVerificationError`. This scheme signs the
    body only; prefer :func:`verify`, which also bounds the timestamp.
    """
    if not secret:
        raise WebhookVerificationError("No webhook secret given")
    if not signature_header:
        raise WebhookVerificationError("Missing X-Tengine-Signature header")
    expected = _simple_signature(_body(payload), secret).encode("ascii")
    matched = False
    for candidate in signature_header.split(","):
        candidate = candidate.strip()
        scheme, _, value = candidate.partition("=")
        if scheme.lower() != "sha256" or not value:
            continue
        # Compare every candidate (no early exit) in constant time.
        if hmac.compare_digest(expected, ("sha256=" + value.lower()).encode("ascii", "replace")):
            matched = True
    if not matched:
        raise WebhookVerificationError("No matching signature in X-Tengine-Signature")
    return True


def _verify_standard(body: bytes, h: Mapping[str, str], secret: str, tolerance: Optional[float], now: float) -> None:
    msg_id = h.get("webhook-id")
    timestamp = h.get("webhook-timestamp")
    signatures = h.get("webhook-signature")
    if not msg_id or not timestamp or not signatures:
        raise WebhookVerificationError("Missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        ts = int(timestamp.strip())
    except ValueError:
        raise WebhookVerificationError("Invalid webhook-timestamp header") from None
    if tolerance is not None:
        if ts < now - tolerance:
            raise WebhookVerificationError("Message timestamp too old")
        if ts > now + tolerance:
            raise WebhookVerificationError("Message timestamp too new")
    expected = sign(msg_id, timestamp.strip(), body, secret).encode("ascii")
    matched = False
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version != "v1" or not value:
            continue
        if hmac.compare_digest(expected, ("v1," + value).encode("ascii", "replace")):
            matched = True
    if not matched:
        raise WebhookVerificationError("No matching signature in webhook-signature")


def verify(
    payload: Payload,
    headers: Union[Mapping[str, Any], Iterable[Tuple[str, Any]]],
    secret: str,
    tolerance: Optional[float] = DEFAULT_TOLERANCE,
    *,
    now: Optional[float] = None,
) -> Dict[str, Any]:
    """Verify a webhook request and return its parsed event (``{"id", "type", "data", ...}``).

    ``payload`` must be the raw body exactly as received; ``headers`` any mapping of the
    request's headers (names are matched case-insensitively). With Standard Webhooks
    headers, the signature and a timestamp within ``tolerance`` seconds of ``now`` are
    required (``tolerance=None`` skips the time check); otherwise ``X-Tengine-Signature``
    must match. Raises :class:`WebhookVerificationError` on any failure.
    """
    if not secret:
        raise WebhookVerificationError("No webhook secret given")
    body = _body(payload)
    h = _lower_headers(headers)
    if any(name in h for name in ("webhook-id", "webhook-timestamp", "webhook-signature")):
        _verify_standard(body, h, secret, tolerance, time.time() if now is None else now)
    elif "x-tengine-signature" in h:
        verify_signature(body, h["x-tengine-signature"], secret)
    else:
        raise WebhookVerificationError("No signature headers (webhook-signature or X-Tengine-Signature)")
    try:
        event = json.loads(body)
    except ValueError:
        raise WebhookVerificationError("Payload is not valid JSON") from None
    if not isinstance(event, dict):
        raise WebhookVerificationError("Payload is not a JSON object")
    return event


EventData = Union[
    Project, ApiKey, Tool, IntegrationEventData, UsageAlertData, WebhookTestData, WebhookDisabledData, Dict[str, Any]
]
"""A :class:`WebhookEvent`'s ``data``: the model of its type, or the dict as sent for a type
this SDK version does not know."""

# The model of each known type's `data` (the catalogue of `GET /event-types`).
_DATA_MODELS: Dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "project.created": Project.from_dict,
    "project.updated": Project.from_dict,
    "project.deleted": Project.from_dict,
    "api_key.created": ApiKey.from_dict,
    "api_key.updated": ApiKey.from_dict,
    "api_key.revoked": ApiKey.from_dict,
    "tool.created": Tool.from_dict,
    "tool.updated": Tool.from_dict,
    "tool.deleted": Tool.from_dict,
    "integration.connected": IntegrationEventData.from_dict,
    "integration.disconnected": IntegrationEventData.from_dict,
    "integration.updated": IntegrationEventData.from_dict,
    "usage.threshold_reached": UsageAlertData.from_dict,
    "usage.limit_exceeded": UsageAlertData.from_dict,
    "webhook.test": WebhookTestData.from_dict,
    "webhook.disabled": WebhookDisabledData.from_dict,
}


@dataclass
class WebhookEvent:
    """A verified event whose ``data`` is the model of its ``type``: :class:`Project`,
    :class:`ApiKey`, :class:`Tool`, :class:`IntegrationEventData`, :class:`UsageAlertData`,
    :class:`WebhookTestData` or :class:`WebhookDisabledData` (its ``webhook`` a :class:`Webhook`,
    never with its secret); for a type this SDK version does not know, the dict as sent.
    The whole event as sent is kept in ``raw``."""

    id: str
    type: str
    data: EventData
    created_at: Optional[datetime] = None
    api_version: str = ""
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def known(self) -> bool:
        """Whether this SDK version knows the type (``data`` is then a model, not a dict)."""
        return self.type in _DATA_MODELS

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "WebhookEvent":
        """An event as sent (e.g. :func:`verify`'s answer, or ``Event.raw`` from the event log).

        Raises :class:`WebhookVerificationError` when it is not an event, or when the
        ``data`` of a known type is not that type's object."""
        if not isinstance(d, Mapping) or not isinstance(d.get("id"), str) or not isinstance(d.get("type"), str):
            raise WebhookVerificationError("Payload is not an event (no string id and type)")
        kind = d["type"]
        data = d.get("data")
        parse = _DATA_MODELS.get(kind)
        if parse is None:
            typed: Any = dict(data) if isinstance(data, Mapping) else data
        else:
            if not isinstance(data, Mapping):
                raise WebhookVerificationError(f"The data of a {kind} event is not an object")
            try:
                typed = parse(data)
            except (AttributeError, KeyError, TypeError, ValueError) as e:
                raise WebhookVerificationError(f"The data of a {kind} event is malformed: {e!r}") from None
        try:
            created_at = parse_datetime(d.get("created_at"))
        except (TypeError, ValueError):
            raise WebhookVerificationError("Payload's created_at is not a timestamp") from None
        return cls(
            id=d["id"],
            type=kind,
            data=typed,
            created_at=created_at,
            api_version=d.get("api_version", ""),
            raw=dict(d),
        )


def verify_event(
    payload: Payload,
    headers: Union[Mapping[str, Any], Iterable[Tuple[str, Any]]],
    secret: str,
    tolerance: Optional[float] = DEFAULT_TOLERANCE,
    *,
    now: Optional[float] = None,
) -> WebhookEvent:
    """:func:`verify`, returning a :class:`WebhookEvent` whose ``data`` is the model of its
    ``type`` (the dict as sent for a type this SDK version does not know).

    Raises :class:`WebhookVerificationError` on any failure of :func:`verify`, and when the
    ``data`` of a known type is not that type's object.
    """
    return WebhookEvent.from_dict(verify(payload, headers, secret, tolerance, now=now))
