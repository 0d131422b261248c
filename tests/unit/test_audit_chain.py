from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import unicodedata
import uuid
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectone.domain import ContentStatus, Language, ValidationError
from projectone.domain.audit import (
    GENESIS_HASH,
    JSON,
    RETENTION_YEARS,
    Actor,
    ActorType,
    AuditDraft,
    AuditEvent,
    Digest,
    Role,
    canonical_form,
    changed_fields,
    daily_digest,
    event_hash,
    parse_digest_file,
    to_json_value,
    verify_against_digests,
    verify_chain,
)
from projectone.domain.timezone import IST
from projectone.testing.strategies import aware_datetimes

T0 = dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC)
ADMIN = Actor(type=ActorType.USER, id="admin-1", role=Role.ADMIN)


def draft(n: int = 1, *, at: dt.datetime = T0, **changes: Any) -> AuditDraft:
    fields: dict[str, Any] = {
        "id": uuid.UUID(int=n),
        "occurred_at": at,
        "actor": ADMIN,
        "action": "approve",
        "entity_type": "content_pack",
        "entity_id": str(uuid.UUID(int=1000 + n)),
        "old_values": {"status": "pending_review"},
        "new_values": {"status": "approved"},
        "changed_fields": ("status",),
    }
    return AuditDraft(**{**fields, **changes})


def chain(drafts: list[AuditDraft]) -> list[AuditEvent]:
    events: list[AuditEvent] = []
    prev = GENESIS_HASH
    for sequence, d in enumerate(drafts, start=1):
        event = d.chain(prev, sequence)
        events.append(event)
        prev = event.hash
    return events


