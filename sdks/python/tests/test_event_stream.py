"""Live events: the SSE parser, resumption against a scripted server, and
``client.events.stream`` against a real server."""

from __future__ import annotations

import json
import queue
import threading
from datetime import datetime, timezone
from typing import Any, Iterator, List, Optional

import httpx
import pytest

from helpers import FakeApi, error_body
from tengineai import (
    AuthenticationError,
    Event,
    NotFoundError,
    PermissionDeniedError,
    TengineAI,
    TengineError,
    ValidationError,
)
from tengineai._sse import ServerSentEvent, SSEParser

# --- the parser ------------------------------------------------------------------------


def parse_every_way(text: bytes) -> List[ServerSentEvent]:
    """Parse ``text`` whole, byte by byte and cut at every position; all must agree."""
    whole = SSEParser().feed(text)
    bytewise = SSEParser()
    assert [m for i in range(len(text)) for m in bytewise.feed(text[i : i + 1])] == whole, "byte by byte"
    for cut in range(len(text) + 1):
        parser = SSEParser()
        assert parser.feed(text[:cut]) + parser.feed(text[cut:]) == whole, f"cut at {cut}"
    return whole


EXPECTED = [
    ServerSentEvent(id="evt_1", event="api_key.created", data='{"id":"evt_1"}'),
    ServerSentEvent(id="evt_2", event="x", data="a\nb"),
]


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_messages_are_the_same_however_the_body_is_chunked_and_whatever_ends_its_lines(eol):
    lines = ["id: evt_1", "event: api_key.created", 'data: {"id":"evt_1"}', "", "id:evt_2", "event: x"]
    text = eol.join(lines + ["data: a", "data:b", "", ""])
    assert parse_every_way(text.encode()) == EXPECTED


def test_mixed_line_endings_parse_alike():
    mixed = b'id: evt_1\r\nevent: api_key.created\rdata: {"id":"evt_1"}\n\r\nid: evt_2\nevent: x\r\ndata: a\rdata:b\r\n\r'
    assert parse_every_way(mixed) == EXPECTED


def test_comments_blank_lines_and_messages_without_data_yield_nothing():
    assert parse_every_way(b": keep-alive\n\n:\n\nid: evt_1\nevent: x\n\n\n\n") == []
    parser = SSEParser()
    assert parser.feed(b"data: half") == [], "an unfinished line waits"
    assert parser.feed(b"\n") == [], "an unfinished message waits"
    assert parser.feed(b"\n") == [ServerSentEvent(data="half")]


def test_a_cr_ends_its_line_at_once_and_the_lf_after_it_in_the_next_chunk_ends_no_other():
    parser = SSEParser()
    assert parser.feed(b"data: x\r") == []
    assert len(parser.feed(b"\r")) == 1, "CR CR is a line and a blank line, dispatched without waiting"
    parser = SSEParser()
    assert parser.feed(b"data: x\r") == []
    assert parser.feed(b"\n") == [], "the LF of a CRLF split across chunks is not a blank line"
    assert parser.feed(b"") == []
    assert len(parser.feed(b"\r\n")) == 1


def test_fields_follow_the_standard():
    text = "\ufeffdata\nid: a\0b\nevent:  two spaces\nretry: 10\nunknown: x\ndata:  y\n\n".encode()
    assert parse_every_way(text) == [ServerSentEvent(id=None, event=" two spaces", data="\n y")]
    utf8 = "data: h\u00e9llo \U0001f600\n\n".encode()
    assert parse_every_way(utf8)[0].data == "h\u00e9llo \U0001f600", "characters split across chunks"


# --- resumption, against a scripted server --------------------------------------------

SSE = {"Content-Type": "text/event-stream"}


def envelope(event_id: str, kind: str) -> str:
    return json.dumps(
        {"id": event_id, "type": kind, "data": {"id": f"obj_{event_id}"}, "created_at": "2026-01-01T00:00:00Z", "api_version": "2024-01-01"}
    )


