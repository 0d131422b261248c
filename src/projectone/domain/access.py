"""Who is asking, and what they may see: the principal behind an API request.

A principal is what a verified bearer token says: a subject, a role (advisor, admin or
compliance officer) and, for an advisor, the advisor account they act for. Ownership is
decided here, once, for every service: an advisor sees only their own advisor's things, and
anything else is reported as *not found* (404), never as forbidden, so that an advisor cannot
even learn that another advisor's pack or delivery exists.
"""

from __future__ import annotations

import uuid

import attrs

from projectone.domain._validate import nonblank, to_enum
from projectone.domain.audit import Actor, ActorType, Role
from projectone.domain.errors import NotFoundError, PermissionDeniedError, ValidationError

__all__ = ["API_ROLES", "MAX_SUBJECT_CHARS", "Principal", "ensure_visible", "require_role"]

#: The roles a person can hold in a token; ``system`` is projectone's own and never a token's.
API_ROLES = frozenset({Role.ADVISOR, Role.ADMIN, Role.COMPLIANCE_OFFICER})


def _role(value: object) -> Role:
    role = to_enum(Role, "role", value)
    if role not in API_ROLES:
        raise ValidationError("role", role.value, "must be advisor, admin or compliance_officer")
    return role


#: Long enough for any identity provider's subject; short enough that ``role:subject`` fits
#: the 128 characters an author or actor id may take.
MAX_SUBJECT_CHARS = 100


def _short(_: object, __: object, value: str) -> None:
    if len(value) > MAX_SUBJECT_CHARS:
        raise ValidationError(
            "subject",
            f"<{len(value)} characters>",
            f"must be at most {MAX_SUBJECT_CHARS} characters",
        )


def _advisor_id(value: object) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationError("advisor_id", value, "must be a UUID") from None


@attrs.frozen(kw_only=True)
class Principal:
    """A verified caller: ``subject`` (the token's ``sub``), ``role``, and for an advisor the
    ``advisor_id`` they act for (required for advisors, absent for the others)."""

    subject: str = attrs.field(validator=[nonblank, _short])
    role: Role = attrs.field(converter=_role)
    advisor_id: uuid.UUID | None = attrs.field(default=None, converter=_advisor_id)

    def __attrs_post_init__(self) -> None:
        if (self.role is Role.ADVISOR) != (self.advisor_id is not None):
            raise ValidationError(
                "advisor_id",
                self.advisor_id,
                "an advisor token names its advisor, and only an advisor token does",
            )

    @property
    def is_advisor(self) -> bool:
        return self.role is Role.ADVISOR

    @property
    def actor(self) -> Actor:
        """The actor its changes are recorded under. An advisor acts as ``advisor:<id>`` (the
        author id of the packs they write), whoever the subject is, so that two logins of one
        advisor account share its packs; staff act under their own subject."""
        ident = (
            f"advisor:{self.advisor_id}" if self.advisor_id else f"{self.role.value}:{self.subject}"
        )
        return Actor(type=ActorType.USER, id=ident, role=self.role)

    def sees(self, advisor_id: uuid.UUID | None) -> bool:
        """May this principal see something belonging to ``advisor_id`` (``None``: shared,
        like the fallback library)? Staff see everything; an advisor only their own."""
        return not self.is_advisor or advisor_id == self.advisor_id


def ensure_visible(
    principal: Principal, entity: str, key: object, advisor_id: uuid.UUID | None
) -> None:
    """``NotFoundError(entity, key)`` when ``principal`` may not see it: another advisor's
    things do not exist for an advisor."""
    if not principal.sees(advisor_id):
        raise NotFoundError(entity, key)


def require_role(principal: Principal, action: str, *roles: Role) -> None:
    """``PermissionDeniedError`` unless ``principal`` holds one of ``roles`` (403: the
    resource exists for everyone, the action is not theirs)."""
    if principal.role not in roles:
        names = ", ".join(sorted(r.value for r in roles))
        raise PermissionDeniedError(action, f"only {names} may")
