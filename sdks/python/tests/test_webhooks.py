"""Webhooks against a real server: CRUD, test events, deliveries and real signed requests.

The webhook routes and the delivery worker are newer than some builds of the server:
each test first checks that the route exists and skips (naming the route) if the binary
answers ``404`` with ``details.resource = "route"``.
"""

from __future__ import annotations

import json
import time

import pytest
import standardwebhooks

from helpers import WebhookReceiver, skip_unless_route, wait_until
from tengineai import (
    Delivery,
    NotFoundError,
    Page,
    PermissionDeniedError,
    TengineAI,
    ValidationError,
    Webhook,
    WebhookDisabled,
    WebhookHealth,
    webhooks,
)
from tengineai.webhooks import WebhookVerificationError


@pytest.fixture
def hooks_project(server, client: TengineAI):
    project = client.projects.create(name="Webhook project")
    skip_unless_route(server.api_url, server.api_key, f"/projects/{project.id}/webhooks")
    return project


def wait_for_post(receiver: WebhookReceiver, count: int = 1, timeout: float = 10.0):
    got = wait_until(lambda: len(receiver.snapshot()) >= count and receiver.snapshot(), timeout=timeout)
    assert got, f"no webhook delivery arrived within {timeout} s"
    return got[count - 1]


def test_the_quick_start_sets_up_a_webhook_that_receives_new_keys(server, client: TengineAI, receiver):
    # 1. Create project
    project = client.projects.create(
        name='My App',
        description='A sample application'
    )
    skip_unless_route(server.api_url, server.api_key, f"/projects/{project.id}/webhooks")
    # 2. Generate API key
    api_key = client.api_keys.create(project.id, name='Production Key', permissions=['read', 'write'])
    # 3. Set up webhook (a local receiver instead of https://myapp.com/webhook)
    webhook = client.webhooks.create(project.id, url=receiver.url + "/webhook", events=['api_key.created'])

    assert isinstance(webhook, Webhook)
    assert webhook.id.startswith("wh_")
    assert webhook.events == ["api_key.created"]
    assert webhook.active is True
    assert webhook.secret and webhook.secret.startswith("whsec_")

    second = client.api_keys.create(project.id, name='Second Key', permissions=['read'])
    request = wait_for_post(receiver)
    event = webhooks.verify(request.body, request.headers, webhook.secret)
    assert event["type"] == "api_key.created"
    assert event["id"].startswith("evt_")
    assert event["data"]["id"] == second.id
    assert api_key.key not in request.body.decode() and second.key not in request.body.decode()


def test_webhook_crud(client: TengineAI, hooks_project, receiver):
    pid = hooks_project.id
    created = client.webhooks.create(
        pid, url=receiver.url + "/a", events=["project.created", "api_key.created"], secret="webhook_secret", description="first"
    )
    assert created.secret == "webhook_secret"
    assert created.project_id == pid
    assert created.description == "first"

    fetched = client.webhooks.retrieve(pid, created.id)
    assert fetched.secret is None
    assert fetched.url == created.url and fetched.events == created.events
    assert client.webhooks.get(pid, created.id).id == created.id

    page = client.webhooks.list(pid)
    assert isinstance(page, Page) and [w.id for w in page.data] == [created.id]
    assert [w.id for w in client.webhooks.list_all(pid)] == [created.id]

    updated = client.webhooks.update(pid, created.id, url=receiver.url + "/b", events=["*"], active=False)
    assert (updated.url, updated.events, updated.active) == (receiver.url + "/b", ["*"], False)
    assert updated.description == "first"
    cleared = client.webhooks.update(pid, created.id, description=None)
    assert cleared.description is None and cleared.active is False

    assert client.webhooks.delete(pid, created.id) is None
    with pytest.raises(NotFoundError):
        client.webhooks.retrieve(pid, created.id)


def test_an_invalid_webhook_url_is_a_validation_error(client: TengineAI, hooks_project):
    with pytest.raises(ValidationError) as err:
        client.webhooks.create(hooks_project.id, url="not a url", events=["api_key.created"])
    assert err.value.field == "url"