# The recipe of the module docstring, written out again without using the module's code.
def _nfc(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [_nfc(v) for v in value]
    if isinstance(value, dict):
        return {unicodedata.normalize("NFC", k): _nfc(v) for k, v in value.items()}
    return value


def recomputed_hash(e: AuditEvent) -> str:
    doc = {
        "id": str(e.id),
        "sequence": e.sequence,
        "prev_hash": e.prev_hash,
        "occurred_at": e.occurred_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"),
        "actor": {"id": e.actor.id, "role": str(e.actor.role), "type": str(e.actor.type)},
        "action": e.action,
        "entity_type": e.entity_type,
        "entity_id": e.entity_id,
        "old_values": None if e.old_values is None else dict(e.old_values),
        "new_values": None if e.new_values is None else dict(e.new_values),
        "changed_fields": list(e.changed_fields),
        "reason": e.reason,
        "request_id": e.request_id,
    }
    body = json.dumps(
        _nfc(doc), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
    return hashlib.sha256(e.prev_hash.encode("ascii") + body).hexdigest()


# Strategies ------------------------------------------------------------------------------------

_KEYS = st.text(alphabet="abcdefgh_", min_size=1, max_size=6)
_JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values: st.SearchStrategy[JSON] = st.recursive(
    _JSON_LEAVES,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_KEYS, children, max_size=3),
    max_leaves=8,
)
json_objects = st.none() | st.dictionaries(_KEYS, json_values, max_size=4)
_TEXT = st.text(min_size=1, max_size=20).filter(lambda s: s.strip() != "")

actors = st.one_of(
    st.builds(
        Actor,
        type=st.just(ActorType.USER),
        id=_TEXT,
        role=st.sampled_from([Role.ADVISOR, Role.ADMIN, Role.COMPLIANCE_OFFICER]),
    ),
    st.builds(
        Actor,
        type=st.sampled_from([ActorType.SYSTEM, ActorType.SERVICE]),
        id=_TEXT,
        role=st.just(Role.SYSTEM),
    ),
)


@st.composite
def drafts_at(draw: st.DrawFn, at: dt.datetime) -> AuditDraft:
    old = draw(json_objects)
    new = draw(json_objects)
    return AuditDraft(
        id=draw(st.uuids()),
        occurred_at=at,
        actor=draw(actors),
        action=draw(st.sampled_from(["submit", "approve", "reject", "open", "erase"])),
        entity_type=draw(st.sampled_from(["content_pack", "advisor", "incident"])),
        entity_id=draw(_TEXT),
        old_values=old,
        new_values=new,
        changed_fields=changed_fields(old, new),
        reason=draw(st.none() | st.text(max_size=30)),
        request_id=draw(st.none() | _TEXT),
    )


@st.composite
def chains(draw: st.DrawFn, min_size: int = 0, max_size: int = 10) -> list[AuditEvent]:
    """Chains whose events are in time order, spread over a few UTC days."""
    start = draw(aware_datetimes())
    gaps = draw(st.lists(st.integers(0, 20 * 3600), min_size=min_size, max_size=max_size))
    times, at = [], start
    for gap in gaps:
        at = at + dt.timedelta(seconds=gap)
        times.append(at)
    return chain([draw(drafts_at(t)) for t in times])


def _flip(hex_text: str) -> str:
    return ("1" if hex_text[0] == "0" else "0") + hex_text[1:]


def altered(event: AuditEvent, field: str) -> AuditEvent:
    """``event`` with ``field`` changed so that its canonical form differs."""
    changes: dict[str, Any] = {
        "id": uuid.UUID(int=(event.id.int + 1) % 2**128),
        "occurred_at": event.occurred_at + dt.timedelta(microseconds=1),
        "actor": attrs.evolve(event.actor, id=event.actor.id + "x"),
        "action": event.action + "x",
        "entity_type": event.entity_type + "x",
        "entity_id": event.entity_id + "x",
        "old_values": {**(event.old_values or {}), "tampered": True},
        "new_values": {**(event.new_values or {}), "tampered": True},
        "changed_fields": (*event.changed_fields, "tampered"),
        "reason": (event.reason or "") + "x",
        "request_id": (event.request_id or "") + "x",
        "sequence": event.sequence + 1,
        "prev_hash": _flip(event.prev_hash),
        "hash": _flip(event.hash),
    }
    return attrs.evolve(event, **{field: changes[field]})


EVENT_FIELDS = [f.name for f in attrs.fields(AuditEvent)]


# The recipe ------------------------------------------------------------------------------------


def test_the_canonical_form_is_sorted_compact_json_of_every_field_but_the_hash() -> None:
    event = draft(reason="Approved \u2014 looks fine", request_id="req-1").chain(GENESIS_HASH, 1)
    assert canonical_form(event) == (
        '{"action":"approve","actor":{"id":"admin-1","role":"admin","type":"user"},'
        '"changed_fields":["status"],"entity_id":"00000000-0000-0000-0000-0000000003e9",'
        '"entity_type":"content_pack","id":"00000000-0000-0000-0000-000000000001",'
        '"new_values":{"status":"approved"},"occurred_at":"2026-11-23T06:00:00.000000+00:00",'
        '"old_values":{"status":"pending_review"},"prev_hash":"' + GENESIS_HASH + '",'
        '"reason":"Approved \u2014 looks fine","request_id":"req-1","sequence":1}'
    ).encode("utf-8")
    assert event.hash == hashlib.sha256(GENESIS_HASH.encode() + canonical_form(event)).hexdigest()


def test_a_known_event_has_a_pinned_hash_so_the_recipe_cannot_drift_silently() -> None:
    # Computed outside Python too: printf '%s' "$GENESIS<canonical form>" | sha256sum
    event = draft().chain(GENESIS_HASH, 1)
    assert event.hash == recomputed_hash(event)
    assert event.hash == "c9f9128be14fec18d6183b25ad058326859de9ddf3c9cd3c090586e9903a9fb9"


@given(chains(max_size=6))
def test_every_hash_can_be_recomputed_from_the_documented_recipe(events: list[AuditEvent]) -> None:
    for event in events:
        assert event.hash == recomputed_hash(event) == event_hash(event)


def test_times_are_hashed_in_utc_so_the_same_instant_hashes_alike_in_any_zone() -> None:
    utc = draft(at=T0).chain(GENESIS_HASH, 1)
    ist = draft(at=T0.astimezone(IST)).chain(GENESIS_HASH, 1)
    assert utc.hash == ist.hash


def test_text_is_hashed_nfc_normalised() -> None:
    composed = draft(reason="Caf\u00e9").chain(GENESIS_HASH, 1)
    decomposed = draft(reason="Cafe\u0301").chain(GENESIS_HASH, 1)
    assert composed.hash == decomposed.hash


def test_values_are_recorded_as_json_text_for_dates_ids_and_enums() -> None:
    pack_id = uuid.UUID(int=5)
    values = {
        "when": dt.datetime(2026, 11, 23, 11, 30, tzinfo=IST),
        "day": dt.date(2026, 11, 23),
        "pack": pack_id,
        "status": ContentStatus.APPROVED,
        "langs": (Language.EN, Language.HI),
        "tags": {"b", "a"},
        "amount": decimal.Decimal("12.50"),
        "nested": {"ok": [1, 2.5, None, True]},
    }
    assert to_json_value(values) == {
        "when": "2026-11-23T06:00:00.000000+00:00",
        "day": "2026-11-23",
        "pack": str(pack_id),
        "status": "approved",
        "langs": ["en", "hi"],
        "tags": ["a", "b"],
        "amount": "12.50",
        "nested": {"ok": [1, 2.5, None, True]},
    }
    event = draft(new_values=values).chain(GENESIS_HASH, 1)
    assert event.new_values == to_json_value(values)


@pytest.mark.parametrize(
    "bad",
    [
        dt.datetime(2026, 1, 1),
        float("nan"),
        float("inf"),
        object(),
        {1: "not a text key"},
        {"Cafe\u0301": 1, "Caf\u00e9": 2},
    ],
)
def test_values_that_are_not_json_are_refused(bad: object) -> None:
    with pytest.raises(ValidationError):
        to_json_value(bad)
    with pytest.raises(ValidationError) as caught:
        draft(new_values={"field": bad})
    assert caught.value.field.startswith("new_values")


def test_an_event_needs_an_aware_time_an_actor_and_names() -> None:
    with pytest.raises(ValidationError) as caught:
        draft(at=dt.datetime(2026, 11, 23, 6, 0))
    assert caught.value.field == "occurred_at"
    with pytest.raises(ValidationError) as caught:
        draft(action=" ")
    assert caught.value.field == "action"
    with pytest.raises(ValidationError) as caught:
        draft(actor="admin-1")
    assert caught.value.field == "actor"
    with pytest.raises(ValidationError):
        draft().chain("not a hash", 1)
    with pytest.raises(ValidationError):
        draft().chain(GENESIS_HASH, 0)


def test_only_machines_carry_the_system_role() -> None:
    assert Actor.system() == Actor(type="system", id="projectone", role="system")
    with pytest.raises(ValidationError):
        Actor(type=ActorType.USER, id="mallory", role=Role.SYSTEM)
    with pytest.raises(ValidationError):
        Actor(type=ActorType.SERVICE, id="delivery", role=Role.ADMIN)
    with pytest.raises(ValidationError):
        Actor(type=ActorType.USER, id=" ", role=Role.ADMIN)


def test_changed_fields_are_the_sorted_keys_whose_values_differ() -> None:
    old = {"status": "draft", "score": 1, "gone": "x", "same": [1, 2]}
    new = {"status": "approved", "score": True, "added": None, "same": (1, 2)}
    assert changed_fields(old, new) == ("added", "gone", "score", "status")
    assert changed_fields(None, {"a": 1}) == ("a",)
    assert changed_fields({"a": 1}, {"a": 1}) == ()


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False, allow_infinity=False, width=16),
    st.sampled_from(["", "a", "A", "é", "e\u0301", "draft"]),
    st.sampled_from(list(ContentStatus)),
)
_VALUES = st.recursive(
    _SCALARS, lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner), max_leaves=5
)


