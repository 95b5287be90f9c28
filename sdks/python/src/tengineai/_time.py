"""RFC 3339 parsing and formatting (Python 3.9's ``fromisoformat`` rejects ``Z``)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, Optional, Union

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$"
)
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")

DateLike = Union[datetime, date, str]


def parse_datetime(value: Any) -> Optional[datetime]:
    """Parse an RFC 3339 timestamp into an aware ``datetime`` in UTC (``None`` stays ``None``).

    A string that is not a timestamp is returned unparsed rather than failing a whole response.
    """
    if value is None or isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        return value
    m = _RFC3339.match(value.strip())
    if not m:
        d = _DATE.match(value.strip())
        if d:
            return datetime(int(d[1]), int(d[2]), int(d[3]), tzinfo=timezone.utc)
        return value  # type: ignore[return-value]
    year, month, day, hour, minute, second, frac, zulu, sign, oh, om = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if sign:
        offset = timedelta(hours=int(oh), minutes=int(om))
        tz = timezone(offset if sign == "+" else -offset)
    dt = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz)
    return dt.astimezone(timezone.utc)


def format_datetime(value: datetime) -> str:
    """RFC 3339 in UTC with ``Z``; a naive ``datetime`` is taken to be UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    value = value.astimezone(timezone.utc)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def format_date_param(value: DateLike) -> str:
    """A query/body value for a date-ish argument: datetime -> RFC 3339, date -> YYYY-MM-DD."""
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