def test_the_stream_resumes_after_the_last_event_whenever_the_server_ends_it():
    one, two, three = envelope("evt_1", "api_key.created"), envelope("evt_2", "project.updated"), envelope("evt_3", "x")
    fake = FakeApi(
        [
            (200, SSE, f": keep-alive\r\n\r\nid: evt_1\r\nevent: api_key.created\r\ndata: {one}\r\n\r\nid: evt_2\ndata: {two}\n\n"),
            (503, {}, error_body("SERVICE_UNAVAILABLE")),
            (200, SSE, f"id: evt_3\rdata: {three}\r\r"),
            (401, {}, error_body("INVALID_API_KEY")),
        ]
    )
    waits: List[float] = []
    try:
        with TengineAI(api_key="tng_x", base_url=fake.url, sleep=waits.append) as c:
            got: List[Any] = []
            with pytest.raises(AuthenticationError):
                for event in c.events.stream("proj_1"):
                    got.append(event)
        assert [e.id for e in got] == ["evt_1", "evt_2", "evt_3"]
        assert all(isinstance(e, Event) for e in got)
        assert (got[0].type, got[0].data) == ("api_key.created", {"id": "obj_evt_1"})
        seen = fake.snapshot()
        assert [r.path for r in seen] == ["/api/v1/projects/proj_1/events/stream"] * 4
        assert [r.headers.get("Last-Event-ID") for r in seen] == [None, "evt_2", "evt_2", "evt_3"]
        assert all(r.headers["Accept"] == "text/event-stream" for r in seen)
        assert all(r.headers["Authorization"] == "Bearer tng_x" for r in seen)
        # 0.5 s before each reconnection, doubled after the 503, back to 0.5 s once open.
        assert waits == [0.5, 1.0, 0.5]
    finally:
        fake.close()


def test_a_first_connection_is_retried_as_any_call_but_a_4xx_is_not():
    fake = FakeApi([(503, {}, error_body("SERVICE_UNAVAILABLE")), (200, SSE, f"id: evt_9\ndata: {envelope('evt_9', 'x')}\n\n")])
    try:
        with TengineAI(api_key="tng_x", base_url=fake.url, retry_base_delay=0.01, max_retries=1) as c:
            stream = c.events.stream("proj_1", last_event_id="evt_8")
            assert next(stream).id == "evt_9"
            stream.close()
        assert [r.headers.get("Last-Event-ID") for r in fake.snapshot()] == ["evt_8", "evt_8"]
    finally:
        fake.close()

    refused = FakeApi([(422, {}, error_body("VALIDATION_ERROR", details={"field": "Last-Event-ID"}))])
    try:
        with TengineAI(api_key="tng_x", base_url=refused.url, retry_base_delay=0.01) as c:
            with pytest.raises(ValidationError) as err:
                next(c.events.stream("proj_1", last_event_id="evt_unknown"))
        assert (err.value.status, err.value.field) == (422, "Last-Event-ID")
        assert len(refused.snapshot()) == 1
    finally:
        refused.close()


def test_a_message_that_is_not_an_event_is_an_error():
    fake = FakeApi([(200, SSE, "id: evt_1\ndata: not json\n\n")])
    try:
        with TengineAI(api_key="tng_x", base_url=fake.url) as c:
            with pytest.raises(TengineError, match="not an event"):
                next(c.events.stream("proj_1"))
    finally:
        fake.close()


# --- against a real server -------------------------------------------------------------


def skip_without_stream(call):
    """Run ``call``; skip the test when the server has no stream route (an older binary)."""
    try:
        return call()
    except NotFoundError as e:
        skip_if_no_route(e)
        raise


def skip_if_no_route(error: BaseException) -> None:
    if isinstance(error, NotFoundError) and error.details.get("resource") == "route":
        pytest.skip("this tengine binary has no route /projects/{project_id}/events/stream (404 route)")


def start_reading(events: Iterator[Event], done: Optional[threading.Event] = None) -> "queue.Queue[Any]":
    """Reads the next event of ``events`` in a thread (so a silent stream fails the test
    instead of hanging it); the queue gets the event or the exception. Sets ``done`` then."""
    out: "queue.Queue[Any]" = queue.Queue()

    def read() -> None:
        try:
            out.put(next(events))
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            out.put(exc)
        if done is not None:
            done.set()

    threading.Thread(target=read, daemon=True).start()
    return out


