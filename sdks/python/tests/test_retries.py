"""Retries against a scripted fake server: backoff, Retry-After and idempotency keys."""

from __future__ import annotations

import uuid

import pytest

from helpers import FakeApi, error_body, unused_port
from tengineai import APIConnectionError, RateLimitError, ServiceUnavailableError, TengineAI

PROJECT = {"id": "proj_1", "name": "x", "description": None, "created_at": "2030-01-01T00:00:00Z", "updated_at": "2030-01-01T00:00:00Z"}


@pytest.fixture
def sleeps():
    return []


def make_client(url, sleeps, **kw):
    kw.setdefault("retry_base_delay", 0.001)
    return TengineAI(api_key="k", base_url=url, sleep=sleeps.append, **kw)


def test_a_post_is_retried_after_503s_with_the_same_idempotency_key(sleeps):
    unavailable = (503, {"Retry-After": "0"}, error_body("SERVICE_UNAVAILABLE"))
    fake = FakeApi([unavailable, unavailable, (201, {}, PROJECT)])
    try:
        with make_client(fake.url, sleeps) as c:
            project = c.projects.create(name="x")
        requests = fake.snapshot()
    finally:
        fake.close()
    assert project.id == "proj_1"
    assert len(requests) == 3
    keys = {r.headers.get("Idempotency-Key") for r in requests}
    assert len(keys) == 1
    (key,) = keys
    assert uuid.UUID(key).version == 4
    assert all(r.body == b'{"name": "x"}' for r in requests)
    # Retry-After: 0 is a lower bound; the jittered backoff still applies.
    assert 0.0005 <= sleeps[0] <= 0.001 and 0.001 <= sleeps[1] <= 0.002


def test_a_get_is_retried_after_429_and_sends_no_idempotency_key(sleeps):
    limited = (429, {"Retry-After": "0"}, error_body("RATE_LIMIT_EXCEEDED", details={"limit": 100}))
    fake = FakeApi([limited, limited, (200, {}, {"data": [PROJECT], "pagination": {"page": 1, "per_page": 20, "total": 1}})])
    try:
        with make_client(fake.url, sleeps) as c:
            page = c.projects.list()
        requests = fake.snapshot()
    finally:
        fake.close()
    assert [p.id for p in page.data] == ["proj_1"]
    assert len(requests) == 3
    assert all("Idempotency-Key" not in r.headers for r in requests)
    assert all(r.headers["Authorization"] == "Bearer k" for r in requests)


def test_two_logical_posts_use_different_idempotency_keys(sleeps):
    fake = FakeApi([(201, {}, PROJECT)])
    try:
        with make_client(fake.url, sleeps) as c:
            c.projects.create(name="x")
            c.projects.create(name="x")
        requests = fake.snapshot()
    finally:
        fake.close()
    assert requests[0].headers["Idempotency-Key"] != requests[1].headers["Idempotency-Key"]


def test_502_and_504_are_retried(sleeps):
    fake = FakeApi([(502, {}, "bad gateway"), (504, {}, "timeout"), (201, {}, PROJECT)])
    try:
        with make_client(fake.url, sleeps) as c:
            assert c.projects.create(name="x").id == "proj_1"
    finally:
        fake.close()
    assert len(sleeps) == 2


def test_retries_stop_after_max_retries(sleeps):
    fake = FakeApi([(503, {"Retry-After": "0"}, error_body("SERVICE_UNAVAILABLE"))])
    try:
        with make_client(fake.url, sleeps, max_retries=2) as c:
            with pytest.raises(ServiceUnavailableError):
                c.projects.create(name="x")
        assert len(fake.snapshot()) == 3
    finally:
        fake.close()


def test_max_retries_zero_raises_at_once(sleeps):
    fake = FakeApi([(429, {"Retry-After": "5"}, error_body("RATE_LIMIT_EXCEEDED"))])
    try:
        with make_client(fake.url, sleeps, max_retries=0) as c:
            with pytest.raises(RateLimitError) as err:
                c.projects.list()
        assert len(fake.snapshot()) == 1
    finally:
        fake.close()
    assert sleeps == []
    assert err.value.retry_after == 5.0


def test_other_errors_are_not_retried(sleeps):
    fake = FakeApi([(500, {}, error_body("INTERNAL_ERROR")), (200, {}, PROJECT)])
    try:
        with make_client(fake.url, sleeps) as c:
            with pytest.raises(Exception):
                c.projects.retrieve("proj_1")
        assert len(fake.snapshot()) == 1
    finally:
        fake.close()


def test_retry_after_beyond_retry_max_delay_raises_at_once(sleeps):
    fake = FakeApi([(429, {"Retry-After": "3600"}, error_body("RATE_LIMIT_EXCEEDED")), (200, {}, PROJECT)])
    try:
        with make_client(fake.url, sleeps, retry_max_delay=0.25) as c:
            with pytest.raises(RateLimitError) as err:
                c.projects.retrieve("proj_1")
        assert len(fake.snapshot()) == 1
    finally:
        fake.close()
    assert sleeps == []
    assert err.value.retry_after == 3600.0


def test_retry_after_below_the_cap_is_a_lower_bound_on_the_wait(sleeps):
    fake = FakeApi([(429, {"Retry-After": "2"}, error_body("RATE_LIMIT_EXCEEDED")), (200, {}, PROJECT)])
    try:
        with make_client(fake.url, sleeps, retry_max_delay=5) as c:
            c.projects.retrieve("proj_1")
    finally:
        fake.close()
    assert sleeps == [2.0]


def test_backoff_without_retry_after_grows_exponentially_with_jitter(sleeps):
    fake = FakeApi([(503, {}, "down")] * 3 + [(200, {}, PROJECT)])
    try:
        with make_client(fake.url, sleeps, retry_base_delay=1.0, retry_max_delay=100) as c:
            c.projects.retrieve("proj_1")
    finally:
        fake.close()
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps):
        assert 0.5 * 2**attempt <= delay <= 2**attempt


def test_network_errors_are_retried_then_raised(sleeps):
    url = f"http://127.0.0.1:{unused_port()}"  # nothing listens there
    with make_client(url, sleeps, max_retries=2) as c:
        with pytest.raises(APIConnectionError):
            c.projects.list()
    assert len(sleeps) == 2


def test_default_backoff_really_sleeps_briefly():
    unavailable = (503, {"Retry-After": "0"}, error_body("SERVICE_UNAVAILABLE"))
    fake = FakeApi([unavailable, (200, {}, PROJECT)])
    try:
        with TengineAI(api_key="k", base_url=fake.url) as c:
            assert c.projects.retrieve("proj_1").id == "proj_1"
    finally:
        fake.close()
