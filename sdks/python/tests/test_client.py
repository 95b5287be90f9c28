"""Client configuration and models, without a server."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from tengineai import DEFAULT_BASE_URL, ApiKey, Page, Pagination, Project, TengineAI, TengineError
from tengineai._time import format_datetime, parse_datetime


@pytest.mark.parametrize(
    "given,expected",
    [
        ("http://localhost:8080", "http://localhost:8080/api/v1"),
        ("http://localhost:8080/", "http://localhost:8080/api/v1"),
        ("http://localhost:8080/api/v1", "http://localhost:8080/api/v1"),
        ("http://localhost:8080/api/v1/", "http://localhost:8080/api/v1"),
        ("https://example.com/tengine", "https://example.com/tengine/api/v1"),
        ("https://app.tengine.ai/api/v1", "https://app.tengine.ai/api/v1"),
    ],
)
def test_base_urls_get_the_api_prefix_once(given, expected):
    assert TengineAI(api_key="k", base_url=given).base_url == expected


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("TENGINE_API_KEY", "from-env")
    monkeypatch.setenv("TENGINE_BASE_URL", "http://env.example:1")
    c = TengineAI()
    assert c.base_url == "http://env.example:1/api/v1"
    assert c._http.api_key == "from-env"
    assert TengineAI(api_key="given", base_url="http://x")._http.api_key == "given"


def test_the_default_base_url_is_the_hosted_api(monkeypatch):
    monkeypatch.delenv("TENGINE_BASE_URL", raising=False)
    assert TengineAI(api_key="k").base_url == DEFAULT_BASE_URL == "https://app.tengine.ai/api/v1"


def test_a_missing_api_key_is_an_error(monkeypatch):
    monkeypatch.delenv("TENGINE_API_KEY", raising=False)
    with pytest.raises(TengineError):
        TengineAI()


def test_the_client_is_a_context_manager():
    with TengineAI(api_key="k", base_url="http://x", max_retries=5) as c:
        assert c.max_retries == 5
    c.close()  # closing twice is harmless


def test_timestamps_parse_to_aware_utc_datetimes():
    assert parse_datetime("2024-01-01T00:00:00Z") == datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert parse_datetime("2026-11-28T22:52:16.123456Z") == datetime(2026, 11, 28, 22, 52, 16, 123456, tzinfo=timezone.utc)
    assert parse_datetime("2026-11-28T22:52:16.1Z").microsecond == 100000
    assert parse_datetime("2026-11-28T23:52:16+01:00") == datetime(2026, 11, 28, 22, 52, 16, tzinfo=timezone.utc)
    assert parse_datetime(None) is None
    assert format_datetime(datetime(2030, 1, 2, 3, 4, 5)) == "2030-01-02T03:04:05Z"
    assert format_datetime(datetime(2030, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc)) == "2030-01-02T03:04:05.000006Z"


def test_models_ignore_unknown_fields_and_keep_them_in_raw():
    p = Project.from_dict(
        {"id": "proj_123", "name": "My Project", "description": "A sample project", "created_at": "2024-01-01T00:00:00Z", "colour": "blue"}
    )
    assert p.updated_at is None  # the reference's create response has none
    assert p.created_at == datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert p.raw["colour"] == "blue"


def test_secrets_are_kept_out_of_reprs_and_raw():
    k = ApiKey.from_dict({"id": "key_1", "name": "n", "permissions": ["read"], "key": "tng_secret"})
    assert k.key == "tng_secret"
    assert "tng_secret" not in repr(k)
    assert "key" not in k.raw


def test_page_has_next_and_iterates():
    page = Page(data=[1, 2], pagination=Pagination(page=1, per_page=2, total=3))
    assert page.has_next() and page.next_page == 2
    assert list(page) == [1, 2] and len(page) == 2
    assert not Page(data=[3], pagination=Pagination(page=2, per_page=2, total=3)).has_next()
    # The server's has_more wins; a cursor page has no page number.
    assert Page(data=[3], pagination=Pagination(page=None, per_page=1, total=3, has_more=True)).has_next()
    assert not Page(data=[1, 2], pagination=Pagination(page=1, per_page=2, total=3, has_more=False)).has_next()


def test_analytics_dates_accept_date_datetime_and_str():
    from tengineai._time import format_date_param

    assert format_date_param(date(2030, 1, 2)) == "2030-01-02"
    assert format_date_param(datetime(2030, 1, 2, 12, tzinfo=timezone.utc)) == "2030-01-02T12:00:00Z"
    assert format_date_param("2030-01-02") == "2030-01-02"
