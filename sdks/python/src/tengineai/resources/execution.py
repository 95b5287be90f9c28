"""The execution layer's other resources: the tool call log (``/projects/{id}/tool-calls``),
member sessions (signing keys and ``POST /mcp/session-token``) and ``GET /me``."""

from __future__ import annotations

from typing import Any, Dict, Iterator, Optional

from .._http import path
from .._models import Me, Page, SessionToken, SigningKey, ToolCall
from ._base import Resource, page_params, paginate, to_page


class ToolCallsResource(Resource):
    """Every tool call ``/mcp`` made or refused; arguments and results only for tools with
    ``log_payloads``."""

    def list(
        self,
        project_id: str,
        page: Optional[int] = None,
        per_page: Optional[int] = None,
        *,
        tool_id: Optional[str] = None,
        member_id: Optional[str] = None,
        status: Optional[str] = None,
    ) -> Page[ToolCall]:
        params = page_params(page, per_page, tool_id=tool_id, member_id=member_id, status=status)
        body = self._http.request("GET", path("projects", project_id, "tool-calls"), params=params)
        return to_page(body, ToolCall.from_dict)

    def list_all(self, project_id: str, per_page: int = 100, **filters: Any) -> Iterator[ToolCall]:
        return paginate(lambda p, n: self.list(project_id, page=p, per_page=n, **filters), per_page)

    def retrieve(self, project_id: str, call_id: str) -> ToolCall:
        return ToolCall.from_dict(self._http.request("GET", path("projects", project_id, "tool-calls", call_id)))

    get = retrieve


class SigningKeysResource(Resource):
    """The public keys a project's backend signs member assertions with."""

    def list(self, project_id: str, page: Optional[int] = None, per_page: Optional[int] = None) -> Page[SigningKey]:
        body = self._http.request("GET", path("projects", project_id, "signing-keys"), params=page_params(page, per_page))
        return to_page(body, SigningKey.from_dict)

    def create(
        self,
        project_id: str,
        kid: str,
        alg: str,
        *,
        public_key_pem: Optional[str] = None,
        jwk: Optional[Dict[str, Any]] = None,
        idempotency_key: Optional[str] = None,
    ) -> SigningKey:
        """Register a public key: exactly one of ``public_key_pem`` and ``jwk``."""
        body: Dict[str, Any] = {"kid": kid, "alg": alg}
        if public_key_pem is not None:
            body["public_key_pem"] = public_key_pem
        if jwk is not None:
            body["jwk"] = jwk
        data = self._http.request(
            "POST", path("projects", project_id, "signing-keys"), json_body=body, idempotency_key=idempotency_key
        )
        return SigningKey.from_dict(data)

    def retrieve(self, project_id: str, signing_key_id: str) -> SigningKey:
        return SigningKey.from_dict(self._http.request("GET", path("projects", project_id, "signing-keys", signing_key_id)))

    get = retrieve

    def delete(self, project_id: str, signing_key_id: str) -> None:
        self._http.request("DELETE", path("projects", project_id, "signing-keys", signing_key_id))


class McpResource(Resource):
    """``/mcp`` helpers for a project's backend."""

    def session_token(
        self,
        member_assertion: str,
        *,
        project_id: Optional[str] = None,
        idempotency_key: Optional[str] = None,
    ) -> SessionToken:
        """Exchange a member assertion (a JWT your backend signed) for a 15-minute
        ``tng_mst_`` token an MCP client uses at ``/mcp`` for that member. An account-wide
        key names the project with ``project_id``."""
        headers = {"X-Tengine-Project-Id": project_id} if project_id else None
        data = self._http.request(
            "POST",
            path("mcp", "session-token"),
            json_body={"member_assertion": member_assertion},
            idempotency_key=idempotency_key,
            headers=headers,
        )
        return SessionToken.from_dict(data)


class MeResource(Resource):
    def retrieve(self) -> Me:
        """Who the client's key is: scope, permissions, plan and limit."""
        return Me.from_dict(self._http.request("GET", path("me")))