@given(_VALUES, _VALUES)
def test_a_field_counts_as_changed_exactly_when_its_recorded_json_differs(
    before: object, after: object
) -> None:
    recorded = [
        json.dumps(to_json_value(v), sort_keys=True, ensure_ascii=False) for v in (before, after)
    ]
    assert (changed_fields({"f": before}, {"f": after}) == ("f",)) is (recorded[0] != recorded[1])


# Retention -------------------------------------------------------------------------------------


def test_events_are_kept_seven_years_from_their_utc_date() -> None:
    assert RETENTION_YEARS == 7
    assert draft(at=T0).retention_until == dt.date(2033, 11, 23)
    # 02:00 on 1 January in India is still 31 December in UTC.
    new_year_in_india = dt.datetime(2026, 1, 1, 2, 0, tzinfo=IST)
    assert draft(at=new_year_in_india).retention_until == dt.date(2032, 12, 31)


def test_an_event_of_29_february_is_kept_until_28_february() -> None:
    leap = dt.datetime(2024, 2, 29, 12, 0, tzinfo=dt.UTC)
    assert draft(at=leap).retention_until == dt.date(2031, 2, 28)
    assert draft(at=leap).chain(GENESIS_HASH, 1).retention_until == dt.date(2031, 2, 28)


# Verifying the chain ---------------------------------------------------------------------------


def test_an_empty_chain_is_sound_and_ends_at_genesis() -> None:
    report = verify_chain([])
    assert report.ok
    assert (report.count, report.head_hash, report.reason) == (0, GENESIS_HASH, None)


