"""Custom tools against a real server: CRUD, the write-only secret, validation errors."""

from __future__ import annotations

import pytest

from tengineai import NotFoundError, Page, TengineAI, Tool, ValidationError

SECRET = "python-sdk-tool-secret-123"


def make_tool(client: TengineAI, project_id: str, name: str = "crm-contacts-get_by_id") -> Tool:
    return client.tools.create(
        project_id,
        name=name,
        description="Looks up a CRM contact by id.",
        input_schema={"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
        base_url="https://api.example.com",
        http_method="POST",
        endpoint_path="/v1/contacts/{id}",
        body_template={"id": "{id}"},
        inject_member_identity=["id"],
        auth_strategy="static_bearer",
        encrypted_auth_secret=SECRET,
    )


def test_tools_are_created_read_listed_updated_and_deleted(client: TengineAI, project) -> None:
    tool = make_tool(client, project.id)
    assert tool.id.startswith("tool_")
    assert (tool.has_auth_secret, tool.auth_strategy, tool.enabled) == (True, "static_bearer", True)
    assert tool.body_template == {"id": "{id}"}
    assert SECRET not in repr(tool.raw)
    assert client.tools.retrieve(project.id, tool.id).id == tool.id

    page = client.tools.list(project.id, per_page=10)
    assert isinstance(page, Page) and [t.id for t in page] == [tool.id]
    assert [t.id for t in client.tools.list_all(project.id)] == [tool.id]

    updated = client.tools.update(project.id, tool.id, http_method="GET", body_template=None, enabled=False)
    assert (updated.http_method, updated.body_template, updated.enabled) == ("GET", None, False)

    client.tools.delete(project.id, tool.id)
    with pytest.raises(NotFoundError):
        client.tools.retrieve(project.id, tool.id)


def test_a_duplicate_name_and_bad_fields_are_validation_errors(client: TengineAI, project) -> None:
    make_tool(client, project.id, name="dup")
    with pytest.raises(ValidationError) as dup:
        make_tool(client, project.id, name="dup")
    assert dup.value.details["field"] == "name"
    with pytest.raises(ValidationError) as bad:
        client.tools.create(
            project.id,
            name="Bad Name",
            description="x",
            input_schema={"type": "object"},
            base_url="ftp://example.com",
            http_method="GET",
            endpoint_path="/x",
            timeout_ms=30_001,
        )
    fields = sorted(e["field"] for e in bad.value.details["errors"])
    assert fields == ["base_url", "name", "timeout_ms"]
    with pytest.raises(TypeError):
        client.tools.update(project.id, "tool_x", secret="nope")


def test_a_tool_is_tried_once_with_its_secret_masked(client: TengineAI, project) -> None:
    tool = make_tool(client, project.id, name="try-me")
    # api.example.com does not answer here: the call is made and fails as a tool error.
    tried = client.tools.test(project.id, tool.id, {"id": "c-1"})
    assert tried.call_id.startswith("call_")
    assert (tried.request.method, tried.request.url) == ("POST", "https://api.example.com/v1/contacts/c-1")
    auth = [h.value for h in tried.request.headers if h.name == "Authorization"]
    assert auth == ["Bearer ********"]
    assert SECRET not in repr(tried.raw)
    assert tried.is_error is True
    with pytest.raises(ValidationError) as refused:
        client.tools.test(project.id, tool.id, {})
    assert refused.value.details.get("field") == "arguments/id"
