"""Webhook signature verification, offline, cross-checked with the official library."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timezone
from email.message import Message

import pytest
import standardwebhooks

from tengineai import (
    ApiKey,
    IntegrationEventData,
    Project,
    Tool,
    UsageAlertData,
    Webhook,
    WebhookDisabledData,
    WebhookEvent,
    WebhookTestData,
    WebhookVerificationError,
    webhooks,
)

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdefghijklmn").decode()
BODY = json.dumps({"id": "evt_1", "type": "api_key.created", "data": {"id": "key_1"}, "created_at": "2030-01-01T00:00:00Z"}).encode()


def signed_headers(secret=SECRET, body=BODY, msg_id="evt_1", ts=None):
    ts = str(int(time.time())) if ts is None else str(ts)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": ts,
        "webhook-signature": webhooks.sign(msg_id, ts, body, secret),
        "X-Tengine-Signature": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
    }


def test_our_signature_is_the_official_librarys():
    ts = int(time.time())
    ours = webhooks.sign("evt_1", ts, BODY, SECRET)
    theirs = standardwebhooks.Webhook(SECRET).sign("evt_1", datetime.fromtimestamp(ts, tz=timezone.utc), BODY.decode())
    assert ours == theirs


def test_a_valid_request_returns_the_parsed_event():
    headers = signed_headers()
    assert webhooks.verify(BODY, headers, SECRET) == json.loads(BODY)
    assert standardwebhooks.Webhook(SECRET).verify(BODY, headers) == json.loads(BODY)


def test_header_names_are_case_insensitive_and_any_mapping_works():
    headers = {k.upper(): v for k, v in signed_headers().items()}
    assert webhooks.verify(BODY, headers, SECRET)["id"] == "evt_1"
    message = Message()  # what http.server hands a handler
    for k, v in signed_headers().items():
        message[k] = v
    assert webhooks.verify(BODY.decode(), message, SECRET)["id"] == "evt_1"
    assert webhooks.verify(BODY, list(signed_headers().items()), SECRET)["id"] == "evt_1"


def test_any_of_several_signatures_may_match():
    h = signed_headers()
    other = webhooks.sign("evt_1", h["webhook-timestamp"], BODY, "whsec_" + base64.b64encode(b"x" * 24).decode())
    h["webhook-signature"] = f"v2,abc {other} {h['webhook-signature']}"
    assert webhooks.verify(BODY, h, SECRET)
    simple = h["X-Tengine-Signature"]
    assert webhooks.verify_signature(BODY, f"sha256=00, {simple}", SECRET)


def test_a_tampered_body_wrong_secret_or_changed_id_is_rejected():
    h = signed_headers()
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY + b" ", h, SECRET)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, h, "whsec_" + base64.b64encode(b"y" * 24).decode())
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, dict(h, **{"webhook-id": "evt_2"}), SECRET)


def test_timestamps_outside_the_tolerance_are_rejected():
    now = int(time.time())
    with pytest.raises(WebhookVerificationError, match="too old"):
        webhooks.verify(BODY, signed_headers(ts=now - 301), SECRET)
    with pytest.raises(WebhookVerificationError, match="too new"):
        webhooks.verify(BODY, signed_headers(ts=now + 301), SECRET)
    assert webhooks.verify(BODY, signed_headers(ts=now - 1000), SECRET, tolerance=2000)
    assert webhooks.verify(BODY, signed_headers(ts=1000), SECRET, now=1100)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, signed_headers(ts="yesterday"), SECRET)


def test_the_standard_scheme_decides_when_its_headers_are_present():
    # A captured request replayed later: the body signature still matches, the timestamp
    # doesn't; falling back to X-Tengine-Signature would let the replay in.
    h = signed_headers(ts=int(time.time()) - 3600)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, h, SECRET)
    partial = {"webhook-id": "evt_1", "X-Tengine-Signature": h["X-Tengine-Signature"]}
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, partial, SECRET)


def test_the_reference_scheme_alone_is_accepted():
    h = {"X-Tengine-Signature": signed_headers()["X-Tengine-Signature"]}
    assert webhooks.verify(BODY, h, SECRET)["type"] == "api_key.created"
    assert webhooks.verify_signature(BODY, h["X-Tengine-Signature"], SECRET) is True
    with pytest.raises(WebhookVerificationError):
        webhooks.verify_signature(BODY, "sha256=" + "0" * 64, SECRET)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify_signature(BODY, None, SECRET)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify_signature(BODY, "md5=abc", SECRET)


def test_the_simple_scheme_keys_on_the_whole_secret_string():
    # Even a whsec_ secret signs X-Tengine-Signature with its UTF-8 bytes, prefix included.
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert webhooks.verify_signature(BODY, f"sha256={expected}", SECRET)
    decoded = hmac.new(base64.b64decode(SECRET[6:]), BODY, hashlib.sha256).hexdigest()
    with pytest.raises(WebhookVerificationError):
        webhooks.verify_signature(BODY, f"sha256={decoded}", SECRET)


def test_a_plain_secret_keys_the_standard_scheme_with_its_bytes():
    h = signed_headers(secret="webhook_secret")
    assert webhooks.verify(BODY, h, "webhook_secret")
    assert standardwebhooks.Webhook(b"webhook_secret").verify(BODY, h) == json.loads(BODY)
    assert webhooks.standard_key("webhook_secret") == b"webhook_secret"
    assert webhooks.standard_key("whsec_not base64!") == b"whsec_not base64!"
    assert webhooks.standard_key(SECRET) == b"0123456789abcdefghijklmn"


def test_missing_headers_a_missing_secret_or_a_non_json_body_are_rejected():
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, {}, SECRET)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, signed_headers(), "")
    body = b"not json"
    with pytest.raises(WebhookVerificationError, match="JSON"):
        webhooks.verify(body, signed_headers(body=body), SECRET)


def event_body(type_, data, event_id="evt_typed"):
    return json.dumps(
        {"id": event_id, "type": type_, "data": data, "created_at": "2030-01-01T00:00:00Z", "api_version": "2024-01-01"}
    ).encode()


PROJECT = {
    "id": "proj_1",
    "name": "My Project",
    "description": None,
    "created_at": "2030-01-01T00:00:00Z",
    "updated_at": "2030-01-02T00:00:00Z",
}
USAGE = {
    "account_id": "acct_1",
    "limit": 1000,
    "used": 1000,
    "remaining": 0,
    "window_start": "2030-01-01T00:00:00Z",
    "reset_at": "2030-01-01T01:00:00Z",
}


def test_verify_event_types_the_data_of_a_project_event():
    body = event_body("project.created", PROJECT)
    event = webhooks.verify_event(body, signed_headers(body=body, msg_id="evt_typed"), SECRET)
    assert isinstance(event, WebhookEvent)
    assert (event.id, event.type, event.api_version, event.known) == ("evt_typed", "project.created", "2024-01-01", True)
    assert event.created_at == datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert isinstance(event.data, Project)
    assert (event.data.id, event.data.name, event.data.description) == ("proj_1", "My Project", None)
    assert event.data.updated_at == datetime(2030, 1, 2, tzinfo=timezone.utc)
    assert event.raw == json.loads(body)
    # The untyped verifier is unchanged.
    assert webhooks.verify(body, signed_headers(body=body, msg_id="evt_typed"), SECRET)["data"] == PROJECT


def test_verify_event_types_every_family():
    cases = {
        "usage.limit_exceeded": (USAGE, UsageAlertData, lambda d: (d.limit, d.used, d.remaining) == (1000, 1000, 0)),
        "api_key.revoked": (
            {"id": "key_1", "project_id": "proj_1", "name": "ci", "permissions": ["read"], "prefix": "tng_abcdefgh",
             "expires_at": None, "created_at": "2030-01-01T00:00:00Z", "last_used_at": None,
             "revoked_at": "2030-01-02T00:00:00Z"},
            ApiKey,
            lambda d: d.name == "ci" and d.revoked and d.key is None,
        ),
        "tool.updated": (
            {"id": "tool_1", "project_id": "proj_1", "name": "weather", "description": "Forecast",
             "input_schema": {"type": "object", "properties": {"city_name": {"type": "string"}}},
             "base_url": "https://api.example.com", "http_method": "GET", "endpoint_path": "/w",
             "headers_template": {}, "query_template": {"q": "{{city_name}}"}, "body_template": None,
             "enabled": True, "require_member": False, "log_payloads": False, "inject_member_identity": [],
             "auth_strategy": "none", "has_auth_secret": False, "timeout_ms": 10000, "max_response_bytes": 65536,
             "created_at": "2030-01-01T00:00:00Z", "updated_at": "2030-01-01T00:00:00Z"},
            Tool,
            lambda d: d.name == "weather" and d.body_template is None and "city_name" in d.input_schema["properties"],
        ),
        "integration.disconnected": (
            {"integration": {"id": "int_1", "project_id": "proj_1", "name": "Claude", "client_id": "int_1",
                             "client_type": "public", "redirect_uris": [], "permissions": ["read"], "dynamic": False,
                             "created_at": "2030-01-01T00:00:00Z", "updated_at": "2030-01-01T00:00:00Z"},
             "connection": {"id": "conn_1", "integration_id": "int_1", "project_id": "proj_1", "approved_by": "key_1",
                            "permissions": ["read"], "scope": "read", "resource": None,
                            "created_at": "2030-01-01T00:00:00Z", "last_used_at": None,
                            "revoked_at": "2030-01-02T00:00:00Z"},
             "reason": "token_revoked"},
            IntegrationEventData,
            lambda d: d.integration.name == "Claude" and d.connection.id == "conn_1" and d.reason == "token_revoked",
        ),
        "webhook.test": ({"webhook_id": "wh_1", "message": "hello"}, WebhookTestData, lambda d: d.webhook_id == "wh_1"),
    }
    for type_, (data, model, check) in cases.items():
        body = event_body(type_, data)
        event = webhooks.verify_event(body, signed_headers(body=body), SECRET)
        assert isinstance(event.data, model), type_
        assert check(event.data), type_


def test_verify_event_types_a_webhook_disabled_event_with_its_webhook():
    hook = {"id": "wh_1", "project_id": "proj_1", "url": "https://example.com/hook", "description": None,
            "events": ["*"], "active": False, "failing_since": "2029-12-27T00:00:00Z",
            "created_at": "2029-12-01T00:00:00Z", "updated_at": "2030-01-01T00:00:00Z"}
    body = event_body("webhook.disabled", {"webhook": hook, "reason": "failing", "disabled_at": "2030-01-01T00:00:00Z"})
    event = webhooks.verify_event(body, signed_headers(body=body, msg_id="evt_typed"), SECRET)
    assert (event.type, event.known) == ("webhook.disabled", True)
    assert isinstance(event.data, WebhookDisabledData)
    assert event.data.reason == "failing"
    assert event.data.disabled_at == datetime(2030, 1, 1, tzinfo=timezone.utc)
    # The webhook reads as the resource's Webhook does, never with a secret.
    assert isinstance(event.data.webhook, Webhook)
    assert (event.data.webhook.id, event.data.webhook.active, event.data.webhook.secret) == ("wh_1", False, None)
    assert event.data.webhook.failing_since == datetime(2029, 12, 27, tzinfo=timezone.utc)
    # A webhook without its id is not this type's object.
    bad = event_body("webhook.disabled", {"webhook": {}, "reason": "gone", "disabled_at": "2030-01-01T00:00:00Z"})
    with pytest.raises(WebhookVerificationError, match="webhook.disabled"):
        webhooks.verify_event(bad, signed_headers(body=bad), SECRET)


def test_verify_event_keeps_the_data_of_an_unknown_type_as_sent():
    data = {"nested_key": {"x": 1}, "list": [1, 2]}
    body = event_body("project.archived", data)
    event = webhooks.verify_event(body, {"X-Tengine-Signature": signed_headers(body=body)["X-Tengine-Signature"]}, SECRET)
    assert (event.type, event.known, event.data) == ("project.archived", False, data)


def test_verify_event_refuses_a_tampered_signature_and_misshapen_data():
    body = event_body("usage.threshold_reached", USAGE)
    h = signed_headers(body=body)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify_event(body.replace(b"1000", b"9000"), h, SECRET)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify_event(body, dict(h, **{"webhook-signature": "v1," + base64.b64encode(b"0" * 32).decode()}), SECRET)
    # Authentic, but not an event, or a known type whose data is not an object.
    for payload in (b'{"test": 1}', event_body("project.created", ["not", "an", "object"])):
        assert webhooks.verify(payload, signed_headers(body=payload), SECRET)
        with pytest.raises(WebhookVerificationError):
            webhooks.verify_event(payload, signed_headers(body=payload), SECRET)