@given(chains())
def test_any_chain_built_by_chaining_drafts_verifies(events: list[AuditEvent]) -> None:
    report = verify_chain(events)
    assert report.ok, report.reason
    assert report.count == len(events)
    assert report.head_hash == (events[-1].hash if events else GENESIS_HASH)
    assert report.first_bad_id is None


@given(chains(min_size=1), st.data())
def test_altering_any_field_of_any_event_is_detected_at_exactly_that_event(
    events: list[AuditEvent], data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(events) - 1))
    field = data.draw(st.sampled_from(EVENT_FIELDS))
    tampered = altered(events[index], field)
    report = verify_chain([*events[:index], tampered, *events[index + 1 :]])
    assert not report.ok
    assert report.first_bad_id == tampered.id
    assert report.first_bad_sequence == tampered.sequence
    assert report.reason == "hash mismatch: the event was altered"
    assert report.count == index
    assert report.head_hash == (events[index - 1].hash if index else GENESIS_HASH)


@given(chains(min_size=2), st.data())
def test_removing_an_event_is_detected_at_the_event_after_it(
    events: list[AuditEvent], data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(events) - 2))
    report = verify_chain([*events[:index], *events[index + 1 :]])
    assert not report.ok
    assert report.first_bad_id == events[index + 1].id
    expected, found = index + 1, index + 2
    assert report.reason is not None
    assert report.reason.startswith(f"sequence gap: expected {expected}, found {found}")


@given(chains(min_size=2), st.data())
def test_swapping_two_events_is_detected_at_the_first_moved_one(
    events: list[AuditEvent], data: st.DataObject
) -> None:
    i = data.draw(st.integers(0, len(events) - 2))
    j = data.draw(st.integers(i + 1, len(events) - 1))
    swapped = list(events)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    report = verify_chain(swapped)
    assert not report.ok
    assert report.first_bad_id == events[j].id
    assert report.count == i


def test_a_chain_given_out_of_order_or_twice_names_the_problem() -> None:
    events = chain([draft(n) for n in range(1, 4)])
    report = verify_chain([events[0], events[1], events[1], events[2]])
    assert report.first_bad_sequence == 2
    assert report.reason is not None
    assert report.reason.startswith("sequence out of order: expected 3, found 2")


def test_an_event_relinked_to_a_forged_predecessor_is_a_broken_link() -> None:
    events = chain([draft(n) for n in range(1, 4)])
    forged = attrs.evolve(events[1], prev_hash=_flip(events[1].prev_hash))
    forged = attrs.evolve(forged, hash=event_hash(forged))  # consistent in itself
    report = verify_chain([events[0], forged, events[2]])
    assert report.first_bad_id == forged.id
    assert report.reason == (
        "prev_hash does not match the previous event (events removed or reordered)"
    )


@given(chains(min_size=1), st.data())
def test_a_stretch_of_the_chain_verifies_from_the_event_before_it(
    events: list[AuditEvent], data: st.DataObject
) -> None:
    k = data.draw(st.integers(0, len(events)))
    before = events[k - 1] if k else None
    report = verify_chain(
        events[k:],
        after_hash=before.hash if before else GENESIS_HASH,
        after_sequence=before.sequence if before else 0,
    )
    assert report.ok
    assert report.count == len(events) - k
    if 0 < k < len(events):
        # Without saying where it starts, a stretch does not link to genesis.
        assert not verify_chain(events[k:]).ok


# Digests ---------------------------------------------------------------------------------------


def all_days(events: list[AuditEvent]) -> list[dt.date]:
    first, last = events[0].day, events[-1].day
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 2)]


def test_a_digest_is_the_last_event_of_its_day_or_the_last_before_it() -> None:
    day1 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
    events = chain([draft(1, at=day1), draft(2, at=day1), draft(3, at=day1 + dt.timedelta(2))])
    assert daily_digest(events, day1.date()) == Digest(
        day=day1.date(), count=2, last_sequence=2, head_hash=events[1].hash
    )
    quiet = daily_digest(events, dt.date(2026, 11, 21))
    assert (quiet.count, quiet.last_sequence, quiet.head_hash) == (0, 2, events[1].hash)
    before = daily_digest(events, dt.date(2026, 11, 1))
    assert (before.count, before.last_sequence, before.head_hash) == (0, 0, GENESIS_HASH)


