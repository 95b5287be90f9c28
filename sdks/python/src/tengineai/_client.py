"""The ``TengineAI`` client."""

from __future__ import annotations

import os
from types import TracebackType
from typing import Callable, Mapping, Optional, Type

import httpx

from ._errors import TengineError
from ._http import DEFAULT_BASE_URL, HttpClient
from ._models import Me
from .resources import (
    AnalyticsResource,
    ApiKeysResource,
    EventsResource,
    EventTypesResource,
    ProjectsResource,
    McpResource,
    MeResource,
    SigningKeysResource,
    ToolCallsResource,
    IntegrationsResource,
    ToolsResource,
    WebhooksResource,
)


class TengineAI:
    """A synchronous client of the TengineAI REST API.

    ``api_key`` and ``base_url`` default to ``TENGINE_API_KEY`` and ``TENGINE_BASE_URL``
    (then ``https://app.tengine.ai/api/v1``); a base URL without the ``/api/v1`` suffix gets
    it appended. Requests answered 429, 502, 503 or 504, and connection failures, are retried
    up to ``max_retries`` times with exponential backoff and jitter from
    ``retry_base_delay`` seconds, waiting at least ``Retry-After``, each wait capped at
    ``retry_max_delay`` seconds; a ``Retry-After`` beyond that cap raises at once
    (the rule of docs/sdk-retries.md).
    """

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        timeout: float = 30,
        max_retries: int = 3,
        *,
        retry_base_delay: float = 0.5,
        retry_max_delay: float = 60.0,
        http_client: Optional[httpx.Client] = None,
        default_headers: Optional[Mapping[str, str]] = None,
        sleep: Optional[Callable[[float], None]] = None,
    ) -> None:
        api_key = api_key if api_key is not None else os.environ.get("TENGINE_API_KEY")
        if not api_key:
            raise TengineError("No API key: pass api_key=... or set TENGINE_API_KEY")
        base_url = base_url or os.environ.get("TENGINE_BASE_URL") or DEFAULT_BASE_URL
        extra = {"sleep": sleep} if sleep is not None else {}
        self._http = HttpClient(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry_base_delay=retry_base_delay,
            retry_max_delay=retry_max_delay,
            http_client=http_client,
            default_headers=default_headers,
            **extra,
        )
        self.projects = ProjectsResource(self._http)
        self.api_keys = ApiKeysResource(self._http)
        self.webhooks = WebhooksResource(self._http)
        self.tools = ToolsResource(self._http)
        self.integrations = IntegrationsResource(self._http)
        self.tool_calls = ToolCallsResource(self._http)
        self.signing_keys = SigningKeysResource(self._http)
        self.mcp = McpResource(self._http)
        self._me = MeResource(self._http)
        self.events = EventsResource(self._http)
        self.event_types = EventTypesResource(self._http)
        self.analytics = AnalyticsResource(self._http)

    def me(self) -> Me:
        """Who the client's key is (``GET /me``)."""
        return self._me.retrieve()

    @property
    def base_url(self) -> str:
        """The base URL in use, always ending in ``/api/v1``."""
        return self._http.base_url

    @property
    def max_retries(self) -> int:
        return self._http.max_retries

    def close(self) -> None:
        """Close the connection pool (unless it was passed in as ``http_client``)."""
        self._http.close()

    def __enter__(self) -> "TengineAI":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"TengineAI(base_url={self.base_url!r})"
