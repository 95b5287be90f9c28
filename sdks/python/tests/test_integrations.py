"""Integrations (OAuth clients) against a real server: CRUD, the secret shown once,
connections, the registration policy, and validation errors."""

from __future__ import annotations

import pytest

from tengineai import Integration, NotFoundError, Page, TengineAI, ValidationError


def test_integrations_are_created_read_updated_rotated_and_deleted(client: TengineAI, project) -> None:
    made = client.integrations.create(
        project.id, name="Agent", redirect_uris=["http://127.0.0.1/callback"], permissions=["read", "write"]
    )
    assert isinstance(made, Integration) and made.client_id == made.id and made.id.startswith("int_")
    assert made.client_type == "confidential" and made.client_secret and made.client_secret.startswith("tng_ocs_")
    shown = client.integrations.retrieve(project.id, made.id)
    assert shown.client_secret is None, "the secret is shown once"

    page = client.integrations.list(project.id)
    assert isinstance(page, Page) and [i.id for i in page] == [made.id]
    assert [i.id for i in client.integrations.list_all(project.id)] == [made.id]

    narrowed = client.integrations.update(project.id, made.id, permissions=["read"])
    assert narrowed.permissions == ["read"]
    rotated = client.integrations.rotate_secret(project.id, made.id)
    assert rotated.client_secret and rotated.client_secret != made.client_secret
    assert list(client.integrations.connections(project.id, made.id)) == []

    client.integrations.delete(project.id, made.id)
    with pytest.raises(NotFoundError):
        client.integrations.retrieve(project.id, made.id)


def test_a_public_client_has_no_secret_and_bad_redirects_are_refused(client: TengineAI, project) -> None:
    public = client.integrations.create(
        project.id, name="Desktop", redirect_uris=["http://127.0.0.1/cb"], permissions=["read"], client_type="public"
    )
    assert public.client_secret is None
    with pytest.raises(ValidationError) as e:
        client.integrations.rotate_secret(project.id, public.id)
    assert e.value.details["field"] == "client_type"
    with pytest.raises(ValidationError) as e:
        client.integrations.create(project.id, name="x", redirect_uris=["http://evil.example/cb"], permissions=["read"])
    assert e.value.details["field"] == "redirect_uris[0]"


def test_dynamic_registration_is_off_until_an_admin_allows_it(client: TengineAI, project) -> None:
    assert client.integrations.registration(project.id).enabled is False
    policy = client.integrations.set_registration(project.id, True, permissions=["read"])
    assert policy.enabled is True and policy.permissions == ["read"]
    assert client.integrations.registration(project.id).permissions == ["read"]
