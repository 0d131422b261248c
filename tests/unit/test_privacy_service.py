"""Data-subject rights and retention (PrivacyService) over the in-memory fakes."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projectone.adapters.rulebook_files import default_rulebook
from projectone.domain import Advisor, AdvisorStatus, ContentPack, ContentStatus, DeliveryStatus
from projectone.domain.ai import AiJob, AiStage, CachedAnswer
from projectone.domain.audit import Actor, ActorType, Role, change_event, verify_chain
from projectone.domain.consent import DEFAULT_POLICY_VERSION, ConsentEnd, ConsentPurpose
from projectone.domain.errors import NotFoundError, PermissionDeniedError, SubjectErasedError
from projectone.domain.inbound import InboundMessage
from projectone.services import CatalogService, MorningService
from projectone.services.audit import AuditService
from projectone.services.privacy import EXPORT_FORMAT, PrivacyService
from projectone.testing.builders import planned_delivery
from projectone.testing.demo_data import demo_advisors, demo_packs
from projectone.testing.fakes import (
    InMemoryAuditLog,
    InMemoryStore,
    InMemoryUnitOfWorkFactory,
    ManualClock,
    SequentialIds,
)

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 23)
#: Three years and a day after NOW: the setup's processing logs are past retention.
LOGS_EXPIRED = dt.datetime(2029, 11, 23, 9, 0, tzinfo=dt.UTC)
#: Seven years and two days after NOW: the setup's audit events are past retention too.
AUDIT_EXPIRED = dt.datetime(2033, 11, 24, 9, 0, tzinfo=dt.UTC)

ADMIN = Actor(type=ActorType.USER, id="admin:asha", role=Role.ADMIN)
OFFICER = Actor(type=ActorType.USER, id="co:ravi", role=Role.COMPLIANCE_OFFICER)
SYSTEM = Actor.system("privacy-test")


def as_advisor(advisor: Advisor) -> Actor:
    return Actor(type=ActorType.USER, id=f"advisor:{advisor.id}", role=Role.ADVISOR)


def strings(value: object) -> Iterator[str]:
    """Every string in a JSON document, keys included (searched decoded, not as JSON text,
    so an escaped character cannot hide an identifier)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)


def snapshot(store: InMemoryStore) -> dict[str, object]:
    return {f.name: copy.copy(getattr(store, f.name)) for f in attrs.fields(InMemoryStore)}


@attrs.define
class World:
    uow: InMemoryUnitOfWorkFactory
    clock: ManualClock
    ids: SequentialIds
    privacy: PrivacyService
    catalog: CatalogService
    morning: MorningService
    subject: Advisor
    other: Advisor
    #: The subject's approved pack for DAY, and a draft of theirs that names them.
    approved: ContentPack
    draft: ContentPack

    @property
    def me(self) -> Actor:
        return as_advisor(self.subject)

    @property
    def identifiers(self) -> tuple[str, ...]:
        number = self.subject.whatsapp_number
        return (self.subject.name, self.subject.email, number, number.removeprefix("+"))

    async def export(self, actor: Actor = ADMIN) -> dict[str, Any]:
        return await self.privacy.export_subject_data(self.subject.id, actor=actor)

    async def erase(self, actor: Actor | None = None) -> Any:
        return await self.privacy.erase_subject(self.subject.id, actor=actor or self.me)

    async def advisor(self) -> Advisor:
        async with self.uow() as uow:
            return await uow.advisors.get(self.subject.id)

    async def reachable(self) -> list[uuid.UUID]:
        async with self.uow() as uow:
            return [a.id for a in (await uow.advisors.list_reachable()).advisors]

    def mine(self, table: dict[Any, Any]) -> list[Any]:
        return [row for row in table.values() if row.advisor_id == self.subject.id]


