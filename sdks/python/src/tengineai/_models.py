"""Typed models of the API's resources. The dataclasses are generated from
docs/openapi.json into ``_models_gen.py`` (``cargo xtask sdk-models``); pages and the
names this package used before generation are written here. Unknown fields of a
response are kept in ``raw``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Iterator, List, Mapping, Optional, TypeVar

from . import _models_gen as _gen
from ._models_gen import (
    AccountAnalytics,
    Analytics,
    ClientRegistrationPolicy,
    Integration,
    IntegrationConnection,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    ErrorCode,
    Event,
    EventType,
    EventTypeInfo,
    IntegrationEventData,
    Me,
    SessionToken,
    SigningKey,
    ToolCall,
    ToolTestResult,
    Granularity,
    Pagination,
    Permission,
    Project,
    UsageAlertData,
    UsageCounts,
    Webhook,
    WebhookDisabled,
    WebhookDisabledData,
    WebhookTest,
    WebhookTestData,
)

__all__ = [
    "AccountAnalytics",
    "Project",
    "ApiKey",
    "Tool",
    "ToolCall",
    "ToolTestResult",
    "Integration",
    "IntegrationConnection",
    "ClientRegistrationPolicy",
    "SigningKey",
    "SessionToken",
    "Me",
    "Webhook",
    "WebhookDisabled",
    "WebhookDisabledData",
    "WebhookHealth",
    "WebhookTest",
    "DeliveryAttempt",
    "Delivery",
    "Event",
    "EventTypeInfo",
    "EventTypeCatalogue",
    "IntegrationEventData",
    "UsageAlertData",
    "WebhookTestData",
    "UsageCounts",
    "AnalyticsCounts",
    "AnalyticsBucket",
    "Analytics",
    "Pagination",
    "Page",
    "DeliveryStatus",
    "ErrorCode",
    "EventType",
    "Granularity",
    "Permission",
]

T = TypeVar("T")

AnalyticsCounts = UsageCounts
"""The ``totals`` of an analytics answer (a ``UsageCounts`` without ``timestamp``)."""
AnalyticsBucket = UsageCounts
"""One bucket of an analytics answer, starting at ``timestamp``."""


class ApiKey(_gen.ApiKey):
    """An API key. ``key`` (the secret) is set only in the create and rotate responses."""

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class Tool(_gen.Tool):
    """A custom tool. ``body_template`` is ``None`` when the request has no body (the
    generated reader would turn ``null`` into ``{}``, a body of an empty object)."""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Tool":
        tool = super().from_dict(d)
        tool.body_template = d.get("body_template")
        return tool


class WebhookHealth(_gen.WebhookHealth):
    """A webhook's health over the last 24 hours. ``disabled`` is a :class:`WebhookDisabled`
    (``reason`` ``gone``, ``failing`` or ``manual``, and ``at``) or ``None`` while the webhook
    is on; ``last_delivery`` its newest :class:`Delivery` with its attempts, or ``None`` (the
    generated reader would turn a ``null`` into ``{}``, indistinguishable from an object)."""

    disabled: Optional[WebhookDisabled]  # type: ignore[assignment]
    last_delivery: Optional[Delivery]  # type: ignore[assignment]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "WebhookHealth":
        health = super().from_dict(d)
        disabled, last = d.get("disabled"), d.get("last_delivery")
        health.disabled = WebhookDisabled.from_dict(disabled) if isinstance(disabled, Mapping) else None
        health.last_delivery = Delivery.from_dict(last) if isinstance(last, Mapping) else None
        return health


class EventTypeCatalogue(_gen.EventTypeCatalogue):
    """Every event type (``data``); iterating the catalogue yields its entries."""

    def __iter__(self) -> Iterator[EventTypeInfo]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


@dataclass
class Page(Generic[T]):
    """One page of a list: ``data`` and ``pagination``. Iterating a page yields its items.

    ``retained_since`` is the ``X-Tengine-Retained-Since`` header of the event and delivery
    lists: since when the list is complete (what finished before may have been purged);
    ``None`` on other lists."""

    data: List[T]
    pagination: Pagination
    retained_since: Optional[datetime] = None

    def has_next(self) -> bool:
        """Whether more items lie beyond this page in its direction: the server's ``has_more``,
        or for a server that does not send it, whether the pages so far are short of the total."""
        p = self.pagination
        if p.has_more is not None:
            return p.has_more
        return bool(self.data) and p.page is not None and p.page * p.per_page < p.total

    @property
    def next_page(self) -> Optional[int]:
        """The next page number of a numbered page (``None`` for a cursor page or the last page)."""
        p = self.pagination.page
        return p + 1 if p is not None and self.has_next() else None

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)
