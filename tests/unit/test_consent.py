"""Consent under the DPDP Act: given per purpose and policy version, withdrawn as easily, and
kept as a history that only grows or ends records."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectone.domain.audit import Actor, ActorType, Role
from projectone.domain.consent import (
    ConsentChange,
    ConsentEnd,
    ConsentPurpose,
    ConsentRecord,
    current,
    end_all,
    give_consent,
    holds,
    registration_consents,
    withdraw_consent,
)
from projectone.domain.errors import PermissionDeniedError, ValidationError

NOW = dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC)
ADVISOR_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
ADMIN = Actor(type=ActorType.USER, id="admin:asha", role=Role.ADMIN)
OFFICER = Actor(type=ActorType.USER, id="compliance_officer:ravi", role=Role.COMPLIANCE_OFFICER)
SELF = Actor(type=ActorType.USER, id=f"advisor:{ADVISOR_ID}", role=Role.ADVISOR)
STRANGER = Actor(type=ActorType.USER, id=f"advisor:{uuid.uuid4()}", role=Role.ADVISOR)
ALLOWED = (SELF, ADMIN, Actor.system())

purposes = st.sampled_from(ConsentPurpose)
versions = st.sampled_from(["2025-01", "2026-03", "v3"])
channels = st.sampled_from(["web", "app", "whatsapp", "api", "cli"])
allowed_actors = st.sampled_from(ALLOWED)


def record(**overrides: Any) -> ConsentRecord:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "advisor_id": ADVISOR_ID,
        "purpose": ConsentPurpose.MARKETING,
        "policy_version": "2026-03",
        "channel": "web",
        "given_at": NOW,
    }
    return ConsentRecord(**{**values, **overrides})


def give(
    history: list[ConsentRecord],
    purpose: ConsentPurpose = ConsentPurpose.MARKETING,
    version: str = "2026-03",
    *,
    actor: Actor = SELF,
    now: dt.datetime = NOW,
    channel: str = "web",
) -> ConsentChange | None:
    return give_consent(
        history,
        advisor_id=ADVISOR_ID,
        purpose=purpose,
        policy_version=version,
        channel=channel,
        actor=actor,
        now=now,
        record_id=uuid.uuid4(),
        event_id=uuid.uuid4(),
    )


def withdraw(
    history: list[ConsentRecord],
    purpose: ConsentPurpose = ConsentPurpose.MARKETING,
    *,
    actor: Actor = SELF,
    now: dt.datetime = NOW,
    reason: str | None = None,
) -> ConsentChange | None:
    return withdraw_consent(
        history,
        advisor_id=ADVISOR_ID,
        purpose=purpose,
        actor=actor,
        now=now,
        event_id=uuid.uuid4(),
        reason=reason,
    )


def persist(store: dict[uuid.UUID, ConsentRecord], change: ConsentChange | None) -> None:
    """What the repository does with a change: insert new records, update ended ones."""
    if change is not None:
        for item in change.records:
            store[item.id] = item


# -- the record itself ---------------------------------------------------------------------------


def test_a_record_is_active_until_it_has_an_end() -> None:
    given_record = record()
    assert given_record.active
    ended = attrs.evolve(given_record, ended_at=NOW, end_reason=ConsentEnd.WITHDRAWN)
    assert not ended.active


@pytest.mark.parametrize(
    "overrides",
    [
        {"ended_at": NOW},
        {"end_reason": ConsentEnd.WITHDRAWN},
        {"ended_at": NOW - dt.timedelta(seconds=1), "end_reason": "withdrawn"},
    ],
)
def test_an_end_needs_both_a_time_not_before_the_grant_and_a_reason(
    overrides: dict[str, Any],
) -> None:
    with pytest.raises(ValidationError):
        record(**overrides)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"policy_version": ""}, "policy_version"),
        ({"policy_version": "   "}, "policy_version"),
        ({"policy_version": " v2"}, "policy_version"),
        ({"policy_version": "v" * 33}, "policy_version"),
        ({"channel": "Web"}, "channel"),
        ({"channel": ""}, "channel"),
        ({"channel": "c" * 33}, "channel"),
        ({"channel": "web app"}, "channel"),
        ({"purpose": "newsletters"}, "purpose"),
        ({"given_at": NOW.replace(tzinfo=None)}, "given_at"),
        ({"advisor_id": str(ADVISOR_ID)}, "advisor_id"),
    ],
)
def test_a_bad_record_names_its_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        record(**overrides)
    assert caught.value.field == field


def test_text_purposes_and_reasons_become_members() -> None:
    made = record(purpose="analytics", ended_at=NOW, end_reason="erased")
    assert made.purpose is ConsentPurpose.ANALYTICS
    assert made.end_reason is ConsentEnd.ERASED


# -- giving and withdrawing, any sequence of them -------------------------------------------------

operations = st.lists(
    st.one_of(
        st.tuples(st.just("give"), purposes, versions, channels, allowed_actors),
        st.tuples(st.just("withdraw"), purposes, allowed_actors),
    ),
    max_size=25,
)


@given(operations, st.lists(st.integers(0, 10**6), min_size=25, max_size=25))
def test_any_sequence_keeps_one_active_consent_per_purpose_and_only_appends_or_ends(
    ops: list[tuple[Any, ...]], gaps: list[int]
) -> None:
    store: dict[uuid.UUID, ConsentRecord] = {}
    expected: dict[ConsentPurpose, str] = {}  # the version each purpose is consented under
    now = NOW
    for op, gap in zip(ops, gaps, strict=False):
        now += dt.timedelta(seconds=gap)  # time never runs backwards; steps may share a moment
        before = dict(store)
        if op[0] == "give":
            _, purpose, version, channel, actor = op
            change = give(
                list(store.values()), purpose, version, actor=actor, now=now, channel=channel
            )
            if expected.get(purpose) == version:
                assert change is None
            else:
                assert change is not None
                superseded = purpose in expected
                assert len(change.records) == 1 + superseded
                assert change.event.action == "consent.give"
                expected[purpose] = version
        else:
            _, purpose, actor = op
            change = withdraw(list(store.values()), purpose, actor=actor, now=now)
            if purpose not in expected:
                assert change is None
            else:
                assert change is not None
                assert len(change.records) == 1
                assert change.event.action == "consent.withdraw"
                del expected[purpose]
        persist(store, change)

        history = list(store.values())
        for purpose in ConsentPurpose:
            active = [r for r in history if r.active and r.purpose is purpose]
            assert len(active) <= 1
            assert holds(history, purpose) is (purpose in expected)
            found = current(history, purpose)
            assert (found and found.policy_version) == expected.get(purpose)
        for record_id, old in before.items():
            new = store[record_id]
            # What was given stays as given; an end is only ever added, never undone.
            assert (new.purpose, new.policy_version, new.channel, new.given_at) == (
                old.purpose,
                old.policy_version,
                old.channel,
                old.given_at,
            )
            if not old.active:
                assert new == old
            elif not new.active:
                assert new.ended_at == now
        for record_id in store.keys() - before.keys():
            assert store[record_id].active
            assert store[record_id].given_at == now


@given(purposes, versions, channels, allowed_actors)
def test_giving_the_same_version_again_records_nothing(
    purpose: ConsentPurpose, version: str, channel: str, actor: Actor
) -> None:
    first = give([], purpose, version, actor=actor, channel=channel)
    assert first is not None
    again = give(list(first.records), purpose, version, actor=actor, now=NOW + dt.timedelta(1))
    assert again is None


@given(purposes, st.lists(st.builds(record, purpose=purposes), max_size=5), allowed_actors)
def test_withdrawing_without_an_active_consent_records_nothing(
    purpose: ConsentPurpose, others: list[ConsentRecord], actor: Actor
) -> None:
    history = [r for r in others if r.purpose is not purpose]
    ended = record(purpose=purpose, ended_at=NOW, end_reason=ConsentEnd.WITHDRAWN)
    history = [*{r.purpose: r for r in history}.values(), ended]
    assert withdraw(history, purpose, actor=actor, now=NOW + dt.timedelta(1)) is None


def test_a_new_policy_version_supersedes_the_old_consent_and_the_event_shows_both() -> None:
    first = give([], ConsentPurpose.ANALYTICS, "2025-01")
    assert first is not None
    assert first.event.old_values is None
    assert first.event.new_values == {
        "purpose": "analytics",
        "policy_version": "2025-01",
        "channel": "web",
    }
    later = NOW + dt.timedelta(days=30)
    change = give(list(first.records), ConsentPurpose.ANALYTICS, "2026-03", now=later)
    assert change is not None
    old, new = change.records
    assert old.id == first.records[0].id
    assert (old.ended_at, old.end_reason) == (later, ConsentEnd.SUPERSEDED)
    assert (new.policy_version, new.given_at, new.active) == ("2026-03", later, True)
    event = change.event
    assert (event.entity_type, event.entity_id) == ("advisor", str(ADVISOR_ID))
    assert event.changed_fields == ("policy_version",)
    assert event.old_values == {
        "purpose": "analytics",
        "policy_version": "2025-01",
        "channel": "web",
    }
    assert event.new_values == {
        "purpose": "analytics",
        "policy_version": "2026-03",
        "channel": "web",
    }


def test_a_withdrawal_ends_the_consent_and_records_why() -> None:
    first = give([], ConsentPurpose.WHATSAPP_OPTIN)
    assert first is not None
    later = NOW + dt.timedelta(hours=2)
    change = withdraw(list(first.records), ConsentPurpose.WHATSAPP_OPTIN, now=later, reason="STOP")
    assert change is not None
    (ended,) = change.records
    assert (ended.id, ended.ended_at, ended.end_reason) == (
        first.records[0].id,
        later,
        ConsentEnd.WITHDRAWN,
    )
    event = change.event
    assert (event.action, event.reason, event.occurred_at) == ("consent.withdraw", "STOP", later)
    assert event.changed_fields == ("status",)
    assert event.old_values == {
        "purpose": "whatsapp_optin",
        "policy_version": "2026-03",
        "status": "active",
    }
    assert event.new_values == {
        "purpose": "whatsapp_optin",
        "policy_version": "2026-03",
        "status": "withdrawn",
    }


# -- who may -------------------------------------------------------------------------------------


@given(purposes, versions)
def test_only_the_advisor_themselves_an_admin_or_the_system_give_or_withdraw(
    purpose: ConsentPurpose, version: str
) -> None:
    active = [record(purpose=purpose, policy_version="old")]
    for actor in (OFFICER, STRANGER):
        with pytest.raises(PermissionDeniedError):
            give([], purpose, version, actor=actor)
        with pytest.raises(PermissionDeniedError):
            withdraw(active, purpose, actor=actor)
        with pytest.raises(PermissionDeniedError):
            withdraw([], purpose, actor=actor)  # refused even when there is nothing to end
    for actor in ALLOWED:
        assert give([], purpose, version, actor=actor) is not None
        assert withdraw(active, purpose, actor=actor) is not None


# -- histories that cannot be decided on -----------------------------------------------------------


@given(purposes)
def test_a_history_holding_another_advisors_consent_is_refused(purpose: ConsentPurpose) -> None:
    foreign = [record(purpose=purpose, advisor_id=uuid.uuid4())]
    with pytest.raises(ValidationError) as caught:
        give(foreign, purpose)
    assert caught.value.field == "history"
    with pytest.raises(ValidationError):
        withdraw(foreign, purpose)


def test_a_history_with_two_active_consents_for_one_purpose_is_refused() -> None:
    twice = [record(policy_version="a"), record(policy_version="b")]
    with pytest.raises(ValidationError):
        give(twice, ConsentPurpose.MARKETING, "c")
    with pytest.raises(ValidationError):
        withdraw(twice, ConsentPurpose.MARKETING)
    # Reading it still answers (the later grant counts), so nothing that checks consent fails.
    later = record(policy_version="c", given_at=NOW + dt.timedelta(1))
    found = current([*twice, later], ConsentPurpose.MARKETING)
    assert found == later


def test_bad_arguments_name_their_field() -> None:
    with pytest.raises(ValidationError) as caught:
        give([], ConsentPurpose.MARKETING, " 2026")
    assert caught.value.field == "policy_version"
    with pytest.raises(ValidationError) as caught:
        give([], ConsentPurpose.MARKETING, channel="E-mail")
    assert caught.value.field == "channel"
    with pytest.raises(ValidationError) as caught:
        give([], "spam")  # type: ignore[arg-type]
    assert caught.value.field == "purpose"
    with pytest.raises(ValidationError) as caught:
        give([], now=NOW.replace(tzinfo=None))
    assert caught.value.field == "now"
    existing = record()
    with pytest.raises(ValidationError) as caught:
        give_consent(
            [attrs.evolve(existing, policy_version="old")],
            advisor_id=ADVISOR_ID,
            purpose=ConsentPurpose.MARKETING,
            policy_version="new",
            channel="web",
            actor=SELF,
            now=NOW,
            record_id=existing.id,
            event_id=uuid.uuid4(),
        )
    assert caught.value.field == "record_id"


def test_a_consent_cannot_end_before_it_was_given() -> None:
    with pytest.raises(ValidationError):
        withdraw([record()], now=NOW - dt.timedelta(seconds=1))


# -- erasure and registration --------------------------------------------------------------------


@given(st.lists(st.tuples(purposes, st.booleans()), max_size=8))
def test_ending_all_ends_every_active_consent_and_only_those(
    spec: list[tuple[ConsentPurpose, bool]],
) -> None:
    history = [
        record(
            purpose=p, ended_at=NOW if ended else None, end_reason="withdrawn" if ended else None
        )
        for p, ended in spec
    ]
    later = NOW + dt.timedelta(days=1)
    ended = end_all(history, now=later)
    assert [r.id for r in ended] == [r.id for r in history if r.active]
    assert all((r.ended_at, r.end_reason) == (later, ConsentEnd.ERASED) for r in ended)
    store = {r.id: r for r in history} | {r.id: r for r in ended}
    assert not any(holds(list(store.values()), p) for p in ConsentPurpose)
    assert end_all(history, now=later, reason="withdrawn") == tuple(
        attrs.evolve(r, end_reason=ConsentEnd.WITHDRAWN) for r in ended
    )


def test_ending_all_needs_an_aware_moment() -> None:
    with pytest.raises(ValidationError):
        end_all([record()], now=NOW.replace(tzinfo=None))


@given(st.booleans(), versions, channels)
def test_registration_gives_processing_consent_and_the_whatsapp_opt_in_when_asked(
    opt_in: bool, version: str, channel: str
) -> None:
    ids = [uuid.uuid4(), uuid.uuid4(), uuid.uuid4()]
    made = registration_consents(
        advisor_id=ADVISOR_ID,
        policy_version=version,
        channel=channel,
        now=NOW,
        ids=ids,
        whatsapp_opt_in=opt_in,
    )
    wanted = [ConsentPurpose.PROCESSING] + [ConsentPurpose.WHATSAPP_OPTIN] * opt_in
    assert [r.purpose for r in made] == wanted
    assert [r.id for r in made] == ids[: len(wanted)]
    for item in made:
        assert item.active
        assert (item.advisor_id, item.policy_version, item.channel, item.given_at) == (
            ADVISOR_ID,
            version,
            channel,
            NOW,
        )
    assert holds(made, ConsentPurpose.PROCESSING)
    assert holds(made, ConsentPurpose.WHATSAPP_OPTIN) is opt_in


def test_registration_takes_ids_from_an_endless_source_and_needs_enough() -> None:
    made = registration_consents(
        advisor_id=ADVISOR_ID,
        policy_version="2026-03",
        channel="registration",
        now=NOW,
        ids=iter(uuid.uuid4, None),
        whatsapp_opt_in=True,
    )
    assert len({r.id for r in made}) == 2
    with pytest.raises(ValidationError) as caught:
        registration_consents(
            advisor_id=ADVISOR_ID,
            policy_version="2026-03",
            channel="registration",
            now=NOW,
            ids=[uuid.uuid4()],
            whatsapp_opt_in=True,
        )
    assert caught.value.field == "ids"
    one = uuid.uuid4()
    with pytest.raises(ValidationError):
        registration_consents(
            advisor_id=ADVISOR_ID,
            policy_version="2026-03",
            channel="registration",
            now=NOW,
            ids=[one, one],
            whatsapp_opt_in=True,
        )
