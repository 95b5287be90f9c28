"""Typed models of the API's resources. Unknown fields of a response are kept in ``raw``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, Generic, Iterator, List, Mapping, Optional, TypeVar

from ._time import parse_datetime

__all__ = [
    "Project",
    "ApiKey",
    "Webhook",
    "DeliveryAttempt",
    "Delivery",
    "Event",
    "AnalyticsCounts",
    "AnalyticsBucket",
    "Analytics",
    "Pagination",
    "Page",
]

T = TypeVar("T")


def _raw(d: Mapping[str, Any]) -> Dict[str, Any]:
    return dict(d)


@dataclass
class Project:
    """A project: ``GET/POST /projects``."""

    id: str
    name: str
    description: Optional[str] = None
    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Project":
        return cls(
            id=d["id"],
            name=d.get("name", ""),
            description=d.get("description"),
            created_at=parse_datetime(d.get("created_at")),
            updated_at=parse_datetime(d.get("updated_at")),
            raw=_raw(d),
        )


@dataclass
class ApiKey:
    """An API key. ``key`` (the secret) is set only in the create and rotate responses."""

    id: str
    name: str
    permissions: List[str] = field(default_factory=list)
    project_id: Optional[str] = None
    prefix: Optional[str] = None
    key: Optional[str] = field(default=None, repr=False)
    expires_at: Optional[datetime] = None
    created_at: Optional[datetime] = None
    last_used_at: Optional[datetime] = None
    revoked_at: Optional[datetime] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ApiKey":
        return cls(
            id=d["id"],
            name=d.get("name", ""),
            permissions=list(d.get("permissions") or []),
            project_id=d.get("project_id"),
            prefix=d.get("prefix"),
            key=d.get("key"),
            expires_at=parse_datetime(d.get("expires_at")),
            created_at=parse_datetime(d.get("created_at")),
            last_used_at=parse_datetime(d.get("last_used_at")),
            revoked_at=parse_datetime(d.get("revoked_at")),
            raw={k: v for k, v in d.items() if k != "key"},
        )


@dataclass
class Webhook:
    """A webhook endpoint. ``secret`` is set only in the create and rotate-secret responses."""

    id: str
    url: str
    events: List[str] = field(default_factory=list)
    project_id: Optional[str] = None
    description: Optional[str] = None
    active: bool = True
    secret: Optional[str] = field(default=None, repr=False)
    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Webhook":
        return cls(
            id=d["id"],
            url=d.get("url", ""),
            events=list(d.get("events") or []),
            project_id=d.get("project_id"),
            description=d.get("description"),
            active=bool(d.get("active", True)),
            secret=d.get("secret"),
            created_at=parse_datetime(d.get("created_at")),
            updated_at=parse_datetime(d.get("updated_at")),
            raw={k: v for k, v in d.items() if k != "secret"},
        )


@dataclass
class DeliveryAttempt:
    """One attempt at sending a delivery."""

    attempted_at: Optional[datetime] = None
    status_code: Optional[int] = None
    latency_ms: Optional[int] = None
    error: Optional[str] = None
    response_excerpt: Optional[str] = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "DeliveryAttempt":
        return cls(
            attempted_at=parse_datetime(d.get("attempted_at")),
            status_code=d.get("status_code"),
            latency_ms=d.get("latency_ms"),
            error=d.get("error"),
            response_excerpt=d.get("response_excerpt"),
        )


@dataclass
class Delivery:
    """One event sent to one webhook: ``status`` is ``pending``, ``succeeded`` or ``failed``."""

    id: str
    event_id: Optional[str] = None
    event_type: Optional[str] = None
    status: Optional[str] = None
    attempts: List[DeliveryAttempt] = field(default_factory=list)
    next_attempt_at: Optional[datetime] = None
    created_at: Optional[datetime] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Delivery":
        return cls(
            id=d["id"],
            event_id=d.get("event_id"),
            event_type=d.get("event_type"),
            status=d.get("status"),
            attempts=[DeliveryAttempt.from_dict(a) for a in d.get("attempts") or []],
            next_attempt_at=parse_datetime(d.get("next_attempt_at")),
            created_at=parse_datetime(d.get("created_at")),
            raw=_raw(d),
        )


@dataclass
class Event:
    """An event of a project's log, in the webhook envelope's shape."""

    id: str
    type: str
    data: Dict[str, Any] = field(default_factory=dict)
    created_at: Optional[datetime] = None
    api_version: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Event":
        return cls(
            id=d["id"],
            type=d.get("type", ""),
            data=d.get("data") or {},
            created_at=parse_datetime(d.get("created_at")),
            api_version=d.get("api_version"),
            raw=_raw(d),
        )


@dataclass
class AnalyticsCounts:
    """Request counts over a range (the ``totals`` of an analytics answer)."""

    requests: int = 0
    errors: int = 0
    rate_limited: int = 0
    avg_latency_ms: float = 0.0
    p95_latency_ms: float = 0.0

    @classmethod
    def _fields(cls, d: Mapping[str, Any]) -> Dict[str, Any]:
        return {
            "requests": int(d.get("requests") or 0),
            "errors": int(d.get("errors") or 0),
            "rate_limited": int(d.get("rate_limited") or 0),
            "avg_latency_ms": float(d.get("avg_latency_ms") or 0.0),
            "p95_latency_ms": float(d.get("p95_latency_ms") or 0.0),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "AnalyticsCounts":
        return cls(**cls._fields(d))


@dataclass
class AnalyticsBucket(AnalyticsCounts):
    """The counts of one time bucket, starting at ``timestamp``."""

    timestamp: Optional[datetime] = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "AnalyticsBucket":
        return cls(timestamp=parse_datetime(d.get("timestamp")), **cls._fields(d))


@dataclass
class Analytics:
    """``GET /projects/{id}/analytics``: totals and every bucket of ``[start_date, end_date)``."""

    project_id: str
    start_date: Optional[datetime] = None
    end_date: Optional[datetime] = None
    granularity: Optional[str] = None
    api_key_id: Optional[str] = None
    totals: AnalyticsCounts = field(default_factory=AnalyticsCounts)
    data: List[AnalyticsBucket] = field(default_factory=list)
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Analytics":
        return cls(
            project_id=d.get("project_id", ""),
            start_date=parse_datetime(d.get("start_date")),
            end_date=parse_datetime(d.get("end_date")),
            granularity=d.get("granularity"),
            api_key_id=d.get("api_key_id"),
            totals=AnalyticsCounts.from_dict(d.get("totals") or {}),
            data=[AnalyticsBucket.from_dict(b) for b in d.get("data") or []],
            raw=_raw(d),
        )


@dataclass
class Pagination:
    """The ``pagination`` object of a list answer."""

    page: int = 1
    per_page: int = 20
    total: int = 0

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Pagination":
        return cls(page=int(d.get("page", 1)), per_page=int(d.get("per_page", 20)), total=int(d.get("total", 0)))


@dataclass
class Page(Generic[T]):
    """One page of a list: ``data`` and ``pagination``. Iterating a page yields its items."""

    data: List[T]
    pagination: Pagination

    def has_next(self) -> bool:
        """Whether a later page has items."""
        p = self.pagination
        return p.page * p.per_page < p.total

    @property
    def next_page(self) -> Optional[int]:
        return self.pagination.page + 1 if self.has_next() else None

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)