async def make_world(name: str | None = None) -> World:
    uow = InMemoryUnitOfWorkFactory()
    clock = ManualClock(NOW)
    ids = SequentialIds()
    subject, other = (
        attrs.evolve(a, whatsapp_opt_in_at=NOW - dt.timedelta(days=30))
        for a in demo_advisors(2, ids=ids, now=NOW)
    )
    if name is not None:
        subject = attrs.evolve(subject, name=name)
    packs = demo_packs([subject, other], DAY, ids=ids, now=NOW)
    (base,) = demo_packs(
        [subject], DAY + dt.timedelta(days=1), ids=ids, now=NOW, status=ContentStatus.DRAFT
    )
    signature = f"Write to {subject.name} at {subject.email} or call {subject.whatsapp_number}."
    draft = attrs.evolve(
        base, variants={lang: attrs.evolve(v, cta=signature) for lang, v in base.variants.items()}
    )
    catalog = CatalogService(uow_factory=uow, clock=clock, ids=ids)
    await catalog.register([subject, other], [*packs, draft])

    def delivery(advisor: Advisor, pack: ContentPack, days_before: int, **changes: Any) -> Any:
        return planned_delivery(
            date=DAY - dt.timedelta(days=days_before),
            id=ids.new_id(),
            advisor_id=advisor.id,
            pack_id=pack.id,
            to=advisor.whatsapp_number,
            content_hash=pack.content_hash,
            **changes,
        )

    sent = delivery(subject, packs[0], 2)
    sent = attrs.evolve(
        sent,
        status=DeliveryStatus.SENT,
        attempts=1,
        sent_at=sent.scheduled_for,
        provider_message_id="wamid.sent-1",
    )

    def inbound(advisor: Advisor, n: int) -> InboundMessage:
        return InboundMessage(
            id=ids.new_id(),
            provider_message_id=f"wamid.in-{n}",
            from_number=advisor.whatsapp_number,
            advisor_id=advisor.id,
            type="text",
            body=f"This is {advisor.name}: please call me",
            sent_at=NOW - dt.timedelta(hours=1),
            received_at=NOW - dt.timedelta(hours=1),
        )

    async with uow() as w:
        await w.deliveries.add_many(
            [sent, delivery(subject, packs[0], 1), delivery(other, packs[1], 1)]
        )
        await w.inbound.add_new([inbound(subject, 1), inbound(other, 2)])
        await w.ai_jobs.add(
            AiJob(
                id=ids.new_id(),
                advisor_id=subject.id,
                stage=AiStage.GENERATION,
                model="fake-model",
                prompt_version="v1",
                input_hash="a" * 64,
                created_at=NOW - dt.timedelta(hours=1),
            )
        )
        for advisor, key in ((subject, "1" * 64), (other, "2" * 64)):
            await w.ai_cache.put(
                CachedAnswer(
                    key=key,
                    stage=AiStage.GENERATION,
                    model="fake-model",
                    prompt_version="v1",
                    document={"title": f"A note from {advisor.name}"},
                    created_at=NOW - dt.timedelta(hours=1),
                    expires_at=NOW + dt.timedelta(days=30),
                    advisor_id=advisor.id,
                )
            )
        await w.audit.append(
            [
                change_event(
                    action="schedule",
                    entity_type="content_pack",
                    entity_id=str(packs[0].id),
                    old={"status": "approved"},
                    new={"status": "scheduled"},
                    actor=ADMIN,
                    now=NOW,
                    event_id=ids.new_id(),
                )
            ]
        )
        await w.commit()
    return World(
        uow=uow,
        clock=clock,
        ids=ids,
        privacy=PrivacyService(uow, clock, ids, policy_version=DEFAULT_POLICY_VERSION),
        catalog=catalog,
        morning=MorningService(uow_factory=uow, clock=clock, ids=ids, rulebook=default_rulebook()),
        subject=subject,
        other=other,
        approved=packs[0],
        draft=draft,
    )


@pytest.fixture
async def world() -> World:
    return await make_world()


# --- export -------------------------------------------------------------------------------------


