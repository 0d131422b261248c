"""The audit trail: append-only events chained by SHA-256 (DESIGN.md §3.5).

Every state change produces an :class:`AuditDraft`; the service appends it to the trail with
:meth:`AuditDraft.chain`, which gives it the next ``sequence`` and links it to the previous
event's hash. Changing, removing or reordering any stored event breaks the chain from that event
on, and :func:`verify_chain` names the first broken event. Rewriting the whole chain from some
point on (recomputing every later hash) is caught by comparing it with daily digests kept
elsewhere (:func:`verify_against_digests`).

How to recompute an event's hash (the recipe an outside auditor follows):

1. Build a JSON object with exactly these keys (every field of the event except ``hash``):

   - ``"id"``: the event id as lowercase hyphenated UUID text (``str(uuid)``);
   - ``"sequence"``: the 1-based position in the chain, a JSON integer;
   - ``"prev_hash"``: the previous event's ``hash`` (64 lowercase hex digits; 64 zeros for the
     first event, :data:`GENESIS_HASH`);
   - ``"occurred_at"``: the instant in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00`` (always six
     fractional digits, always the ``+00:00`` offset, never ``Z``);
   - ``"actor"``: ``{"id": …, "role": …, "type": …}`` (the enum values as text);
   - ``"action"``, ``"entity_type"``, ``"entity_id"``: text;
   - ``"old_values"``, ``"new_values"``: the JSON objects as stored, or ``null``;
   - ``"changed_fields"``: the list of field names in stored order;
   - ``"reason"``, ``"request_id"``: text or ``null``.

2. Normalise every string in it (object keys and values, at any depth) to Unicode NFC.

3. Serialise it exactly as Python's ``json.dumps(doc, sort_keys=True, separators=(",", ":"),
   ensure_ascii=False, allow_nan=False)`` does: keys sorted by Unicode code point at every
   level, no whitespace, non-ASCII characters written as themselves, ``"`` and ``\\`` and
   control characters escaped (``\\n``, ``\\t``, … and ``\\u00XX``, lowercase hex), integers in
   decimal, floats in Python's shortest round-trip ``repr`` (``1.0``, ``1e-07``), ``true``,
   ``false``, ``null``. Encode the text as UTF-8: that is the *canonical form*.

4. ``hash = sha256(prev_hash as 64 ASCII bytes + canonical form).hexdigest()`` (lowercase).

Floats are the one place where another JSON library may print differently; the values
projectone records avoid them (scores are integers, timestamps and ids are text).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import hashlib
import json
import math
import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias

import attrs

from projectone.domain._validate import (
    aware,
    hex64,
    is_uuid,
    nonblank,
    optional_text,
    require_hex64,
    require_whole_number,
    to_enum,
    whole_number,
)
from projectone.domain.errors import ValidationError

__all__ = [
    "GENESIS_HASH",
    "JSON",
    "RETENTION_YEARS",
    "Actor",
    "ActorType",
    "AuditDraft",
    "AuditEvent",
    "ChainReport",
    "Digest",
    "Role",
    "canonical_form",
    "change_event",
    "changed_fields",
    "check_event_args",
    "daily_digest",
    "event_hash",
    "parse_digest_file",
    "retention_date",
    "snapshot",
    "to_json_value",
    "verify_against_digests",
    "verify_chain",
]

JSON: TypeAlias = "str | int | float | bool | list[JSON] | dict[str, JSON] | None"

# The hash the first event of a chain links to.
GENESIS_HASH = "0" * 64
# SEBI: audit records are kept for seven years.
RETENTION_YEARS = 7


class ActorType(enum.StrEnum):
    USER = "user"
    SYSTEM = "system"
    SERVICE = "service"


class Role(enum.StrEnum):
    ADVISOR = "advisor"
    ADMIN = "admin"
    COMPLIANCE_OFFICER = "compliance_officer"
    SYSTEM = "system"


def _actor_type(value: object) -> ActorType:
    return to_enum(ActorType, "actor.type", value)


def _role(value: object) -> Role:
    return to_enum(Role, "actor.role", value)


@attrs.frozen(kw_only=True)
class Actor:
    """Who did something: a signed-in user, projectone itself, or another service.

    A ``user`` never carries the ``system`` role and a ``system``/``service`` actor always does,
    so a guard that trusts "role system" (auto-approval, delivery) cannot be met by a person.
    """

    type: ActorType = attrs.field(converter=_actor_type)
    id: str = attrs.field(validator=nonblank)
    role: Role = attrs.field(converter=_role)

    def __attrs_post_init__(self) -> None:
        machine = self.type is not ActorType.USER
        if machine != (self.role is Role.SYSTEM):
            raise ValidationError(
                "actor.role",
                self.role.value,
                "system and service actors have the system role, and only they do",
            )

    @classmethod
    def system(cls, id: str = "projectone") -> Actor:
        """projectone itself (the scheduler, the auto-approver)."""
        return cls(type=ActorType.SYSTEM, id=id, role=Role.SYSTEM)

    def as_json(self) -> dict[str, JSON]:
        return {"id": self.id, "role": self.role.value, "type": self.type.value}


def _utc_text(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def to_json_value(value: object, field: str = "value") -> JSON:
    """``value`` as plain JSON data, for an event's ``old_values``/``new_values``.

    Aware datetimes become UTC text in the canonical form (``…T06:00:00.000000+00:00``), dates
    and times ISO text, UUIDs and decimals text, enums their value, tuples and sets lists (sets
    sorted, so equal sets record alike). Anything else, a naive datetime, a non-finite float or
    a non-text mapping key raises ``ValidationError`` naming ``field``.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return to_json_value(value.value, field)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(field, value, "JSON has no NaN or infinity")
        return float(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValidationError(field, value, "must be a timezone-aware datetime")
        return _utc_text(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ValidationError(field, value, "JSON has no NaN or infinity")
        return str(value)
    if isinstance(value, Mapping):
        return _json_object(value, field)
    if isinstance(value, list | tuple):
        return [to_json_value(item, f"{field}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, set | frozenset):
        items = [to_json_value(item, f"{field}[]") for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    raise ValidationError(field, value, f"a {type(value).__name__} is not a JSON value")


def _json_object(value: Mapping[Any, Any], field: str) -> dict[str, JSON]:
    out: dict[str, JSON] = {}
    seen: set[str] = set()
    for key, item in value.items():
        name = key.value if isinstance(key, enum.Enum) else key
        if not isinstance(name, str):
            raise ValidationError(field, key, "keys of a JSON object must be text")
        # Keys are NFC-normalised when hashed: two that normalise alike would hash as one.
        normal = unicodedata.normalize("NFC", name)
        if normal in seen:
            raise ValidationError(field, key, "two keys are the same text once NFC-normalised")
        seen.add(normal)
        out[str(name)] = to_json_value(item, f"{field}.{name}")
    return out


def _old_values(value: Mapping[Any, Any] | None) -> dict[str, JSON] | None:
    return None if value is None else _values("old_values", value)


def _new_values(value: Mapping[Any, Any] | None) -> dict[str, JSON] | None:
    return None if value is None else _values("new_values", value)


def _values(field: str, value: object) -> dict[str, JSON]:
    if not isinstance(value, Mapping):
        raise ValidationError(field, value, "must be a mapping of field names to values")
    return _json_object(value, field)


def _field_names(value: Iterable[Any]) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("changed_fields", value, "must be a list of field names")
    names = tuple(value)
    for name in names:
        if not isinstance(name, str) or not name:
            raise ValidationError("changed_fields", name, "a field name must be non-empty text")
    return names


def retention_date(occurred_at: dt.datetime) -> dt.date:
    """The UTC date of ``occurred_at`` plus :data:`RETENTION_YEARS` (29 February → 28 February),
    the first day on which the record may be purged."""
    day = occurred_at.astimezone(dt.UTC).date()
    try:
        return day.replace(year=day.year + RETENTION_YEARS)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + RETENTION_YEARS, day=28)


def _is_actor(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Actor):
        raise ValidationError(attribute.name, value, "must be an Actor")


@attrs.frozen(kw_only=True)
class _Record:
    """The fields a draft and a chained event share (everything but the chain position)."""

    id: uuid.UUID = attrs.field(validator=is_uuid)
    occurred_at: dt.datetime = attrs.field(validator=aware)
    actor: Actor = attrs.field(validator=_is_actor)
    action: str = attrs.field(validator=nonblank)
    entity_type: str = attrs.field(validator=nonblank)
    entity_id: str = attrs.field(validator=nonblank)
    old_values: Mapping[str, JSON] | None = attrs.field(converter=_old_values)
    new_values: Mapping[str, JSON] | None = attrs.field(converter=_new_values)
    changed_fields: tuple[str, ...] = attrs.field(converter=_field_names)
    reason: str | None = attrs.field(default=None, validator=optional_text)
    request_id: str | None = attrs.field(default=None, validator=optional_text)

    @property
    def retention_until(self) -> dt.date:
        """The date from which this record may be purged (seven years, SEBI)."""
        return retention_date(self.occurred_at)

    @property
    def day(self) -> dt.date:
        """The UTC date this happened on (the unit of a :class:`Digest`)."""
        return self.occurred_at.astimezone(dt.UTC).date()


@attrs.frozen(kw_only=True)
class AuditDraft(_Record):
    """What a state change records, before it takes its place in the chain.

    Domain transitions return drafts because only the service, holding the trail's last event
    inside its unit of work, knows the next sequence number and the hash to link to.
    ``old_values``/``new_values`` are normalised with :func:`to_json_value` on construction.
    """

    def chain(self, prev_hash: str, sequence: int) -> AuditEvent:
        """This draft as event number ``sequence`` following the event hashed ``prev_hash``."""
        return AuditEvent(
            **{f.name: getattr(self, f.name) for f in attrs.fields(_Record)},
            sequence=sequence,
            prev_hash=prev_hash,
            hash=_hash_of(self, prev_hash, sequence),
        )


@attrs.frozen(kw_only=True)
class AuditEvent(_Record):
    """A stored event: a draft plus its position in the chain and its hash.

    Constructing one does not check ``hash``: events are read back as stored, tampered or not,
    and :func:`verify_chain` is what judges them.
    """

    sequence: int = attrs.field(validator=whole_number(1))
    prev_hash: str = attrs.field(validator=hex64)
    hash: str = attrs.field(validator=hex64)


def _nfc(value: JSON) -> JSON:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [_nfc(item) for item in value]
    if isinstance(value, dict):
        return {unicodedata.normalize("NFC", k): _nfc(v) for k, v in value.items()}
    return value


def _document(record: _Record, prev_hash: str, sequence: int) -> bytes:
    doc: dict[str, JSON] = {
        "id": str(record.id),
        "sequence": sequence,
        "prev_hash": prev_hash,
        "occurred_at": _utc_text(record.occurred_at),
        "actor": record.actor.as_json(),
        "action": record.action,
        "entity_type": record.entity_type,
        "entity_id": record.entity_id,
        "old_values": None if record.old_values is None else dict(record.old_values),
        "new_values": None if record.new_values is None else dict(record.new_values),
        "changed_fields": list(record.changed_fields),
        "reason": record.reason,
        "request_id": record.request_id,
    }
    text = json.dumps(
        _nfc(doc), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def _hash_of(record: _Record, prev_hash: str, sequence: int) -> str:
    require_hex64("prev_hash", prev_hash)
    require_whole_number("sequence", sequence, 1)
    body = _document(record, prev_hash, sequence)
    return hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()


def canonical_form(event: AuditEvent) -> bytes:
    """The UTF-8 bytes hashed for ``event`` (steps 1–3 of the module's recipe)."""
    return _document(event, event.prev_hash, event.sequence)


def event_hash(event: AuditEvent) -> str:
    """What ``event.hash`` must be: sha256(prev_hash ASCII bytes + canonical form), hex."""
    return _hash_of(event, event.prev_hash, event.sequence)


_MISSING = object()


def changed_fields(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The sorted names whose values differ between ``old`` and ``new``.

    A name present on one side only counts as changed. Values are compared as the JSON they
    will be recorded as, so ``1`` and ``True`` differ and a datetime equals its UTC text.
    """
    before = old or {}
    after = new or {}
    names = set(before) | set(after)
    return tuple(
        sorted(
            name
            for name in names
            if not _same(before.get(name, _MISSING), after.get(name, _MISSING))
        )
    )


# Types whose Python equality is exactly equality of their JSON text (not float: 0.0 == -0.0;
# not a str subclass such as an enum member, whose JSON is its value).
_PLAIN = frozenset({str, int, bool, type(None)})


def _same(a: object, b: object) -> bool:
    # Most fields of a snapshot are unchanged plain values: comparing those directly spares
    # two JSON encodings per field (marking a morning's packs delivered compares ~18 each).
    if type(a) is type(b) and type(a) in _PLAIN:
        return a == b
    return _comparable(a) == _comparable(b)


def _comparable(value: object) -> object:
    if value is _MISSING:
        return _MISSING
    return json.dumps(to_json_value(value), sort_keys=True, ensure_ascii=False)


def check_event_args(actor: object, now: object, event_id: object) -> None:
    """What every workflow step checks first: who acts, when (aware) and the new event's id."""
    if not isinstance(actor, Actor):
        raise ValidationError("actor", actor, "must be an Actor")
    if not isinstance(now, dt.datetime) or now.tzinfo is None:
        raise ValidationError("now", now, "must be a timezone-aware datetime")
    if not isinstance(event_id, uuid.UUID):
        raise ValidationError("event_id", event_id, "must be a UUID")


def snapshot(entity: object, fields: Iterable[str]) -> dict[str, JSON]:
    """The ``fields`` of ``entity`` as the JSON values an event records."""
    return {name: to_json_value(getattr(entity, name), name) for name in fields}


def change_event(
    *,
    action: str,
    entity_type: str,
    entity_id: str,
    old: Mapping[str, JSON] | None,
    new: Mapping[str, JSON],
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    reason: str | None = None,
    always: Iterable[str] = ("status",),
) -> AuditDraft:
    """The draft recording that an entity went from snapshot ``old`` to ``new``.

    Both sides keep only the fields that changed, plus the ``always`` ones (by default the
    status, so every event says which state it was taken in). ``old`` is ``None`` for a new
    entity: the event has no old values and records every field of ``new``.
    """
    changed = changed_fields(old, new)
    keep = {*always, *changed}
    return AuditDraft(
        id=event_id,
        occurred_at=now,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        old_values=None if old is None else {k: v for k, v in old.items() if k in keep},
        new_values={k: v for k, v in new.items() if k in keep},
        changed_fields=changed,
        reason=reason,
    )


@attrs.frozen(kw_only=True)
class ChainReport:
    """The outcome of checking a chain.

    ``count`` is the number of events that checked out before the first bad one (all of them
    when ``ok``), and ``head_hash`` the hash of the last of those (the starting hash when none).
    ``reason`` is stable text meant for people, ``None`` when ``ok``.
    """

    ok: bool
    count: int
    head_hash: str
    first_bad_id: uuid.UUID | None = None
    first_bad_sequence: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, JSON]:
        """The report as plain JSON data (the CLI's ``--json`` and the HTTP API's answer)."""
        return {
            "ok": self.ok,
            "count": self.count,
            "head_hash": self.head_hash,
            "first_bad_id": None if self.first_bad_id is None else str(self.first_bad_id),
            "first_bad_sequence": self.first_bad_sequence,
            "reason": self.reason,
        }


_ALTERED = "hash mismatch: the event was altered"
_RELINKED = "prev_hash does not match the previous event (events removed or reordered)"


def _link_problem(event: AuditEvent, prev_hash: str, prev_sequence: int) -> str | None:
    # The hash first: any edited field, sequence and prev_hash included, is reported as an
    # alteration of this event rather than as a broken link.
    if event_hash(event) != event.hash:
        return _ALTERED
    expected = prev_sequence + 1
    if event.sequence > expected:
        return (
            f"sequence gap: expected {expected}, found {event.sequence} "
            "(an event was removed or events were reordered)"
        )
    if event.sequence < expected:
        return (
            f"sequence out of order: expected {expected}, found {event.sequence} "
            "(events were reordered or repeated)"
        )
    if event.prev_hash != prev_hash:
        return _RELINKED
    return None


def verify_chain(
    events: Iterable[AuditEvent],
    *,
    after_hash: str = GENESIS_HASH,
    after_sequence: int = 0,
) -> ChainReport:
    """Walk ``events`` in the given order (callers pass them by sequence) and report the first
    one that was altered, or whose link to its predecessor is broken.

    The walk normally starts at the beginning of the chain; pass the hash and sequence of the
    event just before the first one given (``after_hash``, ``after_sequence``) to check a
    stretch of it, e.g. only what was appended since the last verification.
    """
    require_hex64("after_hash", after_hash)
    require_whole_number("after_sequence", after_sequence, 0)
    head, sequence, count = after_hash, after_sequence, 0
    for event in events:
        problem = _link_problem(event, head, sequence)
        if problem is not None:
            return ChainReport(
                ok=False,
                count=count,
                head_hash=head,
                first_bad_id=event.id,
                first_bad_sequence=event.sequence,
                reason=problem,
            )
        head, sequence, count = event.hash, event.sequence, count + 1
    return ChainReport(ok=True, count=count, head_hash=head)


_DIGEST_LINE = re.compile(
    r"(?P<day>\d{4}-\d{2}-\d{2}) count=(?P<count>\d+) "
    r"last_sequence=(?P<last>\d+) head=(?P<head>[0-9a-f]{64})"
)


def _day(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ValidationError(attribute.name, value, "must be a date")


@attrs.frozen(kw_only=True)
class Digest:
    """The state of the chain at the end of a UTC day, kept outside the audit table.

    A digest is small enough to print, mail or commit somewhere the database's owner cannot
    rewrite; a chain recomputed from some event on after the fact no longer ends in the heads
    the digests remember. ``head_hash``/``last_sequence`` are those of the day's last event, or
    of the last event before the day when it had none (``GENESIS_HASH`` and 0 before any event).
    """

    day: dt.date = attrs.field(validator=_day)
    count: int = attrs.field(validator=whole_number(0))
    last_sequence: int = attrs.field(validator=whole_number(0))
    head_hash: str = attrs.field(validator=hex64)

    def __attrs_post_init__(self) -> None:
        if self.last_sequence < self.count:
            raise ValidationError(
                "last_sequence", self.last_sequence, "cannot be below the day's event count"
            )
        if self.last_sequence == 0 and self.head_hash != GENESIS_HASH:
            raise ValidationError("head_hash", self.head_hash, "an empty chain's head is genesis")

    def to_line(self) -> str:
        """``2026-11-23 count=12 last_sequence=340 head=<64 hex>``."""
        return (
            f"{self.day.isoformat()} count={self.count} "
            f"last_sequence={self.last_sequence} head={self.head_hash}"
        )

    @classmethod
    def from_line(cls, line: str) -> Digest:
        """Parse :meth:`to_line`'s form (surrounding whitespace ignored)."""
        if not isinstance(line, str):
            raise ValidationError("digest", line, "must be text")
        match = _DIGEST_LINE.fullmatch(line.strip())
        if match is None:
            raise ValidationError(
                "digest",
                line,
                "expected 'YYYY-MM-DD count=N last_sequence=N head=<64 lowercase hex>'",
            )
        try:
            day = dt.date.fromisoformat(match["day"])
        except ValueError:
            raise ValidationError("digest", line, f"{match['day']} is not a date") from None
        return cls(
            day=day,
            count=int(match["count"]),
            last_sequence=int(match["last"]),
            head_hash=match["head"],
        )


def parse_digest_file(text: str) -> list[Digest]:
    """The digests of a file holding one :meth:`Digest.to_line` per line.

    Blank lines and lines starting with ``#`` are skipped. A bad line, or a day given twice,
    raises ``ValidationError`` whose ``field`` is ``"line N"`` (1-based).
    """
    digests: list[Digest] = []
    seen: set[dt.date] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            digest = Digest.from_line(stripped)
        except ValidationError as exc:
            raise ValidationError(f"line {number}", line, exc.reason) from None
        if digest.day in seen:
            raise ValidationError(f"line {number}", line, f"a second digest for {digest.day}")
        seen.add(digest.day)
        digests.append(digest)
    return digests


def daily_digest(events: Iterable[AuditEvent], day: dt.date) -> Digest:
    """The digest of ``day`` (UTC) over ``events`` (normally the whole chain up to that day)."""
    on_day: AuditEvent | None = None
    before: AuditEvent | None = None
    count = 0
    for event in events:
        if event.day == day:
            count += 1
            if on_day is None or event.sequence > on_day.sequence:
                on_day = event
        elif event.day < day and (before is None or event.sequence > before.sequence):
            before = event
    last = on_day or before
    return Digest(
        day=day,
        count=count,
        last_sequence=0 if last is None else last.sequence,
        head_hash=GENESIS_HASH if last is None else last.hash,
    )


def verify_against_digests(
    events: Sequence[AuditEvent],
    digests: Iterable[Digest],
    *,
    after_hash: str = GENESIS_HASH,
    after_sequence: int = 0,
) -> ChainReport:
    """:func:`verify_chain` over the whole chain, then check it against earlier digests.

    For each digest (earliest day first) the event numbered ``last_sequence`` must exist and
    carry ``head_hash``, and the chain must hold ``count`` events on that day. This catches what
    a chain check alone cannot: a chain rewritten and rehashed from some event on, or cut short.
    On a digest mismatch ``count``/``head_hash`` describe the whole (internally sound) chain and
    ``first_bad_*`` name the event the digest pins, when it exists.

    After a retention purge the chain starts after ``after_sequence`` (the anchor): digests of
    days wholly before it describe events that were deleted on purpose and are not checked;
    the day the anchor falls on is not either, as part of it is gone.
    """
    report = verify_chain(events, after_hash=after_hash, after_sequence=after_sequence)
    if not report.ok:
        return report
    by_sequence = {event.sequence: event for event in events}
    per_day: dict[dt.date, int] = {}
    for event in events:
        per_day[event.day] = per_day.get(event.day, 0) + 1

    def failed(digest: Digest, pinned: AuditEvent | None, why: str) -> ChainReport:
        return attrs.evolve(
            report,
            ok=False,
            first_bad_id=None if pinned is None else pinned.id,
            first_bad_sequence=None if pinned is None else pinned.sequence,
            reason=f"digest for {digest.day.isoformat()}: {why}",
        )

    purged_through = next((e.day for e in events), None) if after_sequence else None
    for digest in sorted(digests, key=lambda d: d.day):
        if purged_through is not None and digest.day <= purged_through:
            continue
        pinned = by_sequence.get(digest.last_sequence)
        if digest.last_sequence > 0:
            if pinned is None:
                why = f"event {digest.last_sequence} is missing (events were removed)"
                return failed(digest, None, why)
            if pinned.hash != digest.head_hash:
                return failed(digest, pinned, "head hash differs (the chain was rewritten)")
        found = per_day.get(digest.day, 0)
        if found != digest.count:
            why = (
                f"{found} events on that day, the digest says {digest.count} "
                "(events were added or removed)"
            )
            return failed(digest, pinned, why)
    return report