def test_a_webhooks_throttle_and_ordering_are_set_read_back_lifted_and_validated(client: TengineAI, hooks_project, receiver):
    pid = hooks_project.id
    plain = client.webhooks.create(pid, url=receiver.url + "/plain", events=["api_key.created"])
    assert (plain.rate_limit, plain.ordering) == (None, "none")

    hook = client.webhooks.create(
        pid, url=receiver.url + "/throttled", events=["api_key.created"], rate_limit=5, ordering="per_project"
    )
    assert (hook.rate_limit, hook.ordering) == (5, "per_project")
    fetched = client.webhooks.retrieve(pid, hook.id)
    assert (fetched.rate_limit, fetched.ordering) == (5, "per_project")
    assert {w.id: (w.rate_limit, w.ordering) for w in client.webhooks.list_all(pid)}[hook.id] == (5, "per_project")

    # Left out of a PATCH, both stay as they are.
    described = client.webhooks.update(pid, hook.id, description="throttled")
    assert (described.rate_limit, described.ordering) == (5, "per_project")
    changed = client.webhooks.update(pid, hook.id, rate_limit=20)
    assert (changed.rate_limit, changed.ordering) == (20, "per_project")

    # None is sent as null: the throttle is lifted, not left alone.
    lifted = client.webhooks.update(pid, hook.id, rate_limit=None, ordering="none")
    assert (lifted.rate_limit, lifted.ordering, lifted.description) == (None, "none", "throttled")
    fetched = client.webhooks.retrieve(pid, hook.id)
    assert (fetched.rate_limit, fetched.ordering) == (None, "none")

    with pytest.raises(ValidationError) as err:
        client.webhooks.create(pid, url=receiver.url, events=["api_key.created"], rate_limit=0)
    assert err.value.field == "rate_limit"
    with pytest.raises(ValidationError) as err:
        client.webhooks.update(pid, hook.id, rate_limit=0)
    assert err.value.field == "rate_limit"
    with pytest.raises(ValidationError) as err:
        client.webhooks.create(pid, url=receiver.url, events=["api_key.created"], ordering="sometimes")
    assert err.value.field == "ordering"
    with pytest.raises(ValidationError) as err:
        client.webhooks.update(pid, hook.id, ordering=None)
    assert err.value.field == "ordering"
    assert [w.id for w in client.webhooks.list_all(pid)] == [hook.id, plain.id]


def test_rotate_secret_returns_the_new_secret_once(client: TengineAI, hooks_project, receiver):
    hook = client.webhooks.create(hooks_project.id, url=receiver.url, events=["api_key.created"])
    given = client.webhooks.rotate_secret(hooks_project.id, hook.id, secret="a-brand-new-secret")
    assert given.secret == "a-brand-new-secret"
    generated = client.webhooks.rotate_secret(hooks_project.id, hook.id)
    assert generated.secret and generated.secret.startswith("whsec_") and generated.secret != hook.secret
    assert client.webhooks.retrieve(hooks_project.id, hook.id).secret is None


def test_a_rotated_secret_and_the_previous_one_both_verify_during_the_grace_period(client: TengineAI, hooks_project, receiver):
    hook = client.webhooks.create(hooks_project.id, url=receiver.url, events=["api_key.created"])
    rotated = client.webhooks.rotate_secret(hooks_project.id, hook.id)
    client.api_keys.create(hooks_project.id, name="after rotation", permissions=["read"])
    request = wait_for_post(receiver)
    assert len(request.headers["webhook-signature"].split()) == 2
    assert webhooks.verify(request.body, request.headers, rotated.secret)["type"] == "api_key.created"
    assert webhooks.verify(request.body, request.headers, hook.secret)["type"] == "api_key.created"
    simple = request.headers["X-Tengine-Signature"]
    assert webhooks.verify_signature(request.body, simple, rotated.secret)
    assert webhooks.verify_signature(request.body, simple, hook.secret)


def test_a_test_event_is_delivered_listed_and_can_be_redelivered(client: TengineAI, hooks_project, receiver):
    pid = hooks_project.id
    hook = client.webhooks.create(pid, url=receiver.url, events=["project.updated"])
    sent = client.webhooks.test(pid, hook.id)
    assert sent["status"] == "pending"
    assert sent["event_id"].startswith("evt_") and sent["delivery_id"].startswith("del_")

    request = wait_for_post(receiver)
    event = webhooks.verify(request.body, request.headers, hook.secret)
    assert (event["type"], event["id"]) == ("webhook.test", sent["event_id"])

    def succeeded():
        page = client.webhooks.list_deliveries(pid, hook.id)
        return page if page.data and page.data[0].status == "succeeded" else None

    page = wait_until(succeeded, timeout=10)
    assert page, "the delivery never showed as succeeded"
    delivery = page.data[0]
    assert isinstance(delivery, Delivery)
    assert (delivery.id, delivery.event_id, delivery.event_type) == (sent["delivery_id"], sent["event_id"], "webhook.test")
    assert delivery.attempts and delivery.attempts[0].status_code == 200
    assert delivery.attempts[0].attempted_at.tzinfo is not None
    assert [d.id for d in client.webhooks.list_all_deliveries(pid, hook.id)] == [delivery.id]

    again = client.webhooks.redeliver(pid, hook.id, delivery.id)
    assert isinstance(again, Delivery)
    assert again.id.startswith("del_") and again.id != delivery.id  # a new delivery of the same event
    assert (again.event_id, again.status, again.attempts) == (sent["event_id"], "pending", [])
    second = wait_for_post(receiver, count=2)
    assert second.headers["webhook-id"] == request.headers["webhook-id"] == sent["event_id"]
    assert webhooks.verify(second.body, second.headers, hook.secret)["id"] == sent["event_id"]


