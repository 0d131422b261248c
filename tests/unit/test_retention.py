"""The retention policy: calendar arithmetic that never moves forward, and cutoffs that never
let a record go before its period is over."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from projectone.domain.audit import retention_date
from projectone.domain.errors import ValidationError
from projectone.domain.retention import (
    PurgeCounts,
    RetentionCutoffs,
    RetentionPolicy,
    cutoffs,
    months_before,
    years_before,
)

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
END_OF_DAY = dt.time(23, 59, 59, 999_999)

fixed_zones = st.builds(
    dt.timezone, st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: dt.timedelta(minutes=m))
)
# Any datetime there is: naive, fixed offsets, real zones with their DST gaps and folds.
any_datetimes = st.datetimes(timezones=st.none() | fixed_zones | st.timezones())


@st.composite
def month_ends(draw: st.DrawFn) -> dt.datetime:
    """A moment in the last days of a month, where short months clamp the day."""
    year = draw(st.integers(dt.MINYEAR, dt.MAXYEAR))
    month = draw(st.integers(1, 12))
    last = calendar.monthrange(year, month)[1]
    day = draw(st.integers(27, last))
    moment = dt.datetime.combine(dt.date(year, month, day), draw(st.times()))
    return moment.replace(tzinfo=draw(st.none() | fixed_zones | st.timezones()))


moments = any_datetimes | month_ends()

# Cutoffs are computed from ``now``; these keep its UTC conversion within the calendar.
nows = st.datetimes(
    min_value=dt.datetime(1900, 1, 1),
    max_value=dt.datetime(9000, 1, 1),
    timezones=fixed_zones | st.timezones(),
)
amounts = st.integers(0, 40) | st.integers(0, 12_000)
shifts = st.sampled_from([years_before, months_before])


def later_by_years(moment: dt.datetime, years: int) -> dt.datetime:
    """The anniversary the usual way: 29 February to 28 February at the same time."""
    last = calendar.monthrange(moment.year + years, moment.month)[1]
    return moment.replace(year=moment.year + years, day=min(moment.day, last))


def later_by_months(moment: dt.datetime, months: int) -> dt.datetime:
    year, month = divmod(moment.year * 12 + moment.month - 1 + months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return moment.replace(year=year, month=month + 1, day=min(moment.day, last))


# -- calendar arithmetic -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "shift", "amount", "expected"),
    [
        (
            dt.datetime(2027, 6, 30, 9, 15, tzinfo=IST),
            years_before,
            3,
            dt.datetime(2024, 6, 30, 9, 15, tzinfo=IST),
        ),
        (
            dt.datetime(2024, 2, 29, 10, 0, tzinfo=dt.UTC),
            years_before,
            1,
            dt.datetime.combine(dt.date(2023, 2, 28), END_OF_DAY, tzinfo=dt.UTC),
        ),
        (
            dt.datetime(2024, 2, 29, 10, 0, tzinfo=dt.UTC),
            years_before,
            4,
            dt.datetime(2020, 2, 29, 10, 0, tzinfo=dt.UTC),
        ),
        (
            dt.datetime(2025, 3, 31, 8, 0, tzinfo=IST),
            months_before,
            1,
            dt.datetime.combine(dt.date(2025, 2, 28), END_OF_DAY, tzinfo=IST),
        ),
        (
            dt.datetime(2024, 3, 31, 8, 0, tzinfo=dt.UTC),
            months_before,
            1,
            dt.datetime.combine(dt.date(2024, 2, 29), END_OF_DAY, tzinfo=dt.UTC),
        ),
        (
            dt.datetime(2026, 1, 15, 8, 0, tzinfo=dt.UTC),
            months_before,
            6,
            dt.datetime(2025, 7, 15, 8, 0, tzinfo=dt.UTC),
        ),
        (
            dt.datetime(3, 4, 5, tzinfo=dt.UTC),
            years_before,
            3,
            dt.datetime.min.replace(tzinfo=dt.UTC),
        ),
    ],
)
def test_calendar_arithmetic_keeps_the_day_and_time_or_ends_the_last_day_of_a_short_month(
    moment: dt.datetime,
    shift: Callable[[dt.datetime, int], dt.datetime],
    amount: int,
    expected: dt.datetime,
) -> None:
    result = shift(moment, amount)
    assert result == expected
    assert result.tzinfo is moment.tzinfo


@given(moments, amounts, shifts)
def test_going_back_never_raises_never_moves_forward_and_keeps_the_zone(
    moment: dt.datetime, amount: int, shift: Callable[[dt.datetime, int], dt.datetime]
) -> None:
    result = shift(moment, amount)
    assert result <= moment
    assert result.tzinfo is moment.tzinfo
    if amount == 0:
        assert result == moment


@given(
    moments,
    st.one_of(any_datetimes, st.timedeltas(dt.timedelta(0), dt.timedelta(days=3))),
    amounts,
    shifts,
)
@example(dt.datetime(2024, 2, 28, 23, tzinfo=dt.UTC), dt.timedelta(hours=2), 1, years_before)
@example(dt.datetime(2025, 3, 30, 23, tzinfo=IST), dt.timedelta(hours=2), 1, months_before)
def test_going_back_keeps_the_order_of_moments(
    a: dt.datetime,
    b_or_gap: dt.datetime | dt.timedelta,
    amount: int,
    shift: Callable[[dt.datetime, int], dt.datetime],
) -> None:
    # A moment close after ``a`` finds the month ends (28 Feb 23:00 and 29 Feb 01:00 must not
    # swap places); any moment at all finds the rest.
    if isinstance(b_or_gap, dt.timedelta):
        assume(a <= dt.datetime.max.replace(tzinfo=a.tzinfo) - b_or_gap)
        b = a + b_or_gap
    else:
        b = b_or_gap.replace(tzinfo=a.tzinfo)  # comparable: the same zone (or none)
    low, high = sorted([a, b])
    assert shift(low, amount) <= shift(high, amount)


@given(moments, amounts, amounts, shifts)
def test_going_back_further_never_gives_a_later_moment(
    moment: dt.datetime, m: int, n: int, shift: Callable[[dt.datetime, int], dt.datetime]
) -> None:
    near, far = sorted([m, n])
    assert shift(moment, far) <= shift(moment, near)


@given(moments, st.integers(0, 1000))
def test_twelve_months_are_a_year(moment: dt.datetime, years: int) -> None:
    assert months_before(moment, 12 * years) == years_before(moment, years)


@given(moments, amounts, shifts)
def test_an_existing_day_keeps_its_time_of_day(
    moment: dt.datetime, amount: int, shift: Callable[[dt.datetime, int], dt.datetime]
) -> None:
    result = shift(moment, amount)
    if result == dt.datetime.min.replace(tzinfo=moment.tzinfo):
        return  # back past year 1: the earliest moment there is
    if result.day == moment.day:
        assert result.timetz() == moment.timetz()
    else:
        assert result.day == calendar.monthrange(result.year, result.month)[1]
        assert result.time() == END_OF_DAY


@pytest.mark.parametrize("amount", [-1, True, 1.5, "3"])
def test_a_negative_or_non_whole_amount_is_refused(amount: object) -> None:
    for shift in (years_before, months_before):
        with pytest.raises(ValidationError):
            shift(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), amount)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        years_before("2026-01-01", 1)  # type: ignore[arg-type]


# -- the policy and its cutoffs ------------------------------------------------------------------

policies = st.builds(
    RetentionPolicy,
    audit_years=st.integers(0, 30),
    content_approval_years=st.integers(0, 30),
    personal_data_grace_months=st.integers(0, 120),
    consent_years_after_end=st.integers(0, 30),
    processing_log_years=st.integers(0, 30),
)


def test_the_default_policy_is_the_one_the_law_sets() -> None:
    policy = RetentionPolicy()
    assert (
        policy.audit_years,
        policy.content_approval_years,
        policy.personal_data_grace_months,
        policy.consent_years_after_end,
        policy.processing_log_years,
    ) == (7, 7, 6, 3, 3)


@pytest.mark.parametrize("bad", [-1, True, 2.0, None])
def test_a_policy_period_is_a_whole_number_not_below_zero(bad: object) -> None:
    with pytest.raises(ValidationError) as caught:
        RetentionPolicy(consent_years_after_end=bad)  # type: ignore[arg-type]
    assert caught.value.field == "consent_years_after_end"


def test_the_default_cutoffs_on_a_given_day() -> None:
    now = dt.datetime(2026, 11, 23, 2, 0, tzinfo=IST)  # still 22 November in UTC
    utc = now.astimezone(dt.UTC)
    found = cutoffs(RetentionPolicy(), now)
    assert found == RetentionCutoffs(
        audit_before=dt.date(2026, 11, 22),
        content_approved_before=utc.replace(year=2019),
        personal_data_ended_before=utc.replace(month=5),
        consent_ended_before=utc.replace(year=2023),
        processing_logs_before=utc.replace(year=2023),
    )


@given(nows)
def test_the_default_cutoffs_are_ordered_by_how_long_each_kind_is_kept(now: dt.datetime) -> None:
    found = cutoffs(RetentionPolicy(), now)
    utc = now.astimezone(dt.UTC)
    assert found.audit_before == utc.date()
    # The audit trail (seven years) outlives processing logs and consent records (three),
    # which outlive personal data (six months after its purpose ends).
    audit_occurred_before = years_before(utc, 7)
    assert found.content_approved_before == audit_occurred_before
    assert audit_occurred_before < found.processing_logs_before
    assert found.processing_logs_before == found.consent_ended_before
    assert found.consent_ended_before < found.personal_data_ended_before <= utc
    for moment in (
        found.content_approved_before,
        found.personal_data_ended_before,
        found.consent_ended_before,
        found.processing_logs_before,
    ):
        assert moment.tzinfo is dt.UTC


@given(policies, nows, st.datetimes(timezones=st.just(dt.UTC)))
def test_nothing_may_go_before_its_period_is_over(
    policy: RetentionPolicy, now: dt.datetime, recorded: dt.datetime
) -> None:
    found = cutoffs(policy, now)
    utc = now.astimezone(dt.UTC)
    if recorded < found.content_approved_before:
        assert later_by_years(recorded, policy.content_approval_years) <= utc
    if recorded < found.consent_ended_before:
        assert later_by_years(recorded, policy.consent_years_after_end) <= utc
    if recorded < found.processing_logs_before:
        assert later_by_years(recorded, policy.processing_log_years) <= utc
    if recorded < found.personal_data_ended_before:
        assert later_by_months(recorded, policy.personal_data_grace_months) <= utc


@given(policies, nows, st.datetimes(max_value=dt.datetime(9000, 1, 1), timezones=st.just(dt.UTC)))
def test_an_audit_event_goes_only_once_the_policys_years_are_over(
    policy: RetentionPolicy, now: dt.datetime, occurred: dt.datetime
) -> None:
    found = cutoffs(policy, now)
    if retention_date(occurred) < found.audit_before:
        assert later_by_years(occurred, policy.audit_years).date() <= now.astimezone(dt.UTC).date()


@given(nows, policies, policies)
def test_keeping_something_longer_never_moves_its_cutoff_later(
    now: dt.datetime, a: RetentionPolicy, b: RetentionPolicy
) -> None:
    one, other = cutoffs(a, now), cutoffs(b, now)
    pairs = [
        (a.audit_years, b.audit_years, one.audit_before, other.audit_before),
        (
            a.content_approval_years,
            b.content_approval_years,
            one.content_approved_before,
            other.content_approved_before,
        ),
        (
            a.personal_data_grace_months,
            b.personal_data_grace_months,
            one.personal_data_ended_before,
            other.personal_data_ended_before,
        ),
        (
            a.consent_years_after_end,
            b.consent_years_after_end,
            one.consent_ended_before,
            other.consent_ended_before,
        ),
        (
            a.processing_log_years,
            b.processing_log_years,
            one.processing_logs_before,
            other.processing_logs_before,
        ),
    ]
    for period_a, period_b, cut_a, cut_b in pairs:
        if period_a >= period_b:
            assert cut_a <= cut_b


def test_cutoffs_need_an_aware_now_and_a_policy() -> None:
    with pytest.raises(ValidationError) as caught:
        cutoffs(RetentionPolicy(), dt.datetime(2026, 1, 1))
    assert caught.value.field == "now"
    with pytest.raises(ValidationError):
        cutoffs(None, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))  # type: ignore[arg-type]


def test_cutoffs_hold_dates_where_dates_belong() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(ValidationError):
        RetentionCutoffs(
            audit_before=now,
            content_approved_before=now,
            personal_data_ended_before=now,
            consent_ended_before=now,
            processing_logs_before=now,
        )


# -- what a purge reports ------------------------------------------------------------------------

FIELDS = (
    "audit_events",
    "content_packs",
    "deliveries",
    "fallback_selections",
    "ai_jobs",
    "ai_cache",
    "inbound_messages",
    "consents",
    "erased_advisors",
)


@given(st.lists(st.integers(0, 10**9), min_size=len(FIELDS), max_size=len(FIELDS)))
def test_purge_counts_list_every_kind_in_order_and_add_up(numbers: list[int]) -> None:
    counts = PurgeCounts(**dict(zip(FIELDS, numbers, strict=True)))
    assert tuple(counts.as_dict()) == FIELDS
    assert list(counts.as_dict().values()) == numbers
    assert counts.total == sum(numbers)


def test_purge_counts_start_at_zero_and_are_never_negative() -> None:
    assert PurgeCounts().total == 0
    with pytest.raises(ValidationError):
        PurgeCounts(deliveries=-1)
