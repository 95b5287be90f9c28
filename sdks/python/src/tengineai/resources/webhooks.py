"""``/projects/{id}/webhooks``: endpoints, secrets, test events and deliveries."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, Iterator, Optional, Sequence

from .._http import path
from .._models import Delivery, Page, Webhook, WebhookHealth
from ._base import Resource, page_params, paginate_by_cursor, patch_body, to_page

_PATCHABLE = frozenset({"url", "events", "active", "description", "rate_limit", "ordering"})


class WebhooksResource(Resource):
    def list(
        self,
        project_id: str,
        page: Optional[int] = None,
        per_page: Optional[int] = None,
        *,
        starting_after: Optional[str] = None,
        ending_before: Optional[str] = None,
    ) -> Page[Webhook]:
        params = page_params(page, per_page, starting_after, ending_before)
        body = self._http.request("GET", path("projects", project_id, "webhooks"), params=params)
        return to_page(body, Webhook.from_dict)

    def list_all(self, project_id: str, per_page: int = 100) -> Iterator[Webhook]:
        return paginate_by_cursor(lambda a, n: self.list(project_id, per_page=n, starting_after=a), per_page)

    def create(
        self,
        project_id: str,
        url: str,
        events: Sequence[str],
        secret: Optional[str] = None,
        description: Optional[str] = None,
        *,
        rate_limit: Optional[int] = None,
        ordering: Optional[str] = None,
        idempotency_key: Optional[str] = None,
    ) -> Webhook:
        """Create a webhook; ``Webhook.secret`` is the signing secret (generated when not given).
        ``rate_limit`` caps deliveries per second (1..=10000; ``None``: no limit) and
        ``ordering="per_project"`` sends them one at a time in creation order (``"none"``,
        the server's default, sends them as they come)."""
        body: Dict[str, Any] = {"url": url, "events": list(events)}
        if secret is not None:
            body["secret"] = secret
        if description is not None:
            body["description"] = description
        if rate_limit is not None:
            body["rate_limit"] = rate_limit
        if ordering is not None:
            body["ordering"] = ordering
        data = self._http.request(
            "POST", path("projects", project_id, "webhooks"), json_body=body, idempotency_key=idempotency_key
        )
        return Webhook.from_dict(data)

    def retrieve(self, project_id: str, webhook_id: str) -> Webhook:
        return Webhook.from_dict(self._http.request("GET", path("projects", project_id, "webhooks", webhook_id)))

    get = retrieve

    def update(self, project_id: str, webhook_id: str, **fields: Any) -> Webhook:
        """Change ``url``, ``events``, ``active``, ``description``, ``rate_limit`` and/or
        ``ordering`` (only those given). ``description=None`` clears the description and
        ``rate_limit=None`` lifts the throttle; leave a field out to keep it."""
        body = patch_body(fields, _PATCHABLE)
        data = self._http.request(
            "PATCH", path("projects", project_id, "webhooks", webhook_id), json_body=body, send_body=True
        )
        return Webhook.from_dict(data)

    def delete(self, project_id: str, webhook_id: str) -> None:
        self._http.request("DELETE", path("projects", project_id, "webhooks", webhook_id))

    def rotate_secret(
        self,
        project_id: str,
        webhook_id: str,
        secret: Optional[str] = None,
        *,
        idempotency_key: Optional[str] = None,
    ) -> Webhook:
        """Set a new signing secret (given or generated, in ``.secret``). For 24 hours
        deliveries are signed with both the old and the new secret."""
        body = {"secret": secret} if secret is not None else None
        data = self._http.request(
            "POST",
            path("projects", project_id, "webhooks", webhook_id, "rotate-secret"),
            json_body=body,
            idempotency_key=idempotency_key,
        )
        return Webhook.from_dict(data)

    def test(self, project_id: str, webhook_id: str, *, idempotency_key: Optional[str] = None) -> Dict[str, Any]:
        """Send a ``webhook.test`` event: ``{"event_id", "delivery_id", "status": "pending"}``."""
        return self._http.request(
            "POST", path("projects", project_id, "webhooks", webhook_id, "test"), idempotency_key=idempotency_key
        )

    def health(self, project_id: str, webhook_id: str) -> WebhookHealth:
        """The webhook's last 24 hours (``attempts``, ``success_rate``, ``latency_ms_avg``), its
        newest delivery, and while it is off why and when (``disabled``)."""
        return WebhookHealth.from_dict(
            self._http.request("GET", path("projects", project_id, "webhooks", webhook_id, "health"))
        )

    def recover(
        self, project_id: str, webhook_id: str, since: Any, until: Any = None, *, idempotency_key: Optional[str] = None
    ) -> Dict[str, Any]:
        """Re-send the webhook's deliveries that ended ``failed`` in ``[since, until)``
        (``datetime`` or RFC 3339; ``until`` default now), each once, as new deliveries:
        ``{"recovered": n, "has_more": bool}`` (at most 1,000 per call)."""
        body: Dict[str, Any] = {"since": _instant(since)}
        if until is not None:
            body["until"] = _instant(until)
        return self._http.request(
            "POST",
            path("projects", project_id, "webhooks", webhook_id, "recover"),
            json_body=body,
            idempotency_key=idempotency_key,
        )

    def list_deliveries(
        self,
        project_id: str,
        webhook_id: str,
        page: Optional[int] = None,
        per_page: Optional[int] = None,
        *,
        starting_after: Optional[str] = None,
        ending_before: Optional[str] = None,
    ) -> Page[Delivery]:
        body, headers = self._http.request_with_headers(
            "GET",
            path("projects", project_id, "webhooks", webhook_id, "deliveries"),
            params=page_params(page, per_page, starting_after, ending_before),
        )
        return to_page(body, Delivery.from_dict, headers)

    def list_all_deliveries(self, project_id: str, webhook_id: str, per_page: int = 100) -> Iterator[Delivery]:
        return paginate_by_cursor(
            lambda a, n: self.list_deliveries(project_id, webhook_id, per_page=n, starting_after=a), per_page
        )

    def redeliver(
        self, project_id: str, webhook_id: str, delivery_id: str, *, idempotency_key: Optional[str] = None
    ) -> Delivery:
        """Queue the delivery to be sent again now."""
        data = self._http.request(
            "POST",
            path("projects", project_id, "webhooks", webhook_id, "deliveries", delivery_id, "redeliver"),
            idempotency_key=idempotency_key,
        )
        return Delivery.from_dict(data)


def _instant(value: Any) -> str:
    """An RFC 3339 UTC instant from a ``datetime`` (naive means UTC) or a string."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return str(value)
