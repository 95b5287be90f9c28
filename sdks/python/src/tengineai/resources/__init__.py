"""One module per resource family of the API."""

from .analytics import AnalyticsResource
from .api_keys import ApiKeysResource
from .events import EventsResource, EventTypesResource
from .integrations import IntegrationsResource
from .execution import McpResource, MeResource, SigningKeysResource, ToolCallsResource
from .projects import ProjectsResource
from .tools import ToolsResource
from .webhooks import WebhooksResource

__all__ = [
    "AnalyticsResource",
    "ApiKeysResource",
    "EventsResource",
    "EventTypesResource",
    "IntegrationsResource",
    "McpResource",
    "MeResource",
    "ProjectsResource",
    "SigningKeysResource",
    "ToolCallsResource",
    "ToolsResource",
    "WebhooksResource",
]