async def test_an_export_holds_everything_about_the_advisor_and_nothing_about_others(
    world: World,
) -> None:
    doc = await world.export(world.me)

    json.dumps(doc)  # one plain JSON document
    assert doc["format"] == EXPORT_FORMAT
    assert doc["subject"] == {"advisor_id": str(world.subject.id), "erased": False}
    profile = doc["profile"]
    assert (profile["name"], profile["email"], profile["whatsapp_number"]) == (
        world.subject.name,
        world.subject.email,
        world.subject.whatsapp_number,
    )
    assert {c["purpose"] for c in doc["consents"]} == {"processing", "whatsapp_optin"}
    assert {p["id"] for p in doc["content"]} == {str(world.approved.id), str(world.draft.id)}
    assert all(len(p["content_hash"]) == 64 for p in doc["content"])
    assert len(doc["deliveries"]) == 2
    assert {d["to"] for d in doc["deliveries"]} == {world.subject.whatsapp_number}
    assert all("lease_owner" not in d for d in doc["deliveries"])
    assert [m["provider_message_id"] for m in doc["inbound_messages"]] == ["wamid.in-1"]
    assert [j["model"] for j in doc["ai_jobs"]] == ["fake-model"]
    about = {(e["entity_type"], e["entity_id"], e["action"]) for e in doc["audit_events"]}
    assert about == {
        ("advisor", str(world.subject.id), "register"),
        ("content_pack", str(world.approved.id), "schedule"),
    }
    sequences = [e["sequence"] for e in doc["audit_events"]]
    assert sequences == sorted(sequences)
    text = json.dumps(doc, ensure_ascii=False)
    assert world.other.email not in text
    assert world.other.whatsapp_number not in text


# --- erasure ------------------------------------------------------------------------------------


async def test_after_erasure_the_export_holds_no_name_email_or_number(world: World) -> None:
    await world.erase()

    doc = await world.export()

    assert doc["subject"] == {"advisor_id": str(world.subject.id), "erased": True}
    assert doc["profile"]["name"] is None
    assert doc["profile"]["status"] == "cancelled"
    assert doc["profile"]["erased_at"] == NOW.isoformat()
    text = json.dumps(doc, ensure_ascii=False)
    for identifier in world.identifiers:
        assert identifier not in text
    assert {d["to"] for d in doc["deliveries"]} == {None}


async def test_erasure_replaces_the_identifiers_in_the_content_and_keeps_the_approval_record(
    world: World,
) -> None:
    report = await world.erase()

    assert report.counts.content_packs_redacted == 1
    packs = world.uow.store.packs
    for variant in packs[world.draft.id].variants.values():
        assert variant.cta == "Write to [erased] at [erased] or call [erased]."
    assert packs[world.approved.id] == world.approved  # did not name them: untouched
    assert packs[world.approved.id].approved_hash == world.approved.approved_hash


async def test_erasure_keeps_the_deliveries_without_a_number_and_expires_the_queued_one(
    world: World,
) -> None:
    others_before = [
        d for d in world.uow.store.deliveries.values() if d.advisor_id != world.subject.id
    ]

    report = await world.erase()

    deliveries = world.mine(world.uow.store.deliveries)
    assert len(deliveries) == 2  # reports still count them
    assert {d.to for d in deliveries} == {""}
    statuses = sorted((d.status.value, d.error_code) for d in deliveries)
    assert statuses == [("expired", "subject_erased"), ("sent", None)]
    assert (report.counts.deliveries_unlinked, report.counts.deliveries_expired) == (2, 1)
    assert [d for d in world.uow.store.deliveries.values() if d.advisor_id != world.subject.id] == (
        others_before
    )


