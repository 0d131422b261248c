"""Unknown send outcomes: the at-most-once and at-least-once policies, and the delivery's own
moves the worker relies on (leases, retries, SMS backups, duplicates)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectone.domain.delivery import Channel, Delivery, DeliveryStatus
from projectone.domain.errors import InvalidTransitionError, ValidationError
from projectone.domain.retry import RetryPolicy
from projectone.domain.send_policy import (
    AWAITING_RECEIPT,
    Recovery,
    SendPolicy,
    recover,
)
from projectone.testing.builders import planned_delivery
from projectone.testing.strategies import deliveries

POLICY = RetryPolicy()
WAIT = dt.timedelta(seconds=60)


@st.composite
def in_flight(draw: st.DrawFn) -> tuple[Delivery, dt.datetime]:
    """A sending delivery (some parked awaiting a receipt) and a moment after its claim."""
    d = draw(deliveries())
    claimed = d.scheduled_for + dt.timedelta(seconds=draw(st.integers(0, 400)))
    for _ in range(draw(st.integers(1, 4))):
        d = d.start_sending(claimed, owner="w", until=claimed + dt.timedelta(seconds=30))
        if d.attempts < 4 and draw(st.booleans()):
            d = d.schedule_retry(claimed, error_code="131000", error_message="again")
            continue
        break
    if d.status is not DeliveryStatus.SENDING:
        d = d.start_sending(claimed, owner="w", until=claimed + dt.timedelta(seconds=30))
    if draw(st.booleans()):
        d = d.relet(AWAITING_RECEIPT, claimed + WAIT)
    now = claimed + dt.timedelta(seconds=draw(st.integers(0, 600)))
    return d, now


@given(in_flight())
def test_at_most_once_never_sends_whatsapp_again(case: tuple[Delivery, dt.datetime]) -> None:
    delivery, now = case
    decision = recover(
        delivery, policy=SendPolicy.AT_MOST_ONCE, retry=POLICY, receipt_wait=WAIT, now=now
    )
    assert decision.action is not Recovery.RESEND
    if decision.action is Recovery.WAIT:
        assert decision.until is not None
        assert now < decision.until <= POLICY.sms_cutoff(delivery.sla_target)
        assert delivery.lease_owner != AWAITING_RECEIPT, "a wait is never extended"


@given(in_flight(), st.sampled_from(SendPolicy))
def test_after_a_receipt_wait_or_at_the_cutoff_the_message_leaves_whatsapp(
    case: tuple[Delivery, dt.datetime], policy: SendPolicy
) -> None:
    delivery, now = case
    decision = recover(delivery, policy=policy, retry=POLICY, receipt_wait=WAIT, now=now)
    if delivery.lease_owner == AWAITING_RECEIPT or now >= POLICY.sms_cutoff(delivery.sla_target):
        assert decision.action is Recovery.SMS


@given(in_flight())
def test_at_least_once_resends_only_with_attempts_and_time_left(
    case: tuple[Delivery, dt.datetime],
) -> None:
    delivery, now = case
    decision = recover(
        delivery, policy=SendPolicy.AT_LEAST_ONCE, retry=POLICY, receipt_wait=WAIT, now=now
    )
    assert decision.action is not Recovery.WAIT or delivery.lease_owner == AWAITING_RECEIPT
    if decision.action is Recovery.RESEND:
        assert delivery.attempts < POLICY.max_attempts
        assert now < POLICY.sms_cutoff(delivery.sla_target)


@given(deliveries())
def test_an_sms_backup_has_no_backup_of_its_own(delivery: Delivery) -> None:
    backup = delivery.sms_backup(id=uuid.uuid4(), now=delivery.scheduled_for)
    assert (backup.channel, backup.backup_of, backup.status) == (
        Channel.SMS,
        delivery.id,
        DeliveryStatus.QUEUED,
    )
    assert backup.is_due(delivery.scheduled_for)
    with pytest.raises(ValidationError):
        backup.sms_backup(id=uuid.uuid4(), now=delivery.scheduled_for)
    sending = backup.start_sending(delivery.scheduled_for, owner="w", until=delivery.sla_target)
    decision = recover(
        sending,
        policy=SendPolicy.AT_MOST_ONCE,
        retry=POLICY,
        receipt_wait=WAIT,
        now=delivery.sla_target,
    )
    assert decision.action in (Recovery.WAIT, Recovery.GIVE_UP)


@given(deliveries())
def test_leases_end_with_the_attempt(delivery: Delivery) -> None:
    at = delivery.scheduled_for
    claimed = delivery.start_sending(at, owner="w", until=at + dt.timedelta(seconds=30))
    assert claimed.holds("w")
    assert not claimed.holds("other")
    for settled in (
        claimed.mark_sent("wamid.1", at),
        claimed.mark_failed("131026", "undeliverable", at),
        claimed.schedule_retry(at, error_code="131000", error_message="later"),
        claimed.expire(at, code="sla_cutoff", message="too late"),
        claimed.apply_report(DeliveryStatus.DELIVERED, at),
    ):
        assert settled.lease_owner is None
        assert settled.lease_expires_at is None


def test_only_a_sending_delivery_can_be_queued_again() -> None:
    delivery = planned_delivery()
    with pytest.raises(InvalidTransitionError):
        delivery.schedule_retry(delivery.scheduled_for, error_code="1", error_message="x")
    sent = delivery.start_sending(delivery.scheduled_for).mark_sent(
        "wamid.1", delivery.scheduled_for
    )
    with pytest.raises(InvalidTransitionError):
        sent.schedule_retry(delivery.scheduled_for, error_code="1", error_message="x")


@given(deliveries(), st.lists(st.sampled_from(["wamid.1", "wamid.2", "wamid.3"]), max_size=6))
def test_duplicates_are_each_other_message_id_once(delivery: Delivery, ids: list[str]) -> None:
    at = delivery.scheduled_for
    sent = delivery.start_sending(at).mark_sent("wamid.1", at)
    for message_id in ids:
        sent = sent.note_message(message_id)
    assert set(sent.duplicate_message_ids) == set(ids) - {"wamid.1"}
    assert len(sent.duplicate_message_ids) == len(set(sent.duplicate_message_ids))
