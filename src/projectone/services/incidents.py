"""Compliance incidents: opened by an admin (or by the workflow), worked to resolution.

Each action is one unit of work holding the incident's change and its audit event.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence

import attrs

from projectone.domain import incident as rules
from projectone.domain.audit import Actor
from projectone.domain.incident import (
    Incident,
    IncidentChange,
    IncidentSeverity,
    IncidentStatus,
    IncidentType,
)
from projectone.ports.clock import Clock, IdGenerator
from projectone.ports.unit_of_work import UnitOfWorkFactory

__all__ = ["IncidentService"]

_Step = Callable[[Incident, dt.datetime, uuid.UUID], IncidentChange]


@attrs.define
class IncidentService:
    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator

    async def report(
        self,
        actor: Actor,
        *,
        title: str,
        description: str = "",
        severity: IncidentSeverity = IncidentSeverity.HIGH,
        type: IncidentType = IncidentType.ADMIN_REPORT,
        pack_id: uuid.UUID | None = None,
        advisor_id: uuid.UUID | None = None,
        assignee_id: str | None = None,
        request_id: str | None = None,
    ) -> Incident:
        """Open an incident by hand (an admin's report about a pack and/or an advisor)."""
        change = rules.open_incident(
            incident_id=self.ids.new_id(),
            type=type,
            severity=severity,
            title=title,
            description=description,
            actor=actor,
            now=self.clock.now(),
            event_id=self.ids.new_id(),
            pack_id=pack_id,
            advisor_id=advisor_id,
            assignee_id=assignee_id,
        )
        async with self.uow_factory() as uow:
            if pack_id is not None:
                await uow.content.get(pack_id)
            if advisor_id is not None:
                await uow.advisors.get(advisor_id)
            await uow.incidents.add(change.incident)
            await uow.audit.append([attrs.evolve(change.event, request_id=request_id)])
            await uow.commit()
        return change.incident

    async def assign(
        self,
        incident_id: uuid.UUID,
        actor: Actor,
        assignee_id: str,
        *,
        request_id: str | None = None,
    ) -> Incident:
        return await self._apply(
            incident_id,
            request_id,
            lambda i, now, e: rules.assign(i, actor, now, e, assignee_id),
        )

    async def investigate(
        self, incident_id: uuid.UUID, actor: Actor, *, request_id: str | None = None
    ) -> Incident:
        return await self._apply(
            incident_id, request_id, lambda i, now, e: rules.investigate(i, actor, now, e)
        )

    async def escalate(
        self,
        incident_id: uuid.UUID,
        actor: Actor,
        reason: str | None = None,
        *,
        request_id: str | None = None,
    ) -> Incident:
        return await self._apply(
            incident_id,
            request_id,
            lambda i, now, e: rules.escalate(i, actor, now, e, reason),
        )

    async def resolve(
        self,
        incident_id: uuid.UUID,
        actor: Actor,
        actions: Sequence[str],
        *,
        request_id: str | None = None,
    ) -> Incident:
        return await self._apply(
            incident_id,
            request_id,
            lambda i, now, e: rules.resolve(i, actor, now, e, actions),
        )

    async def close(
        self, incident_id: uuid.UUID, actor: Actor, *, request_id: str | None = None
    ) -> Incident:
        return await self._apply(
            incident_id, request_id, lambda i, now, e: rules.close(i, actor, now, e)
        )

    async def list(
        self, *, status: IncidentStatus | None = None, pack_id: uuid.UUID | None = None
    ) -> Sequence[Incident]:
        async with self.uow_factory() as uow:
            return await uow.incidents.list(status=status, pack_id=pack_id)

    async def _apply(self, incident_id: uuid.UUID, request_id: str | None, step: _Step) -> Incident:
        async with self.uow_factory() as uow:
            incident = await uow.incidents.get(incident_id)
            change = step(incident, self.clock.now(), self.ids.new_id())
            await uow.incidents.update(change.incident)
            await uow.audit.append([attrs.evolve(change.event, request_id=request_id)])
            await uow.commit()
        return change.incident