async def test_erasure_deletes_the_inbound_messages_ends_the_consents_and_destroys_the_key(
    world: World,
) -> None:
    report = await world.erase()

    assert [m.provider_message_id for m in world.uow.store.inbound.values()] == ["wamid.in-2"]
    assert [a.advisor_id for a in world.uow.store.ai_cache.values()] == [world.other.id]
    consents = world.mine(world.uow.store.consents)
    assert len(consents) == 2
    assert all(c.end_reason is ConsentEnd.ERASED and c.ended_at == NOW for c in consents)
    assert report.counts.as_dict() == {
        "data_keys_destroyed": 1,
        "deliveries_unlinked": 2,
        "deliveries_expired": 1,
        "inbound_messages_deleted": 1,
        "ai_answers_deleted": 1,
        "consents_ended": 2,
        "content_packs_redacted": 1,
    }
    assert report.as_dict()["erased_at"] == NOW.isoformat()


async def test_an_erased_advisor_is_gone_from_reads_and_from_the_morning_run(
    world: World,
) -> None:
    await world.erase()

    with pytest.raises(SubjectErasedError) as caught:
        await world.advisor()
    assert caught.value.erased_at == NOW
    async with world.uow() as uow:
        assert await uow.advisors.ids_by_whatsapp([world.subject.whatsapp_number]) == {}
        profile = await uow.subjects.profile(world.subject.id)
    assert await world.reachable() == [world.other.id]
    assert (profile.name, profile.email, profile.whatsapp_number) == (None, None, None)
    assert (profile.status, profile.erased_at, profile.whatsapp_opt_in_at) == (
        "cancelled",
        NOW,
        None,
    )
    # Nothing personal is left in the store either.
    stored = repr(world.uow.store.advisors[world.subject.id])
    for identifier in world.identifiers:
        assert identifier not in stored


async def test_the_audit_chain_verifies_after_an_erasure_which_it_records_without_values(
    world: World,
) -> None:
    await world.erase()

    async with world.uow() as uow:
        events = list(await uow.audit.events(limit=10_000))
    assert verify_chain(events).ok
    last = events[-1]
    assert (last.action, last.entity_id, last.actor) == (
        "privacy.erase",
        str(world.subject.id),
        world.me,
    )
    assert last.new_values is not None
    assert last.new_values["erased"] is True
    text = json.dumps([attrs.asdict(e) for e in events], default=str, ensure_ascii=False)
    for identifier in world.identifiers:
        assert identifier not in text


async def test_erasing_twice_is_refused_as_already_erased(world: World) -> None:
    await world.erase()
    world.clock.advance(dt.timedelta(days=1))

    with pytest.raises(SubjectErasedError) as caught:
        await world.erase(ADMIN)
    assert caught.value.erased_at == NOW


async def test_erasing_an_unknown_advisor_is_not_found(world: World) -> None:
    with pytest.raises(NotFoundError) as caught:
        await world.privacy.erase_subject(uuid.uuid4(), actor=ADMIN)
    assert type(caught.value) is NotFoundError


