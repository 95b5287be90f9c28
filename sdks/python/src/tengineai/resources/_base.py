"""Shared plumbing of the resources: pages, auto-pagination and body building."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, TypeVar

from .._http import HttpClient
from .._models import Page, Pagination
from .._time import format_date_param, parse_datetime

T = TypeVar("T")


class Resource:
    def __init__(self, http: HttpClient) -> None:
        self._http = http


def to_page(
    body: Mapping[str, Any], parse: Callable[[Mapping[str, Any]], T], headers: Optional[Mapping[str, str]] = None
) -> Page[T]:
    """A page from a list's body; ``headers`` give ``retained_since`` when they name it."""
    since = parse_datetime((headers or {}).get("X-Tengine-Retained-Since"))
    return Page(
        data=[parse(x) for x in body.get("data") or []],
        pagination=Pagination.from_dict(body.get("pagination") or {}),
        # An unreadable header only loses the hint, never the page.
        retained_since=since if isinstance(since, datetime) else None,
    )


def paginate(fetch: Callable[[int, int], Page[T]], per_page: int) -> Iterator[T]:
    """Yield every item of every page, fetching the next page only when needed."""
    page = 1
    while True:
        current = fetch(page, per_page)
        yield from current.data
        if not current.data or not current.has_next():
            return
        page += 1


def paginate_by_cursor(fetch: Callable[[Optional[str], int], Page[Any]], per_page: int) -> Iterator[Any]:
    """Yield every item of a list that pages by cursor: each page starts after the last
    item of the one before, so every request costs the same however deep the list is."""
    after: Optional[str] = None
    while True:
        current = fetch(after, per_page)
        yield from current.data
        if not current.data or not current.has_next():
            return
        after = current.data[-1].id


def page_params(
    page: Optional[int],
    per_page: Optional[int],
    starting_after: Optional[str] = None,
    ending_before: Optional[str] = None,
    **extra: Any,
) -> Dict[str, Any]:
    params: Dict[str, Any] = {"page": page, "per_page": per_page}
    if starting_after is not None:
        params["starting_after"] = starting_after
    if ending_before is not None:
        params["ending_before"] = ending_before
    params.update(extra)
    return params


def wire_value(value: Any) -> Any:
    """A JSON value for a request body: datetimes become RFC 3339 UTC strings."""
    if isinstance(value, (datetime, date)):
        return format_date_param(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [wire_value(v) for v in value]
    return value


def patch_body(fields: Mapping[str, Any], allowed: Optional[frozenset] = None) -> Dict[str, Any]:
    """The body of a PATCH: exactly the given fields (``None`` is sent as ``null``)."""
    if allowed is not None:
        unknown = sorted(set(fields) - allowed)
        if unknown:
            raise TypeError(f"unexpected field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    return {k: wire_value(v) for k, v in fields.items()}
