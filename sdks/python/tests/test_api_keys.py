"""API keys against a real server: the reference's quick start, create, rotate, revoke."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tengineai import ApiKey, AuthenticationError, TengineAI, ValidationError


def test_the_quick_start_creates_a_project_and_a_key(client: TengineAI):
    # 1. Create project
    project = client.projects.create(
        name='My App',
        description='A sample application'
    )
    # 2. Generate API key
    api_key = client.api_keys.create(project.id, name='Production Key', permissions=['read', 'write'])

    assert isinstance(api_key, ApiKey)
    assert api_key.id.startswith("key_")
    assert api_key.project_id == project.id
    assert api_key.permissions == ["read", "write"]
    assert api_key.key and api_key.key.startswith("tng_") and len(api_key.key) == 50
    assert api_key.prefix == api_key.key[:12]
    assert api_key.revoked_at is None
    assert api_key.key not in repr(api_key)  # the secret never shows in a repr


def test_a_key_is_listed_and_retrieved_without_its_secret(client: TengineAI, project):
    created = client.api_keys.create(project.id, name="listed", permissions=["read"])
    fetched = client.api_keys.retrieve(project.id, created.id)
    assert fetched.key is None
    assert fetched.id == created.id and fetched.name == "listed"
    assert client.api_keys.get(project.id, created.id).id == created.id

    page = client.api_keys.list(project.id)
    assert [k.id for k in page.data] == [created.id]
    assert page.data[0].key is None
    assert [k.id for k in client.api_keys.list_all(project.id)] == [created.id]


def test_list_all_keys_follows_pages(client: TengineAI, project):
    ids = {client.api_keys.create(project.id, name=f"k{i}", permissions=["read"]).id for i in range(5)}
    assert {k.id for k in client.api_keys.list_all(project.id, per_page=2)} == ids


def test_expires_at_accepts_a_datetime_or_a_string(client: TengineAI, project):
    when = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)
    a = client.api_keys.create(project.id, name="dt", permissions=["read"], expires_at=when)
    assert a.expires_at == when
    b = client.api_keys.create(
        project.id, name="str", permissions=["read"], expires_at=when.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    assert b.expires_at == when


def test_the_references_past_expiry_is_a_validation_error(client: TengineAI, project):
    with pytest.raises(ValidationError) as err:
        client.api_keys.create(project.id, name="My API Key", permissions=["read", "write"], expires_at="2024-12-31T23:59:59Z")
    assert err.value.field == "expires_at"


def test_a_key_can_be_updated(client: TengineAI, project):
    key = client.api_keys.create(project.id, name="before", permissions=["read"])
    updated = client.api_keys.update(project.id, key.id, name="after", permissions=["read", "write"])
    assert updated.name == "after"
    assert updated.permissions == ["read", "write"]


def test_a_new_key_works_and_sees_only_its_project(server, client: TengineAI, project):
    key = client.api_keys.create(project.id, name="scoped", permissions=["read"])
    with TengineAI(api_key=key.key, base_url=server.api_url) as scoped:
        assert [p.id for p in scoped.projects.list().data] == [project.id]


def test_rotation_issues_a_new_secret_and_the_old_one_stops_working(server, client: TengineAI, project):
    key = client.api_keys.create(project.id, name="rotating", permissions=["read"])
    rotated = client.api_keys.rotate(project.id, key.id)
    assert rotated.id == key.id
    assert rotated.key and rotated.key != key.key
    with TengineAI(api_key=rotated.key, base_url=server.url) as fresh:
        assert fresh.projects.retrieve(project.id).id == project.id
    with TengineAI(api_key=key.key, base_url=server.url, max_retries=0) as stale:
        with pytest.raises(AuthenticationError):
            stale.projects.retrieve(project.id)


def test_rotation_with_a_grace_period_keeps_the_old_secret_working(server, client: TengineAI, project):
    key = client.api_keys.create(project.id, name="graceful", permissions=["read"])
    rotated = client.api_keys.rotate(project.id, key.id, grace_period_seconds=3600)
    assert rotated.key != key.key
    with TengineAI(api_key=key.key, base_url=server.url) as old:
        assert old.projects.retrieve(project.id).id == project.id


def test_a_revoked_key_is_returned_with_revoked_at_and_is_refused(server, client: TengineAI, project):
    key = client.api_keys.create(project.id, name="doomed", permissions=["read"])
    revoked = client.api_keys.revoke(project.id, key.id)
    assert revoked.id == key.id
    assert revoked.revoked_at is not None and revoked.revoked_at.tzinfo is not None
    assert client.api_keys.retrieve(project.id, key.id).revoked_at == revoked.revoked_at
    with TengineAI(api_key=key.key, base_url=server.url, max_retries=0) as dead:
        with pytest.raises(AuthenticationError) as err:
            dead.projects.list()
    assert err.value.code == "INVALID_API_KEY"
