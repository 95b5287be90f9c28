"""``/projects/{id}/integrations``: a project's OAuth 2.1 clients (MCP runtimes connect
through them with code + PKCE), their connections (grants), and the project's dynamic
client registration policy. A confidential client's ``client_secret`` is returned by
``create`` and ``rotate_secret`` only."""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional

from .._http import path
from .._models import ClientRegistrationPolicy, Integration, IntegrationConnection, Page
from ._base import Resource, page_params, paginate, patch_body, to_page

_PATCHABLE = frozenset({"name", "redirect_uris", "permissions"})


class IntegrationsResource(Resource):
    def list(self, project_id: str, page: Optional[int] = None, per_page: Optional[int] = None) -> Page[Integration]:
        body = self._http.request(
            "GET", path("projects", project_id, "integrations"), params=page_params(page, per_page)
        )
        return to_page(body, Integration.from_dict)

    def list_all(self, project_id: str, per_page: int = 100) -> Iterator[Integration]:
        return paginate(lambda p, n: self.list(project_id, page=p, per_page=n), per_page)

    def create(
        self,
        project_id: str,
        name: str,
        redirect_uris: List[str],
        permissions: List[str],
        client_type: Optional[str] = None,
        *,
        idempotency_key: Optional[str] = None,
    ) -> Integration:
        """Create an integration; ``client_type`` is ``confidential`` (default, gets a
        ``client_secret``, shown in this answer only) or ``public`` (PKCE alone)."""
        body: Dict[str, Any] = {"name": name, "redirect_uris": redirect_uris, "permissions": permissions}
        if client_type is not None:
            body["client_type"] = client_type
        data = self._http.request(
            "POST", path("projects", project_id, "integrations"), json_body=body, idempotency_key=idempotency_key
        )
        return Integration.from_dict(data)

    def retrieve(self, project_id: str, integration_id: str) -> Integration:
        return Integration.from_dict(self._http.request("GET", path("projects", project_id, "integrations", integration_id)))

    get = retrieve

    def update(self, project_id: str, integration_id: str, **fields: Any) -> Integration:
        """Change ``name``, ``redirect_uris`` or ``permissions`` (narrowed permissions
        narrow every connection too)."""
        body = patch_body(fields, _PATCHABLE)
        data = self._http.request(
            "PATCH", path("projects", project_id, "integrations", integration_id), json_body=body, send_body=True
        )
        return Integration.from_dict(data)

    def delete(self, project_id: str, integration_id: str) -> None:
        """Delete an integration: every connection's tokens stop working at once."""
        self._http.request("DELETE", path("projects", project_id, "integrations", integration_id))

    def rotate_secret(self, project_id: str, integration_id: str) -> Integration:
        """A confidential client's new ``client_secret`` (the old one stops working)."""
        data = self._http.request("POST", path("projects", project_id, "integrations", integration_id, "rotate-secret"))
        return Integration.from_dict(data)

    def connections(
        self, project_id: str, integration_id: str, page: Optional[int] = None, per_page: Optional[int] = None
    ) -> Page[IntegrationConnection]:
        body = self._http.request(
            "GET",
            path("projects", project_id, "integrations", integration_id, "connections"),
            params=page_params(page, per_page),
        )
        return to_page(body, IntegrationConnection.from_dict)

    def disconnect(self, project_id: str, integration_id: str, connection_id: str) -> None:
        """Revoke a connection: its tokens stop working at once."""
        self._http.request(
            "DELETE", path("projects", project_id, "integrations", integration_id, "connections", connection_id)
        )

    def registration(self, project_id: str) -> ClientRegistrationPolicy:
        """Whether clients may register themselves with the project (RFC 7591)."""
        return ClientRegistrationPolicy.from_dict(
            self._http.request("GET", path("projects", project_id, "client-registration"))
        )

    def set_registration(
        self, project_id: str, enabled: bool, permissions: Optional[List[str]] = None
    ) -> ClientRegistrationPolicy:
        """Turn dynamic registration on or off (needs ``admin``); ``permissions`` is the
        most a registered client may ask for (default read and write)."""
        body: Dict[str, Any] = {"enabled": enabled}
        if permissions is not None:
            body["permissions"] = permissions
        data = self._http.request("PUT", path("projects", project_id, "client-registration"), json_body=body)
        return ClientRegistrationPolicy.from_dict(data)
