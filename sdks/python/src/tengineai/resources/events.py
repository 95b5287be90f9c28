"""``/projects/{id}/events``: the project's event log; ``/event-types``: what each type means."""

from __future__ import annotations

from typing import Iterator, Optional

from .._http import path
from .._models import Event, EventTypeCatalogue, Page
from ._base import Resource, page_params, paginate_by_cursor, to_page


class EventsResource(Resource):
    def list(
        self,
        project_id: str,
        type: Optional[str] = None,
        page: Optional[int] = None,
        per_page: Optional[int] = None,
        *,
        starting_after: Optional[str] = None,
        ending_before: Optional[str] = None,
    ) -> Page[Event]:
        """One page of the project's events, newest first, optionally of one ``type``: by
        number or after / before an event id."""
        params = page_params(page, per_page, starting_after, ending_before, type=type)
        body = self._http.request("GET", path("projects", project_id, "events"), params=params)
        return to_page(body, Event.from_dict)

    def list_all(self, project_id: str, type: Optional[str] = None, per_page: int = 100) -> Iterator[Event]:
        return paginate_by_cursor(lambda a, n: self.list(project_id, type=type, per_page=n, starting_after=a), per_page)


class EventTypesResource(Resource):
    def list(self) -> EventTypeCatalogue:
        """Every event type: what it means, its ``scope`` (``project`` or ``account``) and the
        JSON Schema of its ``data``, kept exactly as the server sent it."""
        return EventTypeCatalogue.from_dict(self._http.request("GET", path("event-types")))
