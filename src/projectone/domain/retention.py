"""How long projectone keeps what it records, and from which moment each kind may be purged.

The policy (DESIGN.md, DPDP Act 2023 with SEBI's record keeping):

- the audit trail: seven years (SEBI), counted per event by ``AuditEvent.retention_until``;
- content approval records: seven years from approval (SEBI: proof of what was vetted);
- personal data: as long as the purpose lasts (the account is open) plus six months, then the
  person is erased (DPDP section 8(7): not kept once the purpose is served);
- consent records: until withdrawn or otherwise ended, plus three years (to prove what was
  agreed to should it be disputed);
- processing logs (deliveries, AI jobs, inbound messages): three years from processing.

Cutoffs are computed with calendar arithmetic: "three years before 2027-06-30" is 2024-06-30.
Something recorded *before* a cutoff may go; a cutoff is never later than the policy allows.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

import attrs

from projectone.domain._validate import aware, require_whole_number, whole_number
from projectone.domain.audit import RETENTION_YEARS
from projectone.domain.errors import ValidationError

__all__ = [
    "PurgeCounts",
    "RetentionCutoffs",
    "RetentionPolicy",
    "cutoffs",
    "months_before",
    "years_before",
]


@attrs.frozen(kw_only=True)
class RetentionPolicy:
    """The retention periods, each a whole number of years or months (0 or more)."""

    audit_years: int = attrs.field(default=RETENTION_YEARS, validator=whole_number(0))
    content_approval_years: int = attrs.field(default=7, validator=whole_number(0))
    personal_data_grace_months: int = attrs.field(default=6, validator=whole_number(0))
    consent_years_after_end: int = attrs.field(default=3, validator=whole_number(0))
    processing_log_years: int = attrs.field(default=3, validator=whole_number(0))


def _datetime(field: str, value: object) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise ValidationError(field, value, "must be a datetime")
    return value


def _shifted(moment: dt.datetime, year: int, month: int) -> dt.datetime:
    """``moment`` moved to ``year``/``month`` (an earlier one), the day clamped to the month."""
    if year < dt.MINYEAR:
        # Nothing is older than this: the earliest moment there is, rather than an error.
        return dt.datetime.min.replace(tzinfo=moment.tzinfo)
    last = calendar.monthrange(year, month)[1]
    if moment.day <= last:
        return moment.replace(year=year, month=month)
    # The day does not exist there (29 February, 31 April): the *end* of the month's last day.
    # Keeping the time of day instead would make 28 Feb 23:00 and 29 Feb 01:00 map out of order,
    # and as a cutoff the end of the day is exact: anything recorded on that last day has had
    # its full period by ``moment``.
    return moment.replace(
        year=year, month=month, day=last, hour=23, minute=59, second=59, microsecond=999_999
    )


def years_before(moment: dt.datetime, years: int) -> dt.datetime:
    """``moment`` on the same calendar day and time ``years`` earlier, in its own time zone.

    29 February in a year without one becomes the end of 28 February (see :func:`_shifted`).
    Never later than ``moment``, and later moments never give earlier results; going back past
    year 1 gives ``datetime.min`` (with ``moment``'s tzinfo)."""
    moment = _datetime("moment", moment)
    require_whole_number("years", years, 0)
    return _shifted(moment, moment.year - years, moment.month)


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """``moment`` on the same day and time ``months`` calendar months earlier; a day the month
    lacks becomes the end of its last day (31 March less one month: the end of 28/29 February).
    Same guarantees as :func:`years_before`."""
    moment = _datetime("moment", moment)
    require_whole_number("months", months, 0)
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    return _shifted(moment, year, month + 1)


def _date_years_before(day: dt.date, years: int) -> dt.date:
    """``day`` moved ``years`` back (forward when negative), 29 February to 28 February, held
    within the dates that exist."""
    year = day.year - years
    if year < dt.MINYEAR:
        return dt.date.min
    if year > dt.MAXYEAR:
        return dt.date.max
    last = calendar.monthrange(year, day.month)[1]
    return day.replace(year=year, day=min(day.day, last))


def _date(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ValidationError(attribute.name, value, "must be a date")


@attrs.frozen(kw_only=True)
class RetentionCutoffs:
    """From when each kind of record may be purged, all computed from one ``now``.

    - ``audit_before``: an audit event whose ``retention_until`` is before this date may go;
    - ``content_approved_before``: a content pack approved before this may go;
    - ``personal_data_ended_before``: an advisor whose purpose ended (account cancelled)
      before this is erased;
    - ``consent_ended_before``: a consent record ended before this may go (active ones stay);
    - ``processing_logs_before``: a processing log entry from before this may go.
    """

    audit_before: dt.date = attrs.field(validator=_date)
    content_approved_before: dt.datetime = attrs.field(validator=aware)
    personal_data_ended_before: dt.datetime = attrs.field(validator=aware)
    consent_ended_before: dt.datetime = attrs.field(validator=aware)
    processing_logs_before: dt.datetime = attrs.field(validator=aware)


def cutoffs(policy: RetentionPolicy, now: dt.datetime) -> RetentionCutoffs:
    """The cutoffs of ``policy`` at ``now`` (timezone-aware), all in UTC.

    Audit events carry their own purge date (``occurred_at`` + seven years, the SEBI minimum);
    a policy keeping them longer (or shorter) moves ``audit_before`` back (or forward) by the
    difference, so the trail is kept as long as the policy says without restamping events.
    """
    if not isinstance(policy, RetentionPolicy):
        raise ValidationError("policy", policy, "must be a RetentionPolicy")
    if not isinstance(now, dt.datetime) or now.tzinfo is None:
        raise ValidationError("now", now, "must be a timezone-aware datetime")
    # In UTC so the cutoffs compare alike with timestamps stored in UTC, and "today" is the
    # UTC date that ``retention_until`` is counted in.
    utc = now.astimezone(dt.UTC)
    return RetentionCutoffs(
        audit_before=_date_years_before(utc.date(), policy.audit_years - RETENTION_YEARS),
        content_approved_before=years_before(utc, policy.content_approval_years),
        personal_data_ended_before=months_before(utc, policy.personal_data_grace_months),
        consent_ended_before=years_before(utc, policy.consent_years_after_end),
        processing_logs_before=years_before(utc, policy.processing_log_years),
    )


@attrs.frozen(kw_only=True)
class PurgeCounts:
    """How many of each kind a purge removed (or, in a dry run, would remove)."""

    audit_events: int = attrs.field(default=0, validator=whole_number(0))
    content_packs: int = attrs.field(default=0, validator=whole_number(0))
    deliveries: int = attrs.field(default=0, validator=whole_number(0))
    fallback_selections: int = attrs.field(default=0, validator=whole_number(0))
    ai_jobs: int = attrs.field(default=0, validator=whole_number(0))
    ai_cache: int = attrs.field(default=0, validator=whole_number(0))
    inbound_messages: int = attrs.field(default=0, validator=whole_number(0))
    consents: int = attrs.field(default=0, validator=whole_number(0))
    erased_advisors: int = attrs.field(default=0, validator=whole_number(0))

    @property
    def total(self) -> int:
        return sum(self.as_dict().values())

    def as_dict(self) -> dict[str, int]:
        """The counts by kind, in field order (the CLI's and the HTTP API's answer)."""
        return {f.name: getattr(self, f.name) for f in attrs.fields(PurgeCounts)}
