"""Typed errors: the real server's 401/403/404/422, and odd bodies from a fake one."""

from __future__ import annotations

import pytest

from helpers import FakeApi, error_body, make_api_key
from tengineai import (
    AuthenticationError,
    IdempotencyKeyReusedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
    TengineAI,
    TengineError,
    ValidationError,
)


def test_an_unknown_key_is_an_authentication_error_with_a_request_id(server):
    with TengineAI(api_key=make_api_key(), base_url=server.url) as c:
        with pytest.raises(AuthenticationError) as err:
            c.projects.list()
    e = err.value
    assert isinstance(e, TengineError)
    assert (e.status, e.code) == (401, "INVALID_API_KEY")
    assert e.details["field"] == "authorization"
    assert e.request_id and e.request_id == e.headers.get("x-request-id")
    assert e.request_id in str(e)


def test_a_malformed_key_is_an_authentication_error(server):
    with TengineAI(api_key="invalid_key", base_url=server.url) as c:
        with pytest.raises(AuthenticationError) as err:
            c.projects.retrieve("proj_whatever")
    assert err.value.status == 401


def test_a_missing_permission_is_permission_denied(server, client, project):
    reader = client.api_keys.create(project.id, name="reader", permissions=["read"])
    with TengineAI(api_key=reader.key, base_url=server.url) as c:
        with pytest.raises(PermissionDeniedError) as err:
            c.projects.update(project.id, name="nope")
    e = err.value
    assert (e.status, e.code) == (403, "INSUFFICIENT_PERMISSIONS")
    assert e.request_id
    assert e.details


def test_creating_a_project_with_a_project_scoped_key_is_permission_denied(server, client, project):
    writer = client.api_keys.create(project.id, name="writer", permissions=["read", "write"])
    with TengineAI(api_key=writer.key, base_url=server.url) as c:
        with pytest.raises(PermissionDeniedError):
            c.projects.create(name="elsewhere")


def test_a_missing_project_is_not_found(client):
    with pytest.raises(NotFoundError) as err:
        client.projects.retrieve("proj_0000000000000000000000")
    assert (err.value.status, err.value.code) == (404, "PROJECT_NOT_FOUND")
    assert err.value.request_id


def test_a_missing_key_is_not_found(client, project):
    with pytest.raises(NotFoundError) as err:
        client.api_keys.retrieve(project.id, "key_0000000000000000000000")
    assert (err.value.status, err.value.code) == (404, "NOT_FOUND")


def test_ids_with_slashes_stay_in_their_path_segment(client):
    with pytest.raises(NotFoundError) as err:
        client.projects.retrieve("../projects")
    assert err.value.status == 404


def test_invalid_permissions_are_a_validation_error(client, project):
    with pytest.raises(ValidationError) as err:
        client.api_keys.create(project.id, name="bad", permissions=["superuser"])
    e = err.value
    assert (e.status, e.code) == (422, "VALIDATION_ERROR")
    assert e.field.startswith("permissions")
    assert e.request_id


def test_a_reused_idempotency_key_with_another_body_is_its_own_error(client):
    key = "sdk-test-reuse-" + make_api_key()[4:20]
    first = client.projects.create(name="first", idempotency_key=key)
    replay = client.projects.create(name="first", idempotency_key=key)
    assert replay.id == first.id
    with pytest.raises(IdempotencyKeyReusedError) as caught:
        client.projects.create(name="second", idempotency_key=key)
    assert (caught.value.status, caught.value.code) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert isinstance(caught.value, ValidationError)


# Errors from a scripted fake server: bodies the real one does not send on demand.


def _client(fake: FakeApi, **kw) -> TengineAI:
    return TengineAI(api_key="k", base_url=fake.url, retry_base_delay=0, **kw)


def test_a_non_json_error_body_still_raises_with_its_status():
    fake = FakeApi([(502, {"Content-Type": "text/html"}, "<html>Bad gateway</html>")])
    try:
        with _client(fake, max_retries=0) as c:
            with pytest.raises(ServerError) as err:
                c.projects.list()
    finally:
        fake.close()
    assert err.value.status == 502
    assert err.value.code is None
    assert "Bad gateway" in err.value.message


def test_an_empty_4xx_body_maps_by_status():
    fake = FakeApi([(403, {}, b"")])
    try:
        with _client(fake) as c:
            with pytest.raises(PermissionDeniedError) as err:
                c.projects.list()
    finally:
        fake.close()
    assert err.value.status == 403


def test_a_rate_limit_error_carries_retry_after_limit_and_reset_at():
    body = error_body("RATE_LIMIT_EXCEEDED", "Rate limit exceeded", {"limit": 100, "reset_at": "2030-01-01T00:00:00Z"})
    fake = FakeApi([(429, {"Retry-After": "42", "X-Request-Id": "req_header"}, body)])
    try:
        with _client(fake, max_retries=0) as c:
            with pytest.raises(RateLimitError) as err:
                c.projects.list()
    finally:
        fake.close()
    e = err.value
    assert (e.status, e.code, e.retry_after, e.limit, e.reset_at) == (429, "RATE_LIMIT_EXCEEDED", 42.0, 100, "2030-01-01T00:00:00Z")
    assert e.request_id == "req_fake"  # the envelope's value wins over the header


def test_service_unavailable_is_a_server_error_with_retry_after():
    fake = FakeApi([(503, {"Retry-After": "7"}, error_body("SERVICE_UNAVAILABLE"))])
    try:
        with _client(fake, max_retries=0) as c:
            with pytest.raises(ServiceUnavailableError) as err:
                c.projects.list()
    finally:
        fake.close()
    assert isinstance(err.value, ServerError)
    assert err.value.retry_after == 7.0


@pytest.mark.parametrize(
    "status,code,cls",
    [
        (400, "VALIDATION_ERROR", ValidationError),
        (404, "PROJECT_NOT_FOUND", NotFoundError),
        (405, "METHOD_NOT_ALLOWED", TengineError),
        (413, "PAYLOAD_TOO_LARGE", TengineError),
        (415, "UNSUPPORTED_MEDIA_TYPE", TengineError),
        (422, "IDEMPOTENCY_KEY_REUSED", IdempotencyKeyReusedError),
        (500, "INTERNAL_ERROR", ServerError),
        (418, None, TengineError),
    ],
)
def test_each_code_maps_to_its_class(status, code, cls):
    body = error_body(code) if code else {"unexpected": True}
    fake = FakeApi([(status, {}, body)])
    try:
        with _client(fake, max_retries=0) as c:
            with pytest.raises(cls) as err:
                c.projects.list()
    finally:
        fake.close()
    assert type(err.value) is cls
    assert (err.value.status, err.value.code) == (status, code)


def test_a_2xx_body_that_is_not_json_is_an_error():
    fake = FakeApi([(200, {}, "hello")])
    try:
        with _client(fake) as c:
            with pytest.raises(TengineError) as err:
                c.projects.list()
    finally:
        fake.close()
    assert err.value.status == 200


def test_an_error_prints_its_status_code_and_request_id():
    e = AuthenticationError("bad", status=401, code="INVALID_API_KEY", request_id="req_1")
    assert "401" in str(e) and "INVALID_API_KEY" in str(e) and "req_1" in str(e)
    assert "AuthenticationError" in repr(e)
