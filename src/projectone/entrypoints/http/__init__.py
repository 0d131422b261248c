"""The aiohttp application: ``create_app(container)`` is public so embedders can mount it.

So far it serves health checks and the WhatsApp webhook (issue 5); the dashboard and admin API
of issue 7 will be added to the same application.
"""

from __future__ import annotations

from projectone.entrypoints.http.app import CONTAINER, REQUEST_ID, create_app

__all__ = ["CONTAINER", "REQUEST_ID", "create_app"]
