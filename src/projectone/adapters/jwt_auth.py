"""Bearer tokens for the HTTP API: a JWT verifier (PyJWT) and a helper that issues tokens.

:class:`JwtVerifier` implements the ``TokenVerifier`` port. What it guards against, and how:

* **Exactly one algorithm.** HS256 when a secret is configured, RS256 when a public key is.
  The token's ``alg`` header is compared with that one algorithm and never used to choose a
  key or an algorithm, which defeats ``alg: none`` and HS/RS confusion (an attacker signing
  HS256 with the RSA public key as the HMAC secret).
* **Fail closed.** Without a key every token is refused; a key that cannot be used (an
  unreadable PEM, a private key where a public key belongs, a short RSA key) is a
  ``ConfigurationError`` when the verifier is built, not a surprise at the first request.
* **No fetching.** ``kid``, ``jku``, ``x5u``, ``jwk`` and ``x5c`` headers are ignored: the key
  is the configured one and nothing is ever downloaded. Critical header extensions
  (``crit``, ``b64``) are refused.
* **Strict parsing before any trust.** A token is three non-empty base64url segments (no
  padding, no whitespace) of bounded length; header and payload are strict JSON objects (no
  duplicate keys, no ``NaN``), so what is verified is what is read.
* **Time from the injected clock.** PyJWT reads the system clock, so it checks only the
  signature here; ``exp``, ``iat`` and ``nbf`` are checked against the ``Clock`` port with the
  configured leeway (the same comparisons PyJWT makes).
* **Claims that make a principal.** ``sub``, ``role`` (advisor, admin or compliance officer,
  never ``system``), ``exp`` and ``iat`` are required; ``advisor_id`` (a UUID) is required for
  an advisor and refused for staff; ``iss`` and ``aud`` are required and checked when
  configured (``aud`` a string or a list of strings).

Every refusal is ``UnauthenticatedError("bearer token", reason)`` with a short reason that
never repeats the token, a claim value from it, or the key.

**A small cache of verified tokens.** A dashboard sends the same token with every request, and
verifying it (parsing, HMAC, claims) costs ~50 us of a request's CPU. What a token proves
depends only on its exact text and this verifier's fixed configuration, except for time: so
a token that verified is remembered by its exact text (at most ``cache_size`` of them, the
oldest dropped first), and a hit still checks ``exp``, ``iat`` and ``nbf`` against the clock
as above; an entry is dropped once its token has expired. Refused tokens are never cached,
so what is refused is refused exactly as without the cache. ``cache_size=0`` turns it off.

:func:`issue_token` signs a token (HS256 with a secret, RS256 with a PEM RSA private key) for
tests, the demo, and embedders who mint their own tokens.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final, Protocol

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from projectone.adapters._http import JsonRefused, load_strict_json
from projectone.domain.access import API_ROLES, Principal
from projectone.domain.audit import Role
from projectone.domain.errors import ConfigurationError, UnauthenticatedError, ValidationError
from projectone.ports.clock import Clock

__all__ = [
    "DEFAULT_TOKEN_CACHE_SIZE",
    "MAX_TOKEN_LENGTH",
    "MIN_RSA_KEY_BITS",
    "JwtKeySettings",
    "JwtVerifier",
    "issue_token",
]

#: What every refusal is about (``UnauthenticatedError.what``).
_WHAT: Final = "bearer token"
#: The environment variables a configuration error names.
_SECRET_KEY: Final = "PROJECTONE_JWT_SECRET"
_PUBLIC_KEY: Final = "PROJECTONE_JWT_PUBLIC_KEY"
#: Longer tokens are refused before any decoding (a bound on the work a request can cause).
MAX_TOKEN_LENGTH: Final = 8192
#: RS256 keys shorter than this are refused when the verifier is built (RFC 7518 §3.3).
MIN_RSA_KEY_BITS: Final = 2048
#: HS256 secrets shorter than this are refused (RFC 7518 §3.2).
_MIN_SECRET_BYTES: Final = 32
#: Longest ``sub`` accepted: it ends up in audit records and logs.
_MAX_SUBJECT_LENGTH: Final = 255
#: Verified tokens remembered per verifier (a few MB at most: tokens are under 8 KiB and
#: typically ~300 bytes).
DEFAULT_TOKEN_CACHE_SIZE: Final = 4096

_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: Header parameters that would change how the token is read; none is supported.
_CRITICAL_HEADERS: Final = ("crit", "b64")


class JwtKeySettings(Protocol):
    """What :class:`JwtVerifier` reads from ``projectone.settings.JwtSettings`` (structurally, so
    that this adapter does not import the settings module)."""

    @property
    def secret(self) -> str | None: ...

    @property
    def public_key(self) -> str | None: ...

    @property
    def issuer(self) -> str | None: ...

    @property
    def audience(self) -> str | None: ...

    @property
    def leeway_seconds(self) -> float: ...


def _refuse(reason: str) -> UnauthenticatedError:
    return UnauthenticatedError(_WHAT, reason)


def _load_public_key(pem: str) -> rsa.RSAPublicKey:
    text = pem.strip()
    if "\n" not in text and "\\n" in text:  # a PEM squeezed into one environment variable
        text = text.replace("\\n", "\n")
    if "PRIVATE KEY" in text:
        raise ConfigurationError(_PUBLIC_KEY, "is a private key; give the RSA public key (PEM)")
    try:
        key = serialization.load_pem_public_key(text.encode())
    except (ValueError, TypeError, UnicodeError):
        raise ConfigurationError(_PUBLIC_KEY, "is not a readable PEM public key") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ConfigurationError(_PUBLIC_KEY, "must be an RSA public key (RS256)")
    if key.key_size < MIN_RSA_KEY_BITS:
        raise ConfigurationError(
            _PUBLIC_KEY, f"the RSA key has {key.key_size} bits; at least {MIN_RSA_KEY_BITS}"
        )
    return key


def _load_secret(secret: str) -> bytes:
    data = secret.encode()
    if len(data) < _MIN_SECRET_BYTES:
        raise ConfigurationError(
            _SECRET_KEY, f"must be at least {_MIN_SECRET_BYTES} bytes (RFC 7518 §3.2 for HS256)"
        )
    try:
        jwt.get_algorithm_by_name("HS256").prepare_key(data)
    except jwt.InvalidKeyError:  # PyJWT refuses a PEM key as an HMAC secret
        raise ConfigurationError(
            _SECRET_KEY, f"looks like a PEM key; an RSA public key belongs in {_PUBLIC_KEY}"
        ) from None
    return data


def _b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _json_object(segment: str, part: str) -> dict[str, Any]:
    try:
        value = load_strict_json(_b64url_decode(segment).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, JsonRefused):
        raise _refuse(f"the {part} is not base64url JSON") from None
    if not isinstance(value, dict):
        raise _refuse(f"the {part} is not a JSON object")
    return value


def _number(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if value is None:
        raise _refuse(f"claim {name!r} is missing")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _refuse(f"claim {name!r} must be a number of seconds")
    return float(value)


class JwtVerifier:
    """Verifies bearer JWTs and maps them to a :class:`Principal` (the ``TokenVerifier`` port).

    Give ``secret`` (HS256, at least 32 bytes) or ``public_key`` (RS256, PEM text), not both;
    with neither, every token is refused. ``issuer`` and ``audience``, when given, are required
    in every token. ``leeway`` is the clock skew allowed on ``exp``, ``iat`` and ``nbf``; the
    current time comes from ``clock``. ``cache_size`` verified tokens are remembered (see the
    module's documentation; 0 for none).
    """

    def __init__(
        self,
        *,
        clock: Clock,
        secret: str | None = None,
        public_key: str | None = None,
        issuer: str | None = None,
        audience: str | None = None,
        leeway: dt.timedelta = dt.timedelta(seconds=30),
        cache_size: int = DEFAULT_TOKEN_CACHE_SIZE,
    ) -> None:
        secret = secret or None
        public_key = public_key if public_key and public_key.strip() else None
        if secret is not None and public_key is not None:
            raise ConfigurationError(
                _SECRET_KEY, f"set either it (HS256) or {_PUBLIC_KEY} (RS256), not both"
            )
        if leeway < dt.timedelta(0):
            raise ConfigurationError("PROJECTONE_JWT_LEEWAY_SECONDS", "must not be negative")
        self._clock = clock
        self._key: bytes | rsa.RSAPublicKey | None
        self._algorithm: str | None
        if secret is not None:
            self._key, self._algorithm = _load_secret(secret), "HS256"
        elif public_key is not None:
            self._key, self._algorithm = _load_public_key(public_key), "RS256"
        else:
            self._key, self._algorithm = None, None
        self._issuer = issuer or None
        self._audience = audience or None
        self._leeway = leeway.total_seconds()
        self._jws = jwt.PyJWS(algorithms=[self._algorithm] if self._algorithm else [])
        self._cache_size = max(0, cache_size)
        # Token text -> (principal, exp, iat, nbf), oldest first: only tokens that verified.
        self._verified: dict[str, tuple[Principal, float, float, float | None]] = {}

    @classmethod
    def from_settings(cls, settings: JwtKeySettings, *, clock: Clock) -> JwtVerifier:
        """A verifier configured by ``JwtSettings`` (``PROJECTONE_JWT_*``)."""
        return cls(
            clock=clock,
            secret=settings.secret,
            public_key=settings.public_key,
            issuer=settings.issuer,
            audience=settings.audience,
            leeway=dt.timedelta(seconds=settings.leeway_seconds),
        )

    @property
    def algorithm(self) -> str | None:
        """``HS256``, ``RS256``, or ``None`` when no key is configured (every token refused)."""
        return self._algorithm

    def verify(self, token: str) -> Principal:
        """The principal ``token`` proves; ``UnauthenticatedError`` otherwise."""
        if not isinstance(token, str) or not token:
            raise _refuse("no token was given")
        hit = self._verified.get(token)
        if hit is not None:
            return self._recheck(token, *hit)
        if self._key is None or self._algorithm is None:
            raise _refuse("no verification key is configured, so no token is accepted")
        if len(token) > MAX_TOKEN_LENGTH:
            raise _refuse(f"longer than {MAX_TOKEN_LENGTH} characters")
        if _COMPACT.fullmatch(token) is None:
            raise _refuse("not a signed JWT (three base64url parts)")
        header_segment, payload_segment, _ = token.split(".")
        header = _json_object(header_segment, "header")
        if header.get("alg") != self._algorithm:
            raise _refuse(f"the algorithm is not accepted (only {self._algorithm})")
        if any(name in header for name in _CRITICAL_HEADERS):
            raise _refuse("critical header extensions are not supported")
        try:
            self._jws.decode_complete(token, key=self._key, algorithms=[self._algorithm])
        except jwt.InvalidAlgorithmError:
            raise _refuse(f"the algorithm is not accepted (only {self._algorithm})") from None
        except jwt.InvalidSignatureError:
            raise _refuse("the signature does not verify") from None
        except jwt.PyJWTError:
            raise _refuse("not a valid signed JWT") from None
        # Signed by our key: the payload (the very bytes that were verified) can be read.
        claims = _json_object(payload_segment, "payload")
        expires, issued, not_before = self._check_time(claims)
        self._check_issuer_and_audience(claims)
        principal = self._principal(claims)
        self._remember(token, (principal, expires, issued, not_before))
        return principal

    def _recheck(
        self,
        token: str,
        principal: Principal,
        expires: float,
        issued: float,
        not_before: float | None,
    ) -> Principal:
        """A remembered token: everything but time was checked when it was verified."""
        now = self._clock.now().timestamp()
        try:
            self._check_span(now, expires, issued)
            self._check_start(now, not_before)
        except UnauthenticatedError:
            if expires <= now - self._leeway:
                self._verified.pop(token, None)  # never again valid
            raise
        return principal

    def _remember(self, token: str, entry: tuple[Principal, float, float, float | None]) -> None:
        if self._cache_size == 0:
            return
        while len(self._verified) >= self._cache_size:
            del self._verified[next(iter(self._verified))]  # the oldest
        self._verified[token] = entry

    def _check_time(self, claims: Mapping[str, Any]) -> tuple[float, float, float | None]:
        """Refuse a token outside its validity; its ``exp``, ``iat`` and ``nbf`` otherwise."""
        now = self._clock.now().timestamp()
        expires = _number(claims, "exp")
        issued = _number(claims, "iat")
        self._check_span(now, expires, issued)
        not_before = _number(claims, "nbf") if "nbf" in claims else None
        self._check_start(now, not_before)
        return expires, issued, not_before

    def _check_span(self, now: float, expires: float, issued: float) -> None:
        if expires <= now - self._leeway:
            raise _refuse("the token has expired")
        if issued > now + self._leeway:
            raise _refuse("the token was issued in the future")

    def _check_start(self, now: float, not_before: float | None) -> None:
        if not_before is not None and not_before > now + self._leeway:
            raise _refuse("the token is not valid yet")

    def _check_issuer_and_audience(self, claims: Mapping[str, Any]) -> None:
        if self._issuer is not None:
            if "iss" not in claims:
                raise _refuse("claim 'iss' is missing")
            if claims["iss"] != self._issuer:
                raise _refuse("the token is from another issuer")
        if self._audience is not None:
            if "aud" not in claims:
                raise _refuse("claim 'aud' is missing")
            audience = claims["aud"]
            if isinstance(audience, str):
                audience = [audience]
            if not isinstance(audience, list) or not all(isinstance(a, str) for a in audience):
                raise _refuse("claim 'aud' must be a string or a list of strings")
            if self._audience not in audience:
                raise _refuse("the token is for another audience")

    def _principal(self, claims: Mapping[str, Any]) -> Principal:
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject.strip():
            raise _refuse("claim 'sub' must be non-empty text")
        if len(subject) > _MAX_SUBJECT_LENGTH:
            raise _refuse(f"claim 'sub' is longer than {_MAX_SUBJECT_LENGTH} characters")
        role_value = claims.get("role")
        allowed = ", ".join(sorted(r.value for r in API_ROLES))
        if not isinstance(role_value, str) or role_value not in {r.value for r in API_ROLES}:
            raise _refuse(f"claim 'role' must be one of {allowed}")
        role = Role(role_value)
        advisor_id: uuid.UUID | None = None
        if role is Role.ADVISOR:
            given = claims.get("advisor_id")
            if given is None:
                raise _refuse("an advisor token must name its advisor_id")
            if not isinstance(given, str) or _CANONICAL_UUID.fullmatch(given.lower()) is None:
                raise _refuse("claim 'advisor_id' must be a UUID")
            advisor_id = uuid.UUID(given)
        elif "advisor_id" in claims:
            raise _refuse("only an advisor token may carry advisor_id")
        try:
            return Principal(subject=subject, role=role, advisor_id=advisor_id)
        except ValidationError as exc:  # a subject too long to record, say
            raise _refuse(f"the claims do not make a principal ({exc.field})") from None


def issue_token(
    key: str | JwtKeySettings,
    *,
    subject: str,
    role: Role | str,
    now: dt.datetime,
    advisor_id: uuid.UUID | str | None = None,
    ttl: dt.timedelta = dt.timedelta(minutes=15),
    issuer: str | None = None,
    audience: str | Sequence[str] | None = None,
    algorithm: str | None = None,
    claims: Mapping[str, object] | None = None,
) -> str:
    """Sign a bearer token: ``sub``, ``role``, ``iat`` (``now``), ``exp`` (``now + ttl``), and
    ``advisor_id``, ``iss``, ``aud`` when given; ``claims`` are added last (and win).

    ``key`` is an HS256 secret, a PEM RSA private key (RS256), or settings holding a
    ``secret`` (their ``issuer`` and ``audience`` then fill in those not given). ``algorithm``
    defaults to what the key implies. It signs what it is told: a token it issues is accepted
    only if it makes a valid principal for the verifier that reads it.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if isinstance(key, str):
        signing_key = key
    else:
        if not key.secret:
            raise ConfigurationError(
                _SECRET_KEY, "a public key cannot sign; pass the RSA private key (PEM) instead"
            )
        signing_key = key.secret
        issuer = issuer if issuer is not None else key.issuer
        audience = audience if audience is not None else key.audience
    if algorithm is None:
        algorithm = "RS256" if signing_key.lstrip().startswith("-----BEGIN") else "HS256"
    if algorithm.lower() == "none":
        raise ValueError("refusing to issue an unsigned token")
    issued_at = int(now.timestamp())
    payload: dict[str, object] = {
        "sub": subject,
        "role": role.value if isinstance(role, Role) else role,
        "iat": issued_at,
        "exp": issued_at + int(ttl.total_seconds()),
    }
    if advisor_id is not None:
        payload["advisor_id"] = str(advisor_id)
    if issuer is not None:
        payload["iss"] = issuer
    if audience is not None:
        payload["aud"] = audience if isinstance(audience, str) else list(audience)
    payload.update(claims or {})
    return jwt.encode(payload, signing_key, algorithm=algorithm)
