"""The execution layer's resources against a real server: who the key is, signing keys
(and a private key refused), member assertion refusals, and the call log's filters."""

from __future__ import annotations

import pytest

from tengineai import Me, NotFoundError, Page, SigningKey, TengineAI, ValidationError

ED25519_JWK = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}


def test_me_says_who_the_key_is(client: TengineAI) -> None:
    me = client.me()
    assert isinstance(me, Me)
    assert me.scope == "account" and "admin" in me.permissions
    assert me.key_id.startswith("key_") and not me.session


def test_signing_keys_are_registered_listed_and_deleted(client: TengineAI, project) -> None:
    key = client.signing_keys.create(project.id, "backend-1", "EdDSA", jwk=ED25519_JWK)
    assert isinstance(key, SigningKey)
    assert (key.kid, key.alg, key.jwk) == ("backend-1", "EdDSA", ED25519_JWK)
    assert client.signing_keys.retrieve(project.id, key.id).id == key.id
    page = client.signing_keys.list(project.id)
    assert isinstance(page, Page) and [k.id for k in page] == [key.id]
    private = dict(ED25519_JWK, d="nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
    with pytest.raises(ValidationError) as err:
        client.signing_keys.create(project.id, "backend-2", "EdDSA", jwk=private)
    assert err.value.details.get("field") == "jwk"
    client.signing_keys.delete(project.id, key.id)
    with pytest.raises(NotFoundError):
        client.signing_keys.retrieve(project.id, key.id)


def test_a_bad_member_assertion_is_a_validation_error(client: TengineAI, project) -> None:
    with pytest.raises(ValidationError) as err:
        client.mcp.session_token("not-a-jwt", project_id=project.id)
    assert err.value.details.get("field") == "member_assertion"


def test_the_call_log_lists_and_filters(client: TengineAI, project) -> None:
    page = client.tool_calls.list(project.id, status="failed", per_page=5)
    assert isinstance(page, Page) and list(page) == []
    with pytest.raises(ValidationError):
        client.tool_calls.list(project.id, status="ok")
    with pytest.raises(NotFoundError):
        client.tool_calls.retrieve(project.id, "call_0000000000000000000001")
