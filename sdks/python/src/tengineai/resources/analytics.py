"""``/projects/{id}/analytics``: request counts and latencies by time bucket; ``/analytics``:
the account overview."""

from __future__ import annotations

from typing import Optional

from .._http import path
from .._models import AccountAnalytics, Analytics
from .._time import DateLike, format_date_param
from ._base import Resource


class AnalyticsResource(Resource):
    def retrieve(
        self,
        project_id: str,
        start_date: Optional[DateLike] = None,
        end_date: Optional[DateLike] = None,
        granularity: Optional[str] = None,
        api_key_id: Optional[str] = None,
        integration_id: Optional[str] = None,
    ) -> Analytics:
        """Usage of ``[start_date, end_date)`` (default: the last 7 days) in ``hour``, ``day``
        (default), ``week`` or ``month`` buckets. Dates may be ``date``, ``datetime`` or str."""
        params = {
            "start_date": format_date_param(start_date) if start_date is not None else None,
            "end_date": format_date_param(end_date) if end_date is not None else None,
            "granularity": granularity,
            "api_key_id": api_key_id,
            "integration_id": integration_id,
        }
        return Analytics.from_dict(self._http.request("GET", path("projects", project_id, "analytics"), params=params))

    get = retrieve

    def overview(
        self,
        start_date: Optional[DateLike] = None,
        end_date: Optional[DateLike] = None,
        limit: Optional[int] = None,
    ) -> AccountAnalytics:
        """Every project the key sees over ``[start_date, end_date)`` (default: the last 7
        days): request totals, the ``limit`` busiest projects (default 5) and, for a key with
        ``webhook``, the webhooks failing now (else ``failing_webhooks`` is ``None``)."""
        params = {
            "start_date": format_date_param(start_date) if start_date is not None else None,
            "end_date": format_date_param(end_date) if end_date is not None else None,
            "limit": limit,
        }
        return AccountAnalytics.from_dict(self._http.request("GET", "/analytics", params=params))
