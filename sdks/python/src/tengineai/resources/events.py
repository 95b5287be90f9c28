"""``/projects/{id}/events``: the project's event log (``.../events/stream`` follows it live);
``/event-types``: what each type means."""

from __future__ import annotations

import json
from typing import Iterator, Optional

from .._errors import TengineError
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
        number or after / before an event id. ``retained_since`` says since when the log is
        complete."""
        params = page_params(page, per_page, starting_after, ending_before, type=type)
        body, headers = self._http.request_with_headers("GET", path("projects", project_id, "events"), params=params)
        return to_page(body, Event.from_dict, headers)

    def list_all(self, project_id: str, type: Optional[str] = None, per_page: int = 100) -> Iterator[Event]:
        return paginate_by_cursor(lambda a, n: self.list(project_id, type=type, per_page=n, starting_after=a), per_page)

    def stream(self, project_id: str, last_event_id: Optional[str] = None) -> Iterator[Event]:
        """The project's events as they happen (``GET .../events/stream``, Server-Sent Events):
        those after ``last_event_id`` first, in order, when given; else only new ones.

        When the server ends the stream (every 15 minutes) or the connection drops, it
        resumes by itself after the last event received (after 0.5 s, doubling to 10 s while
        the server cannot be reached). Stop iterating (or ``close()`` the generator) to end
        it. Until the first event arrives there is no id to resume from, so a reconnection
        starts after the newest event again; to miss nothing, start from a known event (the
        newest of :meth:`list`, say).

        Raised, ending the iteration: the first connection's error after the usual retries
        (an unknown ``last_event_id`` is a :class:`ValidationError` on ``Last-Event-ID``); a
        reconnection's 4xx (a revoked key); a :class:`TengineError` for a message that is not
        an event."""
        route = path("projects", project_id, "events", "stream")
        for message in self._http.stream(route, last_event_id):
            try:
                event = Event.from_dict(json.loads(message.data))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise TengineError(f"The event stream sent a message that is not an event: {message.data[:200]!r}") from exc
            yield event


class EventTypesResource(Resource):
    def list(self) -> EventTypeCatalogue:
        """Every event type: what it means, its ``scope`` (``project`` or ``account``) and the
        JSON Schema of its ``data``, kept exactly as the server sent it."""
        return EventTypeCatalogue.from_dict(self._http.request("GET", path("event-types")))
