"""A Server-Sent Events parser (the HTML Living Standard's rules): lines end in LF, CRLF
or CR, wherever the chunks of the body split them; a blank line ends a message; a line
starting with ``:`` is a comment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

__all__ = ["ServerSentEvent", "SSEParser"]


@dataclass
class ServerSentEvent:
    """One message of the stream: its ``id:`` and ``event:`` (``None`` when absent) and its
    ``data:`` lines joined by ``\\n``."""

    id: Optional[str] = None
    event: Optional[str] = None
    data: str = ""


class SSEParser:
    """Splits a byte stream into messages: feed it the body's chunks in order."""

    def __init__(self) -> None:
        self._line = bytearray()
        # The last byte seen was a CR: an LF right after it ends no second line.
        self._after_cr = False
        self._started = False
        self._id: Optional[str] = None
        self._event: Optional[str] = None
        self._data: List[str] = []

    def feed(self, chunk: bytes) -> List[ServerSentEvent]:
        """Feed ``chunk``; return the messages it completed."""
        done: List[ServerSentEvent] = []
        if not chunk:
            return done
        start = 0
        if self._after_cr and chunk[:1] == b"\n":
            start = 1
        self._after_cr = False
        n = len(chunk)
        while start < n:
            cr, lf = chunk.find(b"\r", start), chunk.find(b"\n", start)
            end = min(i for i in (cr, lf, n) if i >= 0)
            self._line += chunk[start:end]
            if end == n:
                break
            line, self._line = bytes(self._line), bytearray()
            message = self._take_line(line.decode("utf-8", errors="replace"))
            if message is not None:
                done.append(message)
            # A CR ends the line at once (a stream may pause after it); an LF that follows
            # belongs to it, here or at the start of the next chunk.
            if chunk[end : end + 1] == b"\r":
                if end + 1 == n:
                    self._after_cr = True
                elif chunk[end + 1 : end + 2] == b"\n":
                    end += 1
            start = end + 1
        return done

    def _take_line(self, line: str) -> Optional[ServerSentEvent]:
        if not self._started:
            self._started = True
            if line.startswith("\ufeff"):
                line = line[1:]
        if line == "":
            if not self._data:
                self._id = self._event = None
                return None
            message = ServerSentEvent(id=self._id, event=self._event, data="\n".join(self._data))
            self._id, self._event, self._data = None, None, []
            return message
        if line.startswith(":"):
            return None
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "id":
            if "\0" not in value:
                self._id = value
        elif field == "event":
            self._event = value
        # `retry:` and unknown fields: nothing this client uses.
        return None