@given(chains(min_size=1))
def test_a_chain_agrees_with_its_own_digests(events: list[AuditEvent]) -> None:
    digests = [daily_digest(events, day) for day in all_days(events)]
    report = verify_against_digests(events, digests)
    assert report.ok, report.reason
    assert report.count == len(events)


@given(chains(min_size=1), st.data())
def test_digests_catch_a_chain_rewritten_and_rehashed_after_an_edit(
    events: list[AuditEvent], data: st.DataObject
) -> None:
    digests = [daily_digest(events, day) for day in all_days(events)]
    index = data.draw(st.integers(0, len(events) - 1))
    drafts = [
        AuditDraft(**{f.name: getattr(e, f.name) for f in attrs.fields(AuditDraft)}) for e in events
    ]
    drafts[index] = attrs.evolve(drafts[index], reason=(drafts[index].reason or "") + " (edited)")
    rewritten = chain(drafts)
    assert verify_chain(rewritten).ok  # the chain alone looks sound
    report = verify_against_digests(rewritten, digests)
    assert not report.ok
    assert report.reason == (
        f"digest for {events[index].day.isoformat()}: head hash differs (the chain was rewritten)"
    )


@given(chains(min_size=2), st.data())
def test_digests_catch_a_chain_cut_short(events: list[AuditEvent], data: st.DataObject) -> None:
    digests = [daily_digest(events, day) for day in all_days(events)]
    keep = data.draw(st.integers(1, len(events) - 1))
    truncated = events[:keep]
    assert verify_chain(truncated).ok
    report = verify_against_digests(truncated, digests)
    assert not report.ok
    assert report.reason is not None
    assert "missing (events were removed)" in report.reason


def test_digests_report_a_day_whose_count_differs() -> None:
    at = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
    events = chain([draft(1, at=at), draft(2, at=at)])
    wrong = attrs.evolve(daily_digest(events, at.date()), count=1)
    report = verify_against_digests(events, [wrong])
    assert report.reason == (
        "digest for 2026-11-20: 2 events on that day, the digest says 1 "
        "(events were added or removed)"
    )


def test_a_broken_chain_is_reported_before_the_digests_are_read() -> None:
    events = chain([draft(1), draft(2)])
    tampered = [events[0], altered(events[1], "reason")]
    report = verify_against_digests(tampered, [daily_digest(events, T0.date())])
    assert report.reason == "hash mismatch: the event was altered"


# The digest file -------------------------------------------------------------------------------

digests = st.builds(
    lambda day, count, extra, head: Digest(
        day=day,
        count=count,
        last_sequence=count + extra,
        head_hash=head if count + extra else GENESIS_HASH,
    ),
    day=st.dates(dt.date(2020, 1, 1), dt.date(2040, 12, 31)),
    count=st.integers(0, 10_000),
    extra=st.integers(0, 10**9),
    head=st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
)


def test_a_digest_is_one_line_of_text() -> None:
    digest = Digest(day=dt.date(2026, 11, 23), count=12, last_sequence=340, head_hash="a" * 64)
    assert digest.to_line() == f"2026-11-23 count=12 last_sequence=340 head={'a' * 64}"
    assert Digest.from_line(digest.to_line()) == digest


@given(st.lists(digests, max_size=8, unique_by=lambda d: d.day))
def test_a_digest_file_round_trips(items: list[Digest]) -> None:
    text = "# projectone audit digests\n\n" + "\n".join(d.to_line() for d in items) + "\n"
    assert parse_digest_file(text) == items


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("2026-11-23 count=x last_sequence=1 head=" + "a" * 64, "expected"),
        ("2026-02-30 count=1 last_sequence=1 head=" + "a" * 64, "not a date"),
        ("2026-11-23 count=1 last_sequence=1 head=" + "A" * 64, "expected"),
        ("2026-11-23 count=5 last_sequence=3 head=" + "a" * 64, "below"),
        ("2026-11-23 count=0 last_sequence=0 head=" + "a" * 64, "genesis"),
        ("2026-11-20 count=1 last_sequence=1 head=" + "b" * 64, "second digest"),
    ],
)
def test_a_bad_line_of_a_digest_file_is_named_by_its_number(line: str, why: str) -> None:
    text = "# digests\n2026-11-20 count=1 last_sequence=1 head=" + "a" * 64 + "\n" + line + "\n"
    with pytest.raises(ValidationError) as caught:
        parse_digest_file(text)
    assert caught.value.field == "line 3"
    assert why in caught.value.reason
