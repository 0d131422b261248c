"""The request id in every log line a request causes, and in the access log.

The request-id middleware stores the id in a context variable for the duration of the
request; :class:`RequestIdFilter`, attached to a log handler, copies it onto every record as
``request_id`` (``-`` outside a request), so a format can show ``%(request_id)s``.
:data:`ACCESS_LOG_FORMAT` is aiohttp's access log with the answer's ``X-Request-ID``.
"""

from __future__ import annotations

import contextvars
import logging

__all__ = ["ACCESS_LOG_FORMAT", "LOG_FORMAT", "REQUEST_ID_VAR", "RequestIdFilter"]

REQUEST_ID_VAR: contextvars.ContextVar[str] = contextvars.ContextVar(
    "projectone_request_id", default="-"
)
#: aiohttp's access log format, with the request id (``%{X-Request-ID}o``: from the answer).
ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tfs request_id=%{X-Request-ID}o'
#: A log format for the service that shows each record's request id.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID_VAR.get()
        return True
