"""``/projects/{id}/api-keys``: project-scoped API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterator, List, Optional, Sequence, Union

from .._http import path
from .._models import ApiKey, Page
from ._base import Resource, page_params, paginate_by_cursor, patch_body, to_page, wire_value

_PATCHABLE = frozenset({"name", "permissions", "expires_at"})


class ApiKeysResource(Resource):
    def list(
        self,
        project_id: str,
        page: Optional[int] = None,
        per_page: Optional[int] = None,
        *,
        starting_after: Optional[str] = None,
        ending_before: Optional[str] = None,
    ) -> Page[ApiKey]:
        """One page of the project's keys (revoked ones included, with ``revoked_at``), by
        number or after / before a key id."""
        params = page_params(page, per_page, starting_after, ending_before)
        body = self._http.request("GET", path("projects", project_id, "api-keys"), params=params)
        return to_page(body, ApiKey.from_dict)

    def list_all(self, project_id: str, per_page: int = 100) -> Iterator[ApiKey]:
        return paginate_by_cursor(lambda a, n: self.list(project_id, per_page=n, starting_after=a), per_page)

    def create(
        self,
        project_id: str,
        name: str,
        permissions: Sequence[str],
        expires_at: Optional[Union[datetime, str]] = None,
        *,
        idempotency_key: Optional[str] = None,
    ) -> ApiKey:
        """Create a key; the returned ``ApiKey.key`` holds the secret, shown this once."""
        body: dict = {"name": name, "permissions": list(permissions)}
        if expires_at is not None:
            body["expires_at"] = wire_value(expires_at)
        data = self._http.request(
            "POST", path("projects", project_id, "api-keys"), json_body=body, idempotency_key=idempotency_key
        )
        return ApiKey.from_dict(data)

    def retrieve(self, project_id: str, key_id: str) -> ApiKey:
        return ApiKey.from_dict(self._http.request("GET", path("projects", project_id, "api-keys", key_id)))

    get = retrieve

    def update(self, project_id: str, key_id: str, **fields: Any) -> ApiKey:
        """Change ``name``, ``permissions`` and/or ``expires_at`` (``None`` = never expires)."""
        body = patch_body(fields, _PATCHABLE)
        data = self._http.request(
            "PATCH", path("projects", project_id, "api-keys", key_id), json_body=body, send_body=True
        )
        return ApiKey.from_dict(data)

    def revoke(self, project_id: str, key_id: str) -> ApiKey:
        """Revoke a key at once; it stays listed with ``revoked_at``."""
        return ApiKey.from_dict(self._http.request("DELETE", path("projects", project_id, "api-keys", key_id)))

    delete = revoke

    def rotate(
        self,
        project_id: str,
        key_id: str,
        grace_period_seconds: Optional[int] = None,
        *,
        idempotency_key: Optional[str] = None,
    ) -> ApiKey:
        """Issue a new secret for the key (in ``.key``); the old one keeps working for
        ``grace_period_seconds`` (default 0)."""
        body = {"grace_period_seconds": grace_period_seconds} if grace_period_seconds is not None else None
        data = self._http.request(
            "POST",
            path("projects", project_id, "api-keys", key_id, "rotate"),
            json_body=body,
            idempotency_key=idempotency_key,
        )
        return ApiKey.from_dict(data)


__all__: List[str] = ["ApiKeysResource"]
