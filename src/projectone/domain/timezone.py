"""India Standard Time: the zone every send time is expressed in."""

from __future__ import annotations

import datetime as dt

__all__ = ["DEFAULT_SEND_TIME", "IST", "local_to_utc"]

# Asia/Kolkata has been UTC+05:30 without daylight saving since 1945, so a fixed offset is exact
# for every date this product handles and needs no tz database on the host.
IST = dt.timezone(dt.timedelta(hours=5, minutes=30), "IST")
DEFAULT_SEND_TIME = dt.time(6, 0)


def local_to_utc(day: dt.date, at: dt.time) -> dt.datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in Asia/Kolkata."""
    return dt.datetime.combine(day, at, tzinfo=IST).astimezone(dt.UTC)
