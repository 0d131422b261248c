from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectone.domain import (
    SLA_WINDOW,
    Delivery,
    DeliveryStatus,
    InvalidTransitionError,
    Language,
    SlaOutcome,
    ValidationError,
    can_advance,
)
from projectone.testing.strategies import deliveries

S = DeliveryStatus
T0 = dt.datetime(2026, 11, 23, 0, 30, tzinfo=dt.UTC)  # 06:00 IST
LADDER = [S.QUEUED, S.SENDING, S.SENT, S.DELIVERED, S.READ]


def planned(send_time: dt.time = dt.time(6, 0)) -> Delivery:
    return Delivery.plan(
        id=uuid.UUID(int=1),
        advisor_id=uuid.UUID(int=2),
        pack_id=uuid.UUID(int=3),
        date=dt.date(2026, 11, 23),
        send_time=send_time,
        language=Language.EN,
        to="+919876543210",
        content_hash="a" * 64,
        now=T0 - dt.timedelta(hours=1),
    )


def test_a_delivery_is_scheduled_at_the_send_time_in_india_and_targets_five_minutes_later() -> None:
    d = planned()
    assert d.scheduled_for == T0
    assert d.sla_target == T0 + dt.timedelta(minutes=5)
    assert d.status is S.QUEUED


def rank(status: DeliveryStatus) -> int:
    return LADDER.index(status) if status in LADDER else len(LADDER)


@given(deliveries(), st.lists(st.sampled_from(DeliveryStatus), max_size=12))
def test_a_status_never_moves_backwards(d: Delivery, moves: list[DeliveryStatus]) -> None:
    at = d.scheduled_for
    for move in moves:
        before = d.status
        code = {"error_code": "131000"} if move is S.FAILED else {}
        try:
            d = d.advance(move, at, **code)
        except InvalidTransitionError as exc:
            assert not can_advance(before, move)
            assert exc.state == before.value
            continue
        assert rank(d.status) > rank(before) or d.status in (S.FAILED, S.EXPIRED)
        assert before not in (S.FAILED, S.EXPIRED, S.READ)


@given(deliveries(), st.lists(st.sampled_from(DeliveryStatus), max_size=12))
def test_receipts_in_any_order_and_repeated_end_where_the_furthest_one_leads(
    d: Delivery, receipts: list[DeliveryStatus]
) -> None:
    d = d.start_sending(d.scheduled_for).mark_sent("wamid.x", d.scheduled_for)
    for receipt in receipts:
        d = d.apply_report(receipt, d.scheduled_for)  # never raises
    progress = [r for r in receipts if r in (S.DELIVERED, S.READ)]
    failed_first = S.FAILED in receipts and (
        not progress or receipts.index(S.FAILED) < receipts.index(progress[0])
    )
    if failed_first:
        assert d.status is S.FAILED
    elif progress:
        assert d.status is max(progress, key=rank)
    else:
        assert d.status is S.SENT


def test_a_read_receipt_implies_delivery_and_stamps_it() -> None:
    d = planned().start_sending(T0).mark_sent("wamid.1", T0)
    read = d.apply_report(S.READ, T0 + dt.timedelta(seconds=30))
    assert read.status is S.READ
    assert read.delivered_at == read.read_at == T0 + dt.timedelta(seconds=30)
    assert read.sent_at == T0


def test_nothing_is_sent_without_being_claimed_first() -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        planned().mark_sent("wamid.1", T0)
    assert caught.value.state == "queued"
    assert "sent" in caught.value.action


@given(st.integers(min_value=-600, max_value=900))
def test_the_sla_is_met_exactly_when_sent_by_the_target(offset: int) -> None:
    at = T0 + dt.timedelta(seconds=offset)
    d = planned().start_sending(at).mark_sent("wamid.1", at)
    expected = SlaOutcome.MET if at <= T0 + SLA_WINDOW else SlaOutcome.MISSED
    assert d.sla_outcome(now=at + dt.timedelta(days=1)) is expected


def test_an_unsent_delivery_is_pending_until_the_target_then_missed() -> None:
    d = planned()
    assert d.sla_outcome(T0 + SLA_WINDOW) is SlaOutcome.PENDING
    assert d.sla_outcome(T0 + SLA_WINDOW + dt.timedelta(microseconds=1)) is SlaOutcome.MISSED


def test_a_delivery_is_due_once_its_time_has_come_and_only_while_queued() -> None:
    d = planned()
    assert not d.is_due(T0 - dt.timedelta(seconds=1))
    assert d.is_due(T0)
    assert not d.start_sending(T0).is_due(T0)


def test_claiming_counts_the_attempt() -> None:
    assert planned().start_sending(T0).attempts == 1


@given(
    deliveries(),
    st.lists(
        st.tuples(st.sampled_from([S.DELIVERED, S.READ, S.FAILED]), st.integers(-3600, 3600)),
        max_size=8,
    ),
)
def test_stamps_stay_in_order_whatever_clocks_the_receipts_carry(
    d: Delivery, receipts: list[tuple[DeliveryStatus, int]]
) -> None:
    t = d.scheduled_for
    d = d.start_sending(t).mark_sent("wamid.x", t)
    for status, offset in receipts:
        d = d.apply_report(status, t + dt.timedelta(seconds=offset))
    assert d.sent_at is not None
    if d.delivered_at is not None:
        assert d.sent_at <= d.delivered_at
    if d.read_at is not None:
        assert d.delivered_at is not None
        assert d.delivered_at <= d.read_at
    if d.status is S.FAILED:
        assert d.error_code  # the schema requires a code on every failed delivery


