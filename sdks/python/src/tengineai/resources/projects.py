"""``/projects``: create, list, retrieve, update and delete projects."""

from __future__ import annotations

from typing import Any, Iterator, Optional

from .._http import path
from .._models import Page, Project
from ._base import Resource, page_params, paginate_by_cursor, patch_body, to_page

_PATCHABLE = frozenset({"name", "description"})


class ProjectsResource(Resource):
    def list(
        self,
        page: Optional[int] = None,
        per_page: Optional[int] = None,
        *,
        starting_after: Optional[str] = None,
        ending_before: Optional[str] = None,
    ) -> Page[Project]:
        """One page of the projects the key can see, newest first: by ``page`` number, or
        after / before a project id (``starting_after`` / ``ending_before``; the same cost
        at any depth)."""
        params = page_params(page, per_page, starting_after, ending_before)
        body = self._http.request("GET", "/projects", params=params)
        return to_page(body, Project.from_dict)

    def list_all(self, per_page: int = 100) -> Iterator[Project]:
        """Every project, page after page (by cursor)."""
        return paginate_by_cursor(lambda a, n: self.list(per_page=n, starting_after=a), per_page)

    def create(self, name: str, description: Optional[str] = None, *, idempotency_key: Optional[str] = None) -> Project:
        """Create a project (needs an account-wide key with ``write``)."""
        body: dict = {"name": name}
        if description is not None:
            body["description"] = description
        return Project.from_dict(self._http.request("POST", "/projects", json_body=body, idempotency_key=idempotency_key))

    def retrieve(self, project_id: str) -> Project:
        return Project.from_dict(self._http.request("GET", path("projects", project_id)))

    get = retrieve

    def update(self, project_id: str, **fields: Any) -> Project:
        """Change ``name`` and/or ``description``; only the given fields are sent, and
        ``description=None`` clears the description."""
        body = patch_body(fields, _PATCHABLE)
        return Project.from_dict(self._http.request("PATCH", path("projects", project_id), json_body=body, send_body=True))

    def delete(self, project_id: str) -> None:
        """Soft-delete a project (needs ``admin``): its keys and webhooks stop working at once."""
        self._http.request("DELETE", path("projects", project_id))
