"""No personal data in the service's logs: a filter that masks every record a handler writes.

:class:`PiiMaskingFilter` renders a record's message, masks it with
:func:`~projectone.domain.pii.mask_pii` and stores the masked text back, so no handler or
formatter after it sees the original; it masks the record's traceback too.
:func:`install_pii_masking` puts one on every handler of a logger, once logging is configured.
"""

from __future__ import annotations

import contextlib
import logging

from projectone.domain.pii import mask_pii

__all__ = ["PiiMaskingFilter", "configure_masked_logging", "install_pii_masking"]

# Only its formatException is used: the standard traceback text, as logging.Formatter makes it.
_TRACEBACKS = logging.Formatter()


class PiiMaskingFilter(logging.Filter):
    """Masks personal data in a record's message, traceback and stack (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Logging must never break the application: whatever goes wrong, the record is let
        # through as it is. The parts are masked separately so one failure spoils only itself.
        try:
            message = record.getMessage()
        except Exception:
            pass  # a bad format call: the handler reports it as it would without this filter
        else:
            # Pre-rendered, so a formatter cannot put the original arguments back in.
            record.msg = mask_pii(message)
            record.args = None
        with contextlib.suppress(Exception):
            self._mask_traceback(record)
        return True

    @staticmethod
    def _mask_traceback(record: logging.LogRecord) -> None:
        # Formatter.format renders exc_info into exc_text only when exc_text is empty, and
        # caches it on the record for every later handler. Rendering it here (as the standard
        # Formatter would) and masking it means every formatter prints the masked traceback;
        # exc_info stays for code that needs the exception object.
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_pii(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_pii(record.stack_info)


def install_pii_masking(logger: logging.Logger | None = None) -> None:
    """Adds one :class:`PiiMaskingFilter` to each handler of ``logger`` (the root logger by
    default) that has none yet; call it after logging is configured. Handlers added later are
    not covered."""
    target = logger if logger is not None else logging.getLogger()
    # On the handlers, not the logger: a logger's own filters only see records logged on that
    # very logger, not the ones propagated up from its children ("projectone.http",
    # "aiohttp.access", …), while a handler's filters see every record it is about to write.
    masking = PiiMaskingFilter()
    for handler in target.handlers:
        if not any(isinstance(f, PiiMaskingFilter) for f in handler.filters):
            handler.addFilter(masking)


def configure_masked_logging(level: int = logging.WARNING) -> None:
    """For a command that logs to the terminal: a root handler (unless one is configured
    already), with personal data masked on every handler."""
    logging.basicConfig(level=level)
    install_pii_masking()
