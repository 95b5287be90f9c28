"""Python SDK of the TengineAI REST API: ``from tengineai import TengineAI``."""

from . import tool_signature, webhooks
from ._client import TengineAI
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    IdempotencyKeyReusedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
    TengineError,
    ValidationError,
    WebhookVerificationError,
)
from ._http import DEFAULT_BASE_URL
from ._models import (
    Analytics,
    AnalyticsBucket,
    AnalyticsCounts,
    ApiKey,
    Delivery,
    DeliveryAttempt,
    Event,
    Page,
    Pagination,
    Project,
    Tool,
    UsageCounts,
    Webhook,
    WebhookTest,
)
from ._version import __version__
from .tool_signature import ToolSignatureError

__all__ = [
    "TengineAI",
    "DEFAULT_BASE_URL",
    "webhooks",
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
    "tool_signature",
    "ToolSignatureError",
    "Project",
    "ApiKey",
    "Tool",
    "Webhook",
    "WebhookTest",
    "UsageCounts",
    "Delivery",
    "DeliveryAttempt",
    "Event",
    "Analytics",
    "AnalyticsBucket",
    "AnalyticsCounts",
    "Page",
    "Pagination",
    "__version__",
]