async def test_a_failed_erasure_leaves_everything_as_it_was(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(world.uow.store)

    async def broken(self: InMemoryAuditLog, drafts: Any) -> Any:
        raise RuntimeError("the audit log is unavailable")

    # The last step: every other write of the erasure is staged by then.
    monkeypatch.setattr(InMemoryAuditLog, "append", broken)
    with pytest.raises(RuntimeError):
        await world.erase()
    monkeypatch.undo()

    assert snapshot(world.uow.store) == before
    assert (await world.advisor()) == world.subject


@pytest.mark.parametrize(
    "who", ["another advisor", "compliance officer"], ids=lambda who: who.replace(" ", "_")
)
async def test_only_the_advisor_an_admin_or_the_system_may_export_or_erase(
    world: World, who: str
) -> None:
    actor = as_advisor(world.other) if who == "another advisor" else OFFICER
    # Another advisor's data is not found (its existence is not theirs to learn).
    refused = NotFoundError if who == "another advisor" else PermissionDeniedError

    with pytest.raises(refused):
        await world.export(actor)
    with pytest.raises(refused):
        await world.erase(actor)

    assert (await world.advisor()) == world.subject
    for allowed in (world.me, ADMIN, SYSTEM):
        assert (await world.export(allowed))["profile"]["email"] == world.subject.email


# --- consent ------------------------------------------------------------------------------------


async def test_withdrawing_whatsapp_opt_in_leaves_the_advisor_out_of_the_next_plan(
    world: World,
) -> None:
    assert world.subject.id in await world.reachable()

    record = await world.privacy.withdraw_consent(
        world.subject.id, "whatsapp_optin", actor=world.me, reason="too many messages"
    )

    assert record is not None
    assert (record.end_reason, record.ended_at) == (ConsentEnd.WITHDRAWN, NOW)
    assert (await world.advisor()).whatsapp_opt_in_at is None
    assert await world.reachable() == [world.other.id]
    result = await world.morning.plan_morning(DAY)
    assert result.planned == 1
    async with world.uow() as uow:
        planned = await uow.deliveries.for_date(DAY)
    assert [d.advisor_id for d in planned] == [world.other.id]
    # Withdrawing again records nothing.
    assert (
        await world.privacy.withdraw_consent(world.subject.id, "whatsapp_optin", actor=ADMIN)
        is None
    )


async def test_withdrawing_consent_to_processing_blocks_the_account_until_given_again(
    world: World,
) -> None:
    await world.privacy.withdraw_consent(
        world.subject.id, ConsentPurpose.PROCESSING, actor=world.me
    )

    blocked = await world.advisor()
    assert blocked.processing_withdrawn_at == NOW
    assert not blocked.usable
    assert world.subject.id not in await world.reachable()

    world.clock.advance(dt.timedelta(hours=1))
    given = await world.privacy.give_consent(
        world.subject.id, ConsentPurpose.PROCESSING, actor=world.me, channel="web"
    )

    assert given is not None
    assert given.active
    assert (await world.advisor()).processing_withdrawn_at is None
    assert world.subject.id in await world.reachable()
    history = [
        (r.ended_at is None, r.end_reason)
        for r in await world.privacy.consents(world.subject.id, actor=world.me)
        if r.purpose is ConsentPurpose.PROCESSING
    ]
    assert history == [(False, ConsentEnd.WITHDRAWN), (True, None)]


async def test_giving_a_consent_already_held_records_nothing(world: World) -> None:
    events = len(world.uow.store.audit)

    again = await world.privacy.give_consent(
        world.subject.id, "processing", actor=world.me, channel="web"
    )

    assert again is None
    assert len(world.uow.store.audit) == events
    assert len(world.mine(world.uow.store.consents)) == 2


async def test_a_compliance_officer_may_not_withdraw_consent_for_an_advisor(world: World) -> None:
    with pytest.raises(PermissionDeniedError):
        await world.privacy.withdraw_consent(world.subject.id, "processing", actor=OFFICER)
    assert (await world.advisor()).processing_withdrawn_at is None


_OPS = st.lists(
    st.tuples(
        st.sampled_from(["give", "withdraw"]),
        st.sampled_from(list(ConsentPurpose)),
        st.sampled_from([DEFAULT_POLICY_VERSION, "2027-06"]),
    ),
    max_size=8,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_OPS)
def test_the_account_always_reflects_the_active_consents_and_the_chain_verifies(
    ops: list[tuple[str, ConsentPurpose, str]],
) -> None:
    async def scenario() -> None:
        world = await make_world()
        changes = 0
        for action, purpose, version in ops:
            world.clock.advance(dt.timedelta(minutes=1))
            if action == "give":
                done: Any = await world.privacy.give_consent(
                    world.subject.id,
                    purpose,
                    actor=world.me,
                    channel="web",
                    policy_version=version,
                )
            else:
                done = await world.privacy.withdraw_consent(
                    world.subject.id, purpose, actor=world.me
                )
            changes += done is not None
        history = await world.privacy.consents(world.subject.id, actor=world.me)
        active = [r.purpose for r in history if r.active]
        assert len(active) == len(set(active))
        advisor = await world.advisor()
        assert (advisor.processing_withdrawn_at is None) == (ConsentPurpose.PROCESSING in active)
        assert (advisor.whatsapp_opt_in_at is not None) == (ConsentPurpose.WHATSAPP_OPTIN in active)
        async with world.uow() as uow:
            events = list(await uow.audit.events(limit=10_000))
        assert verify_chain(events).ok
        assert sum(e.action.startswith("consent.") for e in events) == changes

    asyncio.run(scenario())


# A name in any script, with characters regular expressions treat specially, between two
# markers that keep it a whole word no other text of the export contains by chance.
_NAMES = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=24
).map(lambda middle: f"Zqx{middle}Xqz")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_NAMES)
def test_no_string_of_an_erased_advisors_export_holds_their_name_email_or_number(
    name: str,
) -> None:
    async def scenario() -> None:
        world = await make_world(name)
        await world.erase()
        doc = await world.export()
        for text in strings(doc):
            for identifier in world.identifiers:
                assert identifier.casefold() not in text.casefold()

    asyncio.run(scenario())


