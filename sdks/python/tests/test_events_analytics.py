"""The event log and usage analytics against a real server (skipped on builds without them)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from helpers import skip_unless_route, wait_until
from tengineai import (
    Analytics,
    ApiKey,
    Event,
    EventTypeCatalogue,
    EventTypeInfo,
    Page,
    Project,
    TengineAI,
    Tool,
    ValidationError,
    WebhookEvent,
)


def test_the_event_log_lists_a_projects_events_by_type(server, client: TengineAI, project):
    skip_unless_route(server.api_url, server.api_key, f"/projects/{project.id}/events")
    key = client.api_keys.create(project.id, name="logged", permissions=["read"])
    client.projects.update(project.id, name="logged project")

    page = client.events.list(project.id, type="api_key.created")
    assert isinstance(page, Page)
    assert [e.type for e in page.data] == ["api_key.created"]
    event = page.data[0]
    assert isinstance(event, Event)
    assert event.id.startswith("evt_")
    assert event.data["id"] == key.id
    assert "key" not in event.data
    assert event.created_at.tzinfo is not None

    everything = client.events.list(project.id)
    types = {e.type for e in everything.data}
    assert {"api_key.created", "project.updated"} <= types
    assert len(list(client.events.list_all(project.id, per_page=1))) == everything.pagination.total


def test_the_event_type_catalogue_lists_every_type_with_its_schema(server, client: TengineAI):
    skip_unless_route(server.api_url, server.api_key, "/event-types")
    catalogue = client.event_types.list()
    assert isinstance(catalogue, EventTypeCatalogue)
    assert len(catalogue) == len(catalogue.data) == 16
    assert all(isinstance(t, EventTypeInfo) for t in catalogue)
    by_type = {t.type: t for t in catalogue}
    assert len(by_type) == 16
    # The newest type: the worker switched a webhook off; sent to every webhook of the account.
    assert by_type["webhook.disabled"].scope == "account"
    assert "reason" in by_type["webhook.disabled"].schema["required"]
    created = by_type["project.created"]
    assert created.scope == "account"
    assert created.description
    assert created.schema["type"] == "object"
    # The schema is the server's JSON as sent: property names stay snake_case.
    assert "created_at" in created.schema["properties"]
    assert "created_at" in created.schema["required"]
    assert by_type["project.updated"].scope == "project"
    assert {t.scope for t in catalogue} == {"project", "account"}


def test_the_event_logs_payloads_read_as_typed_events(server, client: TengineAI, project):
    skip_unless_route(server.api_url, server.api_key, f"/projects/{project.id}/events")
    key = client.api_keys.create(project.id, name="typed", permissions=["read"])
    client.projects.update(project.id, name="typed project")
    tool = client.tools.create(
        project.id,
        name="typed_tool",
        description="A tool whose event is read back",
        input_schema={"type": "object", "properties": {"city_name": {"type": "string"}}},
        base_url="https://api.example.com",
        http_method="GET",
        endpoint_path="/weather",
    )
    events = {e.type: e for e in client.events.list(project.id).data}
    typed = {t: WebhookEvent.from_dict(e.raw) for t, e in events.items()}
    assert isinstance(typed["api_key.created"].data, ApiKey)
    assert typed["api_key.created"].data.id == key.id
    assert typed["api_key.created"].data.key is None
    assert isinstance(typed["tool.created"].data, Tool)
    assert typed["tool.created"].data.name == tool.name
    assert "city_name" in typed["tool.created"].data.input_schema["properties"]
    assert isinstance(typed["project.updated"].data, Project)
    assert (typed["project.updated"].data.id, typed["project.updated"].data.name) == (project.id, "typed project")


def test_an_unknown_event_type_filter_is_a_validation_error(server, client: TengineAI, project):
    skip_unless_route(server.api_url, server.api_key, f"/projects/{project.id}/events")
    with pytest.raises(ValidationError) as err:
        client.events.list(project.id, type="no.such.event")
    assert err.value.field == "type"


def test_analytics_counts_the_projects_requests(server, client: TengineAI, project):
    skip_unless_route(server.api_url, server.api_key, f"/projects/{project.id}/analytics")
    key = client.api_keys.create(project.id, name="counted", permissions=["read"])
    with TengineAI(api_key=key.key, base_url=server.url) as scoped:
        for _ in range(3):
            scoped.projects.retrieve(project.id)

    def counted():
        a = client.analytics.retrieve(project.id)
        return a if a.totals.requests >= 3 else None

    analytics = wait_until(counted, timeout=10, interval=0.2)
    assert analytics, "usage did not show up in analytics within 10 s"
    assert isinstance(analytics, Analytics)
    assert analytics.project_id == project.id
    assert analytics.granularity == "day"
    assert len(analytics.data) in (7, 8)
    assert sum(b.requests for b in analytics.data) == analytics.totals.requests
    assert analytics.data[0].timestamp.tzinfo is not None
    assert analytics.data == sorted(analytics.data, key=lambda b: b.timestamp)
    assert client.analytics.get(project.id).project_id == project.id


def test_analytics_dates_may_be_dates_datetimes_or_strings(server, client: TengineAI, project):
    skip_unless_route(server.api_url, server.api_key, f"/projects/{project.id}/analytics")
    now = datetime.now(timezone.utc)
    hourly = client.analytics.retrieve(
        project.id, start_date=now - timedelta(hours=3), end_date=now, granularity="hour"
    )
    assert hourly.granularity == "hour"
    assert len(hourly.data) in (3, 4)

    today = date.today()
    daily = client.analytics.retrieve(project.id, start_date=today - timedelta(days=2), end_date=today)
    assert len(daily.data) == 3  # a plain end date means the end of that day

    monthly = client.analytics.retrieve(project.id, start_date="2026-01-01", end_date="2026-03-31", granularity="month")
    assert [b.timestamp.month for b in monthly.data] == [1, 2, 3]


def test_analytics_filters_by_api_key(server, client: TengineAI, project):
    skip_unless_route(server.api_url, server.api_key, f"/projects/{project.id}/analytics")
    key = client.api_keys.create(project.id, name="metered", permissions=["read"])
    with TengineAI(api_key=key.key, base_url=server.url) as scoped:
        scoped.projects.retrieve(project.id)
        scoped.projects.list()

    def counted():
        a = client.analytics.retrieve(project.id, api_key_id=key.id)
        return a if a.totals.requests >= 2 else None

    analytics = wait_until(counted, timeout=10, interval=0.2)
    assert analytics, "the key's usage did not show up within 10 s"
    assert analytics.api_key_id == key.id
    assert analytics.totals.requests == 2


def test_an_inverted_range_is_a_validation_error(server, client: TengineAI, project):
    skip_unless_route(server.api_url, server.api_key, f"/projects/{project.id}/analytics")
    with pytest.raises(ValidationError):
        client.analytics.retrieve(project.id, start_date="2030-01-02", end_date="2030-01-01")


def test_analytics_counts_requests_made_with_an_account_wide_key(server, client: TengineAI, project):
    skip_unless_route(server.api_url, server.api_key, f"/projects/{project.id}/analytics")
    for _ in range(3):
        client.projects.retrieve(project.id)

    def counted():
        a = client.analytics.retrieve(project.id)
        return a if a.totals.requests >= 3 else None

    assert wait_until(counted, timeout=5, interval=0.2), "account-wide usage did not show up within 5 s"


def test_the_account_overview_lists_totals_projects_and_failing_webhooks(server, client: TengineAI, project):
    overview = client.analytics.overview(limit=2)
    assert overview.start_date is not None and overview.start_date < overview.end_date
    assert overview.totals.requests >= 0
    assert len(overview.projects) <= 2
    assert all(p.project_id.startswith("proj_") for p in overview.projects)
    assert overview.failing_webhooks == [], "an admin key sees webhooks, none failing"
    with pytest.raises(ValidationError):
        client.analytics.overview(limit=0)