def test_a_failed_receipt_keeps_the_providers_code() -> None:
    d = planned().start_sending(T0).mark_sent("wamid.1", T0)
    failed = d.apply_report(S.FAILED, T0, error_code="131049", error_message="ecosystem")
    assert (failed.status, failed.error_code, failed.failed_at) == (S.FAILED, "131049", T0)
    assert d.apply_report(S.FAILED, T0).error_code == "unknown"


def test_a_failure_without_a_code_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        planned().advance(S.FAILED, T0)
    assert caught.value.field == "error_code"


def test_attempts_cannot_be_negative() -> None:
    with pytest.raises(ValidationError) as caught:
        attrs.evolve(planned(), attempts=-1)
    assert caught.value.field == "attempts"


# -- a person's retry (requeue) -----------------------------------------------------------------

_PLAN = ("id", "advisor_id", "pack_id", "date", "language", "channel", "variant", "to")


@st.composite
def settled(draw: st.DrawFn) -> Delivery:
    """A delivery on either channel, taken through a random run of the worker's transitions."""
    d = draw(deliveries())
    if draw(st.integers(0, 3)) == 0:
        d = d.sms_backup(id=draw(st.uuids()), now=d.scheduled_for)
    at = d.scheduled_for
    steps = st.sampled_from(["claim", "sent", "fail", "expire", "read"])
    # The paths that end failed or expired, and any run of steps at all.
    path = st.sampled_from(
        [["claim", "fail"], ["claim", "sent", "fail"], ["expire"], ["claim", "expire"]]
    )
    for step in draw(path | st.lists(steps, max_size=6)):
        try:
            if step == "claim":
                d = d.start_sending(at)
            elif step == "sent":
                d = d.mark_sent("wamid.first", at)
            elif step == "fail":
                d = d.mark_failed("131026", "undeliverable", at, failure_class="recipient")
            elif step == "expire":
                d = d.expire(at, code="sla_cutoff", message="not sent by the SMS cutoff")
            else:
                d = d.apply_report(S.READ, at)
        except InvalidTransitionError:
            continue
    return d


@given(
    settled(),
    st.integers(-600, 600),
    st.booleans(),
    st.booleans(),
)
def test_only_a_failed_or_expired_whatsapp_delivery_is_retried_and_only_in_time(
    d: Delivery, seconds_before_cutoff: int, has_backup: bool, reachable: bool
) -> None:
    cutoff = d.sla_target - dt.timedelta(minutes=1)
    at = cutoff - dt.timedelta(seconds=seconds_before_cutoff)
    allowed = (
        d.channel.value == "whatsapp"
        and d.status in (S.FAILED, S.EXPIRED)
        and not has_backup
        and reachable
        and at < cutoff
    )
    kwargs: dict[str, Any] = {"cutoff": cutoff, "has_backup": has_backup, "reachable": reachable}
    assert (d.requeue_refusal(at, **kwargs) is None) is allowed
    if not allowed:
        with pytest.raises(InvalidTransitionError) as caught:
            d.requeue(at, **kwargs)
        assert (caught.value.state, caught.value.action) == (d.status.value, "retry")
        return
    again = d.requeue(at, **kwargs)
    # A fresh attempt, due at once: nothing of the attempt given up on but its error.
    assert again.status is S.QUEUED
    assert again.is_due(at)
    assert (again.provider_message_id, again.sent_at, again.failed_at) == (None, None, None)
    assert (again.delivered_at, again.read_at, again.lease_owner) == (None, None, None)
    assert (again.error_code, again.attempts) == (d.error_code, d.attempts)
    assert all(getattr(again, name) == getattr(d, name) for name in _PLAN)
    assert again.sla_target == d.sla_target  # the morning's SLA is still the morning's


@given(settled(), st.lists(st.sampled_from(DeliveryStatus), max_size=8))
def test_a_retried_delivery_is_sent_afresh_and_never_moves_backwards_again(
    d: Delivery, receipts: list[DeliveryStatus]
) -> None:
    cutoff = d.sla_target
    at = d.scheduled_for
    if d.requeue_refusal(at, cutoff=cutoff) is not None:
        return
    later = at + dt.timedelta(seconds=30)
    sent = d.requeue(at, cutoff=cutoff).start_sending(later).mark_sent("wamid.second", later)
    assert (sent.attempts, sent.sent_at, sent.provider_message_id) == (
        d.attempts + 1,
        later,
        "wamid.second",
    )
    for receipt in receipts:
        before = sent.status
        sent = sent.apply_report(receipt, later)
        assert rank(sent.status) >= rank(before) or sent.status in (S.FAILED, S.EXPIRED)
        assert before not in (S.FAILED, S.READ) or sent.status is before


def test_a_retry_explains_why_it_is_refused() -> None:
    failed = planned().start_sending(T0).mark_failed("131047", "re-engagement", T0)
    cutoff = failed.sla_target - dt.timedelta(minutes=1)
    assert "only a failed or expired" in (planned().requeue_refusal(T0, cutoff=cutoff) or "")
    assert "SMS backup" in (failed.requeue_refusal(T0, cutoff=cutoff, has_backup=True) or "")
    assert "opted out" in (failed.requeue_refusal(T0, cutoff=cutoff, reachable=False) or "")
    assert "too late" in (failed.requeue_refusal(cutoff, cutoff=cutoff) or "")
    sms = failed.sms_backup(id=uuid.UUID(int=9), now=T0).start_sending(T0)
    assert "only a WhatsApp" in (
        sms.mark_failed("x", "y", T0).requeue_refusal(T0, cutoff=cutoff) or ""
    )
    with pytest.raises(ValidationError):
        failed.requeue(T0.replace(tzinfo=None), cutoff=cutoff)
