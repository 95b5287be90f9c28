"""``/projects/{id}/tools``: a project's custom tools (its own HTTP endpoints, described
for models). ``encrypted_auth_secret`` is write-only: it is sent, encrypted at rest and
never returned; ``Tool.has_auth_secret`` says whether one is stored."""

from __future__ import annotations

from typing import Any, Dict, Iterator, Optional

from .._http import path
from .._models import Page, Tool, ToolTestResult
from ._base import Resource, page_params, paginate, patch_body, to_page

_OPTIONAL = frozenset(
    {
        "headers_template",
        "query_template",
        "body_template",
        "enabled",
        "require_member",
        "log_payloads",
        "inject_member_identity",
        "auth_strategy",
        "encrypted_auth_secret",
        "timeout_ms",
        "max_response_bytes",
    }
)
_PATCHABLE = _OPTIONAL | {"name", "description", "input_schema", "base_url", "http_method", "endpoint_path"}


class ToolsResource(Resource):
    def list(self, project_id: str, page: Optional[int] = None, per_page: Optional[int] = None) -> Page[Tool]:
        body = self._http.request("GET", path("projects", project_id, "tools"), params=page_params(page, per_page))
        return to_page(body, Tool.from_dict)

    def list_all(self, project_id: str, per_page: int = 100) -> Iterator[Tool]:
        return paginate(lambda p, n: self.list(project_id, page=p, per_page=n), per_page)

    def create(
        self,
        project_id: str,
        name: str,
        description: str,
        input_schema: Dict[str, Any],
        base_url: str,
        http_method: str,
        endpoint_path: str,
        *,
        idempotency_key: Optional[str] = None,
        **optional: Any,
    ) -> Tool:
        """Create a tool. Optional fields (``headers_template``, ``query_template``,
        ``body_template``, ``enabled``, ``require_member``, ``inject_member_identity``,
        ``auth_strategy``, ``encrypted_auth_secret``, ``timeout_ms``,
        ``max_response_bytes``) are sent only when given."""
        body: Dict[str, Any] = {
            "name": name,
            "description": description,
            "input_schema": input_schema,
            "base_url": base_url,
            "http_method": http_method,
            "endpoint_path": endpoint_path,
        }
        body.update(patch_body(optional, _OPTIONAL))
        data = self._http.request(
            "POST", path("projects", project_id, "tools"), json_body=body, idempotency_key=idempotency_key
        )
        return Tool.from_dict(data)

    def retrieve(self, project_id: str, tool_id: str) -> Tool:
        return Tool.from_dict(self._http.request("GET", path("projects", project_id, "tools", tool_id)))

    get = retrieve

    def update(self, project_id: str, tool_id: str, **fields: Any) -> Tool:
        """Change only the fields given; ``None`` clears a template (``body_template=None``
        means no body)."""
        body = patch_body(fields, _PATCHABLE)
        data = self._http.request("PATCH", path("projects", project_id, "tools", tool_id), json_body=body, send_body=True)
        return Tool.from_dict(data)

    def delete(self, project_id: str, tool_id: str) -> None:
        self._http.request("DELETE", path("projects", project_id, "tools", tool_id))

    def test(self, project_id: str, tool_id: str, arguments: Optional[Dict[str, Any]] = None) -> ToolTestResult:
        """Runs the tool once (logged and counted like a call through ``/mcp``) and returns
        what was sent, credentials masked, and the result the model would get. A disabled
        tool or arguments off its schema raise ``ValidationError``; an API that fails is a
        result with ``is_error``."""
        body = {"arguments": arguments if arguments is not None else {}}
        raw = self._http.request("POST", path("projects", project_id, "tools", tool_id, "test"), json_body=body)
        return ToolTestResult.from_dict(raw)