# --- rectification ------------------------------------------------------------------------------


async def test_rectifying_the_email_names_the_field_but_never_the_values(world: World) -> None:
    changed = await world.privacy.rectify(
        world.subject.id, actor=world.me, email="new.address@example.in", request_id="req-9"
    )

    assert changed.email == "new.address@example.in"
    assert (await world.advisor()).email == "new.address@example.in"
    event = world.uow.store.audit[-1]
    assert (event.action, event.request_id) == ("rectify", "req-9")
    assert "email" in event.changed_fields
    recorded = json.dumps([event.old_values, event.new_values, event.reason])
    assert "new.address@example.in" not in recorded
    assert world.subject.email not in recorded


# --- retention ----------------------------------------------------------------------------------


async def _ready_for_purge(world: World) -> ContentPack:
    """The other advisor cancelled at NOW, the subject a month before LOGS_EXPIRED (still in
    their grace period), a WhatsApp opt-in withdrawn at NOW, and a recent delivery."""
    await world.catalog.set_status(world.other.id, AdvisorStatus.CANCELLED, ADMIN)
    await world.privacy.withdraw_consent(world.subject.id, "whatsapp_optin", actor=world.me)
    world.clock.set(LOGS_EXPIRED - dt.timedelta(days=30))
    await world.catalog.set_status(world.subject.id, AdvisorStatus.CANCELLED, ADMIN)
    async with world.uow() as uow:
        await uow.deliveries.add(
            planned_delivery(
                date=LOGS_EXPIRED.date() - dt.timedelta(days=40),
                id=world.ids.new_id(),
                advisor_id=world.subject.id,
                pack_id=world.approved.id,
                to=world.subject.whatsapp_number,
                content_hash=world.approved.content_hash,
            )
        )
        await uow.commit()
    world.clock.set(LOGS_EXPIRED)
    return world.approved


async def test_a_dry_run_purge_changes_nothing_but_records_one_audit_event(world: World) -> None:
    await _ready_for_purge(world)
    before = snapshot(world.uow.store)
    events = len(world.uow.store.audit)

    report = await world.privacy.purge(dry_run=True)

    after = snapshot(world.uow.store)
    assert after.pop("audit") != before.pop("audit")
    assert after == before
    assert len(world.uow.store.audit) == events + 1
    event = world.uow.store.audit[-1]
    assert (event.action, event.entity_type, event.actor) == (
        "privacy.purge",
        "retention",
        Actor.system("privacy-purge"),
    )
    assert event.new_values is not None
    assert event.new_values["dry_run"] is True
    assert report.erased == (world.other.id,)
    assert report.counts.as_dict() == {
        "audit_events": 0,
        "content_packs": 0,
        "deliveries": 3,
        "fallback_selections": 0,
        "ai_jobs": 1,
        "ai_cache": 2,  # expired by now
        "inbound_messages": 2,
        "consents": 1,
        "erased_advisors": 1,
    }