def take(out: "queue.Queue[Any]", timeout: float = 15.0) -> Event:
    """What :func:`start_reading` read: the event, or its exception raised here."""
    try:
        got = out.get(timeout=timeout)
    except queue.Empty:
        pytest.fail(f"no event within {timeout} s")
    if isinstance(got, BaseException):
        skip_if_no_route(got)
        raise got
    return got


def first_of(events: Iterator[Event], timeout: float = 15.0) -> Event:
    return take(start_reading(events), timeout)


def test_a_stream_receives_a_new_event_as_it_happens(server, project):
    connected = threading.Event()

    def on_response(response: httpx.Response) -> None:
        if response.url.path.endswith("/events/stream") and response.status_code == 200:
            connected.set()

    http = httpx.Client(timeout=30, event_hooks={"response": [on_response]})
    with TengineAI(api_key=server.api_key, base_url=server.url, http_client=http) as c:
        events = c.events.stream(project.id)
        # A refused stream sets `connected` too, and `take` raises its error.
        out = start_reading(events, connected)
        # The stream starts after the newest event once it is answered: create the key then.
        assert connected.wait(15), "the stream was not answered within 15 s"
        if not out.empty():
            take(out)
        key = c.api_keys.create(project.id, name="streamed", permissions=["read"])
        event = take(out)
        events.close()
        assert isinstance(event, Event)
        assert event.type == "api_key.created"
        assert event.id.startswith("evt_")
        assert event.data["id"] == key.id
        assert event.data["project_id"] == project.id
        assert "key" not in event.data
        assert event.created_at.tzinfo is not None
        logged = c.events.list(project.id, type="api_key.created")
        assert [e.id for e in logged.data] == [event.id]
    http.close()


def test_a_stream_resumed_after_an_event_replays_the_later_ones_in_order(server, client, project):
    for name in ("first", "second", "third"):
        client.api_keys.create(project.id, name=name, permissions=["read"])
    client.projects.update(project.id, name="replayed project")
    logged = list(reversed(client.events.list(project.id).data))  # oldest first
    assert len(logged) >= 4
    events = client.events.stream(project.id, last_event_id=logged[0].id)
    replayed = [first_of(events) for _ in logged[1:]]
    events.close()
    assert [e.id for e in replayed] == [e.id for e in logged[1:]]
    assert [e.type for e in replayed] == [e.type for e in logged[1:]]
    assert replayed[-1].type == "project.updated"
    assert replayed[-1].data["name"] == "replayed project"


def test_an_unknown_last_event_id_is_a_validation_error_on_last_event_id(server, client, project):
    other = client.projects.create(name="another project")
    client.api_keys.create(other.id, name="elsewhere", permissions=["read"])
    foreign = client.events.list(other.id, type="api_key.created").data[0].id
    with pytest.raises(ValidationError) as err:
        skip_without_stream(lambda: next(client.events.stream(project.id, last_event_id=foreign)))
    assert (err.value.status, err.value.code, err.value.field) == (422, "VALIDATION_ERROR", "Last-Event-ID")
    with pytest.raises(ValidationError) as err:
        next(client.events.stream(project.id, last_event_id="not-an-event-id"))
    assert err.value.field == "Last-Event-ID"


def test_a_key_without_read_may_not_stream(server, client, project):
    hook = client.api_keys.create(project.id, name="webhooks only", permissions=["webhook"])
    with TengineAI(api_key=hook.key, base_url=server.url) as c:
        with pytest.raises(PermissionDeniedError) as err:
            skip_without_stream(lambda: next(c.events.stream(project.id)))
    assert (err.value.status, err.value.code) == (403, "INSUFFICIENT_PERMISSIONS")


def test_the_event_list_says_since_when_it_is_complete(server, client, project):
    page = client.events.list(project.id)
    if page.retained_since is None:
        pytest.skip("this tengine binary does not send X-Tengine-Retained-Since")
    assert isinstance(page.retained_since, datetime)
    assert page.retained_since.tzinfo is not None
    assert page.retained_since < datetime.now(timezone.utc)
