"""An advisor's consents under the DPDP Act 2023: given per purpose, withdrawn as easily.

Consent is kept as a history of records, one per grant: a record is given for one purpose under
one version of the privacy policy and stays active until it ends, because the advisor withdrew
it, accepted a newer policy version (superseded), or was erased. Records are only ever added or
ended, never edited or reopened, so the history shows what the advisor agreed to at any moment
(section 6(10): the data fiduciary must be able to prove consent). At most one record per
purpose is active.

The functions here are pure: the caller reads the advisor's history, passes the time and the
new ids in, and persists the records and the audit draft returned.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from projectone.domain._validate import aware, is_uuid, optional_aware, to_enum
from projectone.domain.audit import JSON, Actor, AuditDraft, Role, change_event, check_event_args
from projectone.domain.errors import PermissionDeniedError, ValidationError

__all__ = [
    "DEFAULT_POLICY_VERSION",
    "ConsentChange",
    "ConsentEnd",
    "ConsentPurpose",
    "ConsentRecord",
    "current",
    "end_all",
    "follow_whatsapp_opt_in",
    "give_consent",
    "holds",
    "registration_consents",
    "withdraw_consent",
]

#: The privacy policy version consents are given to unless configured otherwise.
DEFAULT_POLICY_VERSION = "2026-11"
_ENTITY = "advisor"


class ConsentPurpose(enum.StrEnum):
    PROCESSING = "processing"  # running the account at all: required to use the platform
    MARKETING = "marketing"
    ANALYTICS = "analytics"
    THIRD_PARTY_SHARING = "third_party_sharing"
    WHATSAPP_OPTIN = "whatsapp_optin"


class ConsentEnd(enum.StrEnum):
    WITHDRAWN = "withdrawn"
    SUPERSEDED = "superseded"  # a newer policy version was accepted for the same purpose
    ERASED = "erased"  # the person was erased


def _purpose(value: object) -> ConsentPurpose:
    return to_enum(ConsentPurpose, "purpose", value)


def _end_reason(value: object) -> ConsentEnd | None:
    return None if value is None else to_enum(ConsentEnd, "end_reason", value)


_CHANNEL = re.compile(r"[a-z0-9_]{1,32}")


def _policy_version(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    # Compared for equality to decide whether consent is already given: " v2" and "v2" must
    # not count as two versions, so surrounding whitespace is refused rather than stripped.
    if not isinstance(value, str) or not value.strip() or value != value.strip() or len(value) > 32:
        raise ValidationError(
            attribute.name, value, "must be 1 to 32 characters, not blank, no surrounding spaces"
        )


def _channel(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or _CHANNEL.fullmatch(value) is None:
        raise ValidationError(
            attribute.name, value, "must be 1 to 32 of a-z, 0-9 and _ (e.g. web, whatsapp)"
        )


@attrs.frozen(kw_only=True)
class ConsentRecord:
    """One grant of consent for ``purpose`` under ``policy_version``, given through ``channel``
    (``web``, ``app``, ``whatsapp``, ``api``, ``cli``, ``registration``, ``import``…), active
    until ``ended_at`` for ``end_reason``."""

    id: uuid.UUID = attrs.field(validator=is_uuid)
    advisor_id: uuid.UUID = attrs.field(validator=is_uuid)
    purpose: ConsentPurpose = attrs.field(converter=_purpose)
    policy_version: str = attrs.field(validator=_policy_version)
    channel: str = attrs.field(validator=_channel)
    given_at: dt.datetime = attrs.field(validator=aware)
    ended_at: dt.datetime | None = attrs.field(default=None, validator=optional_aware)
    end_reason: ConsentEnd | None = attrs.field(default=None, converter=_end_reason)

    def __attrs_post_init__(self) -> None:
        if (self.ended_at is None) != (self.end_reason is None):
            raise ValidationError(
                "end_reason", self.end_reason, "an ended consent has both an end and a reason"
            )
        if self.ended_at is not None and self.ended_at < self.given_at:
            raise ValidationError("ended_at", self.ended_at, "cannot be before given_at")

    @property
    def active(self) -> bool:
        return self.ended_at is None

    def as_dict(self) -> dict[str, JSON]:
        """The record as plain JSON data (the CLI's ``--json`` and the HTTP API's answer)."""
        return {
            "id": str(self.id),
            "purpose": self.purpose.value,
            "policy_version": self.policy_version,
            "channel": self.channel,
            "given_at": self.given_at.isoformat(),
            "ended_at": None if self.ended_at is None else self.ended_at.isoformat(),
            "end_reason": None if self.end_reason is None else self.end_reason.value,
            "active": self.active,
        }

    def ended(self, now: dt.datetime, reason: ConsentEnd) -> ConsentRecord:
        """This record ended at ``now`` for ``reason`` (it must still be active)."""
        if not self.active:
            raise ValidationError("ended_at", self.ended_at, "an ended consent never reopens")
        return attrs.evolve(self, ended_at=now, end_reason=reason)


@attrs.frozen(kw_only=True)
class ConsentChange:
    """What to persist: the record ended and/or the one added, and the audit draft."""

    records: tuple[ConsentRecord, ...]
    event: AuditDraft


# Who may give or withdraw consent: the advisor (their own only), an admin acting on their
# instruction, or the system (registration, imports). A compliance officer oversees consent
# but cannot grant or withdraw it for someone.
_MAY = frozenset({Role.ADVISOR, Role.ADMIN, Role.SYSTEM})


def _may_act(advisor_id: uuid.UUID, actor: Actor, action: str) -> None:
    if actor.role not in _MAY:
        raise PermissionDeniedError(action, "only the advisor, an admin or the system may")
    # An advisor acts as ``advisor:<id>`` (projectone.domain.access.Principal.actor).
    if actor.role is Role.ADVISOR and actor.id != f"advisor:{advisor_id}":
        raise PermissionDeniedError(action, "an advisor decides only about their own consent")


def _require_uuid(field: str, value: object) -> uuid.UUID:
    if not isinstance(value, uuid.UUID):
        raise ValidationError(field, value, "must be a UUID")
    return value


def _require_aware(field: str, value: object) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ValidationError(field, value, "must be a timezone-aware datetime")
    return value


def _records(history: Iterable[ConsentRecord]) -> tuple[ConsentRecord, ...]:
    if isinstance(history, str | bytes) or not isinstance(history, Iterable):
        raise ValidationError("history", history, "must be a sequence of ConsentRecord")
    records = tuple(history)
    for record in records:
        if not isinstance(record, ConsentRecord):
            raise ValidationError("history", record, "must be a sequence of ConsentRecord")
    return records


def _checked_history(
    history: Sequence[ConsentRecord], advisor_id: uuid.UUID
) -> tuple[ConsentRecord, ...]:
    """``history`` after checking it is one advisor's and keeps the one-active rule; a history
    breaking either would make a decision about someone else or on a corrupt state."""
    records = _records(history)
    seen: set[uuid.UUID] = set()
    active: set[ConsentPurpose] = set()
    for record in records:
        if record.advisor_id != advisor_id:
            raise ValidationError("history", record.id, "a consent of another advisor")
        if record.id in seen:
            raise ValidationError("history", record.id, "the same consent appears twice")
        seen.add(record.id)
        if record.active:
            if record.purpose in active:
                raise ValidationError(
                    "history", record.purpose.value, "two active consents for one purpose"
                )
            active.add(record.purpose)
    return records


def _active(records: Iterable[ConsentRecord], purpose: ConsentPurpose) -> ConsentRecord | None:
    return next((r for r in records if r.active and r.purpose is purpose), None)


def _values(record: ConsentRecord) -> dict[str, JSON]:
    # What the trail keeps of a consent: which purpose, under which policy, through which
    # channel; nothing personal, so the seven-year trail can outlive an erasure.
    return {
        "purpose": record.purpose.value,
        "policy_version": record.policy_version,
        "channel": record.channel,
    }


def give_consent(
    history: Sequence[ConsentRecord],
    *,
    advisor_id: uuid.UUID,
    purpose: ConsentPurpose | str,
    policy_version: str,
    channel: str,
    actor: Actor,
    now: dt.datetime,
    record_id: uuid.UUID,
    event_id: uuid.UUID,
) -> ConsentChange | None:
    """Record that the advisor consents to ``purpose`` under ``policy_version``.

    ``None`` when consent for that purpose is already active under that version (giving it
    twice records nothing). An active consent under another version is ended as superseded at
    ``now`` and the new one added: consent is specific to the policy it was given under.

    By the advisor themselves, an admin or the system. ``history`` is every consent record of
    ``advisor_id`` (ended ones may be left out)."""
    check_event_args(actor, now, event_id)
    advisor_id = _require_uuid("advisor_id", advisor_id)
    _may_act(advisor_id, actor, "give consent")
    records = _checked_history(history, advisor_id)
    # Built first so a bad version or channel is refused even when nothing would change.
    new = ConsentRecord(
        id=_require_uuid("record_id", record_id),
        advisor_id=advisor_id,
        purpose=purpose,
        policy_version=policy_version,
        channel=channel,
        given_at=now,
    )
    if any(r.id == new.id for r in records):
        raise ValidationError("record_id", record_id, "already the id of a consent")
    old = _active(records, new.purpose)
    if old is not None and old.policy_version == new.policy_version:
        return None
    persisted = (new,) if old is None else (old.ended(now, ConsentEnd.SUPERSEDED), new)
    event = change_event(
        action="consent.give",
        entity_type=_ENTITY,
        entity_id=str(advisor_id),
        old=None if old is None else _values(old),
        new=_values(new),
        actor=actor,
        now=now,
        event_id=event_id,
        always=("purpose", "policy_version", "channel"),
    )
    return ConsentChange(records=persisted, event=event)


def withdraw_consent(
    history: Sequence[ConsentRecord],
    *,
    advisor_id: uuid.UUID,
    purpose: ConsentPurpose | str,
    actor: Actor,
    now: dt.datetime,
    event_id: uuid.UUID,
    reason: str | None = None,
) -> ConsentChange | None:
    """End the advisor's active consent for ``purpose`` as withdrawn at ``now``.

    ``None`` when none is active (withdrawing twice records nothing). By the advisor
    themselves, an admin or the system; a withdrawal is never refused for the account's state,
    since the DPDP Act makes withdrawing as easy as giving (section 6(4))."""
    check_event_args(actor, now, event_id)
    advisor_id = _require_uuid("advisor_id", advisor_id)
    _may_act(advisor_id, actor, "withdraw consent")
    records = _checked_history(history, advisor_id)
    old = _active(records, _purpose(purpose))
    if old is None:
        return None
    ended = old.ended(now, ConsentEnd.WITHDRAWN)
    shown = ("purpose", "policy_version")
    event = change_event(
        action="consent.withdraw",
        entity_type=_ENTITY,
        entity_id=str(advisor_id),
        old={**{k: _values(old)[k] for k in shown}, "status": "active"},
        new={**{k: _values(ended)[k] for k in shown}, "status": ConsentEnd.WITHDRAWN.value},
        actor=actor,
        now=now,
        event_id=event_id,
        reason=reason,
        always=(*shown, "status"),
    )
    return ConsentChange(records=(ended,), event=event)


def end_all(
    history: Sequence[ConsentRecord],
    *,
    now: dt.datetime,
    reason: ConsentEnd | str = ConsentEnd.ERASED,
) -> tuple[ConsentRecord, ...]:
    """Every active record of ``history`` ended at ``now`` for ``reason`` (ended ones are left
    out: nothing to persist for them). Used by erasure, which writes its own audit event."""
    now = _require_aware("now", now)
    why = to_enum(ConsentEnd, "reason", reason)
    return tuple(r.ended(now, why) for r in _records(history) if r.active)


def current(
    history: Sequence[ConsentRecord], purpose: ConsentPurpose | str
) -> ConsentRecord | None:
    """The active record for ``purpose``, or ``None``. Should a corrupt history hold several,
    the latest given is the one that counts."""
    wanted = _purpose(purpose)
    active = [r for r in _records(history) if r.active and r.purpose is wanted]
    return max(active, key=lambda r: r.given_at, default=None)


def holds(history: Sequence[ConsentRecord], purpose: ConsentPurpose | str) -> bool:
    """Whether consent for ``purpose`` is active."""
    return current(history, purpose) is not None


def registration_consents(
    *,
    advisor_id: uuid.UUID,
    policy_version: str,
    channel: str,
    now: dt.datetime,
    ids: Iterable[uuid.UUID],
    whatsapp_opt_in: bool,
) -> tuple[ConsentRecord, ...]:
    """The consents given on registering: processing (without it there is no account) and,
    when the advisor asked for the morning messages, the WhatsApp opt-in.

    ``ids`` gives one new id per record, in that order; any beyond those needed are unused, so
    an endless source such as ``iter(uuid.uuid4, None)`` will do. The registration's own audit
    event records the opt-in."""
    now = _require_aware("now", now)
    if not isinstance(whatsapp_opt_in, bool):
        raise ValidationError("whatsapp_opt_in", whatsapp_opt_in, "must be true or false")
    purposes = [ConsentPurpose.PROCESSING]
    if whatsapp_opt_in:
        purposes.append(ConsentPurpose.WHATSAPP_OPTIN)
    source = iter(ids)
    records: list[ConsentRecord] = []
    for purpose in purposes:
        record_id = next(source, None)
        if record_id is None:
            raise ValidationError("ids", len(records), f"need {len(purposes)} ids")
        if any(r.id == record_id for r in records):
            raise ValidationError("ids", record_id, "each consent needs its own id")
        records.append(
            ConsentRecord(
                id=_require_uuid("ids", record_id),
                advisor_id=_require_uuid("advisor_id", advisor_id),
                purpose=purpose,
                policy_version=policy_version,
                channel=channel,
                given_at=now,
            )
        )
    return tuple(records)


def follow_whatsapp_opt_in(
    history: Sequence[ConsentRecord],
    *,
    advisor_id: uuid.UUID,
    was: dt.datetime | None,
    now_opted_in: dt.datetime | None,
    policy_version: str,
    channel: str,
    actor: Actor,
    now: dt.datetime,
    ids: Iterable[uuid.UUID],
) -> tuple[ConsentChange, ...]:
    """The consent records an account's WhatsApp opt-in stamp moving from ``was`` to
    ``now_opted_in`` implies (the WhatsApp integration of the advisor API sets the stamp):
    opting out withdraws the consent; opting in, or opting in again for a new number (a new
    stamp), gives it, ending one given for the old number first. ``ids`` gives the new ids.
    Nothing when the stamp did not move."""
    if was == now_opted_in:
        return ()
    source = iter(ids)
    records = list(history)
    changes: list[ConsentChange] = []
    if was is not None:
        withdrawn = withdraw_consent(
            records,
            advisor_id=advisor_id,
            purpose=ConsentPurpose.WHATSAPP_OPTIN,
            actor=actor,
            now=now,
            event_id=next(source),
            reason="opted out" if now_opted_in is None else "a new WhatsApp number",
        )
        if withdrawn is not None:
            changes.append(withdrawn)
            ended = {r.id: r for r in withdrawn.records}
            records = [ended.get(r.id, r) for r in records]
    if now_opted_in is not None:
        given = give_consent(
            records,
            advisor_id=advisor_id,
            purpose=ConsentPurpose.WHATSAPP_OPTIN,
            policy_version=policy_version,
            channel=channel,
            actor=actor,
            now=now,
            record_id=next(source),
            event_id=next(source),
        )
        if given is not None:
            changes.append(given)
    return tuple(changes)