async def test_purge_erases_accounts_cancelled_over_six_months_ago_and_old_processing_logs(
    world: World,
) -> None:
    await _ready_for_purge(world)

    report = await world.privacy.purge(dry_run=False, actor=ADMIN)

    assert report.erased == (world.other.id,)
    # The erasure (first) deleted the other advisor's message; the purge the subject's.
    assert (report.counts.deliveries, report.counts.inbound_messages) == (3, 1)
    store = world.uow.store
    assert set(store.erased) == {world.other.id}
    assert [d.date for d in store.deliveries.values()] == [
        LOGS_EXPIRED.date() - dt.timedelta(days=40)
    ]
    assert (store.inbound, store.ai_jobs) == ({}, {})
    # The withdrawn opt-in ended three years ago: gone. The erased advisor's consents ended now.
    assert not any(c.purpose is ConsentPurpose.WHATSAPP_OPTIN for c in world.mine(store.consents))
    others = [c for c in store.consents.values() if c.advisor_id == world.other.id]
    assert {c.end_reason for c in others} == {ConsentEnd.ERASED}
    # Still within the grace period: not erased.
    async with world.uow() as uow:
        assert (await uow.subjects.profile(world.subject.id)).erased_at is None
        events = list(await uow.audit.events(limit=10_000))
    assert verify_chain(events).ok
    assert [e.action for e in events[-2:]] == ["privacy.erase", "privacy.purge"]
    assert events[-1].new_values is not None
    assert "audit_anchor" not in events[-1].new_values


async def test_purge_deletes_the_oldest_audit_events_and_the_chain_verifies_from_the_anchor(
    world: World,
) -> None:
    old_events = len(world.uow.store.audit)
    world.clock.set(AUDIT_EXPIRED - dt.timedelta(days=30))
    await world.privacy.give_consent(world.subject.id, "marketing", actor=world.me, channel="web")
    world.clock.set(AUDIT_EXPIRED)

    preview = await world.privacy.purge(dry_run=True)
    report = await world.privacy.purge(dry_run=False)

    # The dry run counts what the real run deletes, packs freed by deleted deliveries too.
    assert preview.counts.content_packs == report.counts.content_packs
    assert preview.counts.deliveries == report.counts.deliveries
    assert report.counts.audit_events == old_events
    # The approval records are past seven years once their deliveries are gone; the draft
    # was never approved.
    assert report.counts.content_packs == 2
    assert set(world.uow.store.packs) == {world.draft.id}
    chain = world.uow.store.audit
    assert [e.sequence for e in chain] == [old_events + 1, old_events + 2, old_events + 3]
    purge = chain[-1].new_values
    assert purge is not None
    assert purge["audit_anchor"] == {"sequence": old_events, "hash": chain[0].prev_hash}
    verified = await AuditService(uow_factory=world.uow).verify()
    assert verified.ok
    assert verified.count == 3


async def test_only_an_admin_or_the_system_may_purge(world: World) -> None:
    with pytest.raises(PermissionDeniedError):
        await world.privacy.purge(dry_run=True, actor=OFFICER)
    assert [e.action for e in world.uow.store.audit].count("privacy.purge") == 0


async def test_an_old_approval_record_still_referenced_is_kept_by_the_purge(
    world: World,
) -> None:
    # A recent delivery points at the approved pack: it stays although approved long ago.
    async with world.uow() as uow:
        await uow.deliveries.add(
            planned_delivery(
                date=(AUDIT_EXPIRED - dt.timedelta(days=500)).date(),
                id=world.ids.new_id(),
                advisor_id=world.subject.id,
                pack_id=world.approved.id,
                to=world.subject.whatsapp_number,
                content_hash=world.approved.content_hash,
            )
        )
        await uow.commit()
    world.clock.set(AUDIT_EXPIRED)

    report = await world.privacy.purge(dry_run=False)

    assert world.approved.id in world.uow.store.packs
    assert report.counts.content_packs == 1  # the other advisor's approved pack
    assert set(world.uow.store.packs) == {world.approved.id, world.draft.id}
