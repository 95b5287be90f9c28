"""The exception hierarchy: every failure of an API call is a :class:`TengineError`."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

__all__ = [
    "TengineError",
    "APIConnectionError",
    "APITimeoutError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ValidationError",
    "IdempotencyKeyReusedError",
    "RateLimitError",
    "ServerError",
    "ServiceUnavailableError",
    "WebhookVerificationError",
]


class TengineError(Exception):
    """Base class of every error raised by the SDK.

    For an error answered by the server, ``status`` is the HTTP status and ``code``,
    ``message``, ``details`` and ``request_id`` come from the error envelope
    ``{"error": {"code", "message", "details", "request_id"}}``. ``request_id`` falls
    back to the ``X-Request-Id`` response header.
    """

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        code: Optional[str] = None,
        details: Optional[Dict[str, Any]] = None,
        request_id: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details: Dict[str, Any] = details if isinstance(details, dict) else {}
        self.request_id = request_id
        self.headers: Dict[str, str] = dict(headers or {})
        self.body = body

    @property
    def status_code(self) -> Optional[int]:
        """Alias of :attr:`status`."""
        return self.status

    def __str__(self) -> str:
        parts = []
        if self.status is not None:
            parts.append(str(self.status))
        if self.code:
            parts.append(self.code)
        head = " ".join(parts)
        text = f"{head}: {self.message}" if head else self.message
        if self.request_id:
            text += f" (request_id={self.request_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


class APIConnectionError(TengineError):
    """The server could not be reached, or the connection failed mid-request."""


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class AuthenticationError(TengineError):
    """401 ``INVALID_API_KEY``: the key is missing, malformed, unknown, expired or revoked."""


class PermissionDeniedError(TengineError):
    """403 ``INSUFFICIENT_PERMISSIONS``: ``details`` names the permission required."""


class NotFoundError(TengineError):
    """404 ``PROJECT_NOT_FOUND`` or ``NOT_FOUND`` (``details.resource`` says what)."""


class ValidationError(TengineError):
    """400/422 ``VALIDATION_ERROR``: ``details`` has ``field`` and ``reason`` (and ``errors``)."""

    @property
    def field(self) -> Optional[str]:
        """The first invalid field, when the server named one."""
        value = self.details.get("field")
        return value if isinstance(value, str) else None


class IdempotencyKeyReusedError(ValidationError):
    """422 ``IDEMPOTENCY_KEY_REUSED``: the same ``Idempotency-Key`` with a different request."""


class RateLimitError(TengineError):
    """429 ``RATE_LIMIT_EXCEEDED``; ``retry_after`` is the ``Retry-After`` header in seconds."""

    def __init__(self, message: str, *, retry_after: Optional[float] = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after

    @property
    def limit(self) -> Optional[int]:
        """The hourly limit (``details.limit``)."""
        value = self.details.get("limit")
        return value if isinstance(value, int) else None

    @property
    def reset_at(self) -> Optional[str]:
        """When the window resets (``details.reset_at``, RFC 3339)."""
        value = self.details.get("reset_at")
        return value if isinstance(value, str) else None


class ServerError(TengineError):
    """5xx: ``INTERNAL_ERROR`` or ``SERVICE_UNAVAILABLE`` (or a proxy's 502/504)."""


class ServiceUnavailableError(ServerError):
    """503 ``SERVICE_UNAVAILABLE``; ``retry_after`` is the ``Retry-After`` header in seconds."""

    def __init__(self, message: str, *, retry_after: Optional[float] = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class WebhookVerificationError(TengineError):
    """A webhook request's signature, timestamp or payload did not verify."""


_BY_CODE = {
    "INVALID_API_KEY": AuthenticationError,
    "INSUFFICIENT_PERMISSIONS": PermissionDeniedError,
    "PROJECT_NOT_FOUND": NotFoundError,
    "NOT_FOUND": NotFoundError,
    "VALIDATION_ERROR": ValidationError,
    "IDEMPOTENCY_KEY_REUSED": IdempotencyKeyReusedError,
    "RATE_LIMIT_EXCEEDED": RateLimitError,
    "INTERNAL_ERROR": ServerError,
    "SERVICE_UNAVAILABLE": ServiceUnavailableError,
}

_BY_STATUS = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: ValidationError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def error_class(status: int, code: Optional[str]) -> type:
    """The exception class for an error response: by code first, then by status."""
    if code in _BY_CODE:
        return _BY_CODE[code]
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return TengineError