def test_verify_accepts_a_real_delivery_and_rejects_forgeries(client: TengineAI, hooks_project, receiver):
    hook = client.webhooks.create(hooks_project.id, url=receiver.url + "/hooks", events=["api_key.created"])
    key = client.api_keys.create(hooks_project.id, name="signed", permissions=["read"])
    request = wait_for_post(receiver)
    body, headers, secret = request.body, request.headers, hook.secret
    assert request.method == "POST" and request.path == "/hooks"
    assert headers["Content-Type"].startswith("application/json")
    assert headers["X-Tengine-Event-Type"] == "api_key.created"
    assert headers["X-Tengine-Event-Id"] == headers["webhook-id"]

    event = webhooks.verify(body, headers, secret)
    assert event["data"]["id"] == key.id
    assert webhooks.verify(body.decode(), {k.upper(): v for k, v in headers.items()}, secret) == event
    assert webhooks.verify_signature(body, headers["X-Tengine-Signature"], secret) is True
    only_simple = {k: v for k, v in headers.items() if not k.lower().startswith("webhook-")}
    assert webhooks.verify(body, only_simple, secret) == event

    tampered = body.replace(key.id.encode(), b"key_forged000000000000000")
    assert tampered != body
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(tampered, headers, secret)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(tampered, only_simple, secret)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify_signature(tampered, headers["X-Tengine-Signature"], secret)

    wrong = "whsec_" + "A" * 32
    for h in (headers, only_simple):
        with pytest.raises(WebhookVerificationError):
            webhooks.verify(body, h, wrong)

    old = str(int(time.time()) - 3600)
    stale = dict(headers)
    stale["webhook-timestamp"] = old
    stale["webhook-signature"] = webhooks.sign(headers["webhook-id"], old, body, secret)
    with pytest.raises(WebhookVerificationError, match="too old"):
        webhooks.verify(body, stale, secret)
    assert webhooks.verify(body, stale, secret, tolerance=None) == event  # the signature itself is right

    # The official Standard Webhooks library agrees on the very same request.
    official = standardwebhooks.Webhook(secret)
    assert official.verify(body, dict(headers)) == event
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        official.verify(tampered, dict(headers))
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        official.verify(body, stale)


def test_a_plain_secret_like_the_references_signs_with_its_bytes(client: TengineAI, hooks_project, receiver):
    hook = client.webhooks.create(
        hooks_project.id, url=receiver.url, events=["project.created", "api_key.created"], secret="webhook_secret"
    )
    client.api_keys.create(hooks_project.id, name="plain", permissions=["read"])
    request = wait_for_post(receiver)
    event = webhooks.verify(request.body, request.headers, "webhook_secret")
    assert event["type"] == "api_key.created"
    assert json.loads(request.body) == event
    official = standardwebhooks.Webhook(b"webhook_secret")  # raw bytes: not base64
    assert official.verify(request.body, dict(request.headers)) == event
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(request.body, request.headers, hook.secret + "x")


def test_recover_answers_how_many_failed_deliveries_it_resent(client: TengineAI, hooks_project, receiver):
    from datetime import datetime, timedelta, timezone

    webhook = client.webhooks.create(hooks_project.id, url=receiver.url + "/recover", events=["project.updated"])
    since = datetime.now(timezone.utc) - timedelta(days=2)
    assert client.webhooks.recover(hooks_project.id, webhook.id, since) == {"recovered": 0, "has_more": False}
    with pytest.raises(ValidationError) as e:
        client.webhooks.recover(hooks_project.id, webhook.id, since, until=since)
    assert e.value.details["field"] == "since"


def test_health_reads_a_new_webhook_and_says_why_it_is_off(server, client: TengineAI, hooks_project, receiver):
    pid = hooks_project.id
    hook = client.webhooks.create(pid, url=receiver.url + "/health", events=["project.updated"])
    skip_unless_route(server.api_url, server.api_key, f"/projects/{pid}/webhooks/{hook.id}/health")
    health = client.webhooks.health(pid, hook.id)
    assert isinstance(health, WebhookHealth)
    assert (health.webhook_id, health.active, health.failing_since) == (hook.id, True, None)
    assert (health.attempts, health.succeeded, health.failed) == (0, 0, 0)
    # Without attempts there is no rate or latency, and a webhook that is on has no `disabled`.
    assert (health.success_rate, health.latency_ms_avg, health.disabled, health.last_delivery) == (None, None, None, None)
    assert health.since is not None and health.since.tzinfo is not None

    client.webhooks.update(pid, hook.id, active=False)
    off = client.webhooks.health(pid, hook.id)
    assert off.active is False
    assert isinstance(off.disabled, WebhookDisabled)
    assert off.disabled.reason == "manual" and off.disabled.at is not None
    client.webhooks.update(pid, hook.id, active=True)
    assert client.webhooks.health(pid, hook.id).disabled is None

    reader = client.api_keys.create(pid, name="no webhook permission", permissions=["read", "write"])
    with TengineAI(api_key=reader.key, base_url=server.url) as c:
        with pytest.raises(PermissionDeniedError) as err:
            c.webhooks.health(pid, hook.id)
    assert (err.value.status, err.value.code) == (403, "INSUFFICIENT_PERMISSIONS")
