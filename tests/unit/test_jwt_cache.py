"""The verifier's cache of verified tokens: it saves the work, never a check.

A remembered token is still refused once expired (and forgotten), before its ``nbf``, or
when the clock moves back before its ``iat``; refused tokens are never remembered; the cache
is keyed by the exact token text and bounded.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from projectone.adapters import jwt_auth
from projectone.adapters.jwt_auth import JwtVerifier, issue_token
from projectone.domain.audit import Role
from projectone.domain.errors import UnauthenticatedError
from projectone.testing.fakes import ManualClock

NOW = dt.datetime(2025, 11, 24, 6, 0, tzinfo=dt.UTC)
SECRET = "cache-test-secret-" + "0123456789abcdef" * 2
ADVISOR_ID = uuid.UUID("6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b")
LEEWAY = dt.timedelta(seconds=30)


def token(*, ttl: dt.timedelta = dt.timedelta(minutes=15), **claims: object) -> str:
    return issue_token(
        SECRET,
        subject="user-1",
        role=Role.ADVISOR,
        advisor_id=ADVISOR_ID,
        now=NOW,
        ttl=ttl,
        claims=claims,
    )


def verifier(clock: ManualClock, **kwargs: object) -> JwtVerifier:
    return JwtVerifier(clock=clock, secret=SECRET, leeway=LEEWAY, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token the verifier fully decodes (signature and claims), in order."""
    seen: list[str] = []
    decode = jwt_auth.JwtVerifier.verify

    def spy(self: JwtVerifier, value: str) -> object:
        if value not in self._verified:
            seen.append(value)
        return decode(self, value)

    monkeypatch.setattr(jwt_auth.JwtVerifier, "verify", spy)
    return seen


def test_a_verified_token_is_not_decoded_again(decodes: list[str]) -> None:
    v = verifier(ManualClock(NOW))
    good = token()
    first = v.verify(good)
    assert v.verify(good) == first
    assert v.verify(good) is first
    assert decodes == [good]


def test_a_remembered_token_is_refused_once_expired_and_forgotten() -> None:
    clock = ManualClock(NOW)
    v = verifier(clock)
    good = token(ttl=dt.timedelta(minutes=5))
    v.verify(good)
    clock.advance(dt.timedelta(minutes=5) + LEEWAY)
    with pytest.raises(UnauthenticatedError, match="expired"):
        v.verify(good)
    assert good not in v._verified
    clock.set(NOW)  # a clock set back does not bring it back from the cache either way
    assert v.verify(good).advisor_id == ADVISOR_ID


def test_a_remembered_token_is_refused_before_its_nbf_and_iat() -> None:
    clock = ManualClock(NOW + dt.timedelta(minutes=2))
    v = verifier(clock)
    later = token(nbf=int(NOW.timestamp()) + 60)
    v.verify(later)
    clock.set(NOW)  # back before nbf - leeway (and iat is NOW: still fine)
    with pytest.raises(UnauthenticatedError, match="not valid yet"):
        v.verify(later)
    clock.set(NOW - dt.timedelta(minutes=5))  # before iat - leeway
    with pytest.raises(UnauthenticatedError, match="issued in the future"):
        v.verify(later)
    clock.set(NOW + dt.timedelta(minutes=2))
    assert v.verify(later).subject == "user-1"


def test_refused_tokens_are_never_remembered(decodes: list[str]) -> None:
    v = verifier(ManualClock(NOW))
    good = token()
    header, payload, signature = good.split(".")
    forged = f"{header}.{payload}.{signature[:-2]}AA"
    for _ in range(2):
        with pytest.raises(UnauthenticatedError, match="signature"):
            v.verify(forged)
    assert decodes == [forged, forged]
    assert v._verified == {}


def test_the_exact_text_is_the_key() -> None:
    v = verifier(ManualClock(NOW))
    good = token()
    v.verify(good)
    for near in (good + " ", " " + good, good.upper(), good[:-1]):
        with pytest.raises(UnauthenticatedError):
            v.verify(near)


def test_the_cache_is_bounded_and_can_be_off(decodes: list[str]) -> None:
    v = verifier(ManualClock(NOW), cache_size=2)
    tokens = [token(n=n) for n in range(3)]
    for t in tokens:
        v.verify(t)
    assert list(v._verified) == tokens[1:]  # the oldest went first
    off = verifier(ManualClock(NOW), cache_size=0)
    decodes.clear()
    off.verify(tokens[0])
    off.verify(tokens[0])
    assert decodes == [tokens[0], tokens[0]]


def test_a_verifier_without_a_key_refuses_everything_still() -> None:
    v = JwtVerifier(clock=ManualClock(NOW))
    for _ in range(2):
        with pytest.raises(UnauthenticatedError, match="no verification key"):
            v.verify(token())
