"""Bearer JWTs: good tokens become principals, and every known attack is refused.

Time comes from a ManualClock (nothing sleeps). RSA keys are generated when the tests run;
none is committed. Attack tokens that PyJWT would refuse to produce (``alg: none``, HS256
keyed with a PEM) are put together by hand, byte by byte.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import json
import socket
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projectone.adapters.jwt_auth import (
    MAX_TOKEN_LENGTH,
    JwtVerifier,
    issue_token,
)
from projectone.domain.access import Principal
from projectone.domain.audit import Role
from projectone.domain.errors import ConfigurationError, UnauthenticatedError
from projectone.ports.auth import TokenVerifier
from projectone.settings import JwtSettings
from projectone.testing.fakes import ManualClock

NOW = dt.datetime(2025, 11, 24, 6, 0, tzinfo=dt.UTC)
SECRET = "s3cr3t-for-tests-only-" + "0123456789abcdef" * 3  # long enough for HS512 too
OTHER_SECRET = "another-secret-for-tests-0123456789abcdef"
ISSUER = "https://auth.projectone.test/"
AUDIENCE = "projectone-api"
ADVISOR_ID = uuid.UUID("6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b")
LEEWAY = dt.timedelta(seconds=30)


# --- keys and token crafting ---------------------------------------------------------------


@functools.cache
def rsa_private_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def private_pem(bits: int = 2048) -> str:
    return (
        rsa_private_key(bits)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def public_pem(bits: int = 2048) -> str:
    return (
        rsa_private_key(bits)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: object) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def hs256_by_hand(header: object, payload: str | object, key: bytes) -> str:
    """An HS256 token signed with ``key`` whatever it is (PyJWT refuses a PEM as a secret)."""
    body = payload if isinstance(payload, str) else b64json(payload)
    signing_input = f"{b64json(header)}.{body}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def claims(
    role: Role | str = Role.ADMIN, *, advisor_id: uuid.UUID | None = None, **extra: Any
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "sub": "user-42",
        "role": role.value if isinstance(role, Role) else role,
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + dt.timedelta(minutes=15)).timestamp()),
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    if advisor_id is not None:
        payload["advisor_id"] = str(advisor_id)
    payload.update(extra)
    return {k: v for k, v in payload.items() if v is not None}


def without(payload: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in names}


def hs_token(payload: dict[str, Any], secret: str = SECRET, **headers: Any) -> str:
    return jwt.encode(payload, secret, algorithm="HS256", headers=headers or None)


def rs_token(payload: dict[str, Any], algorithm: str = "RS256", **headers: Any) -> str:
    return jwt.encode(payload, private_pem(), algorithm=algorithm, headers=headers or None)


def good_token(now: dt.datetime = NOW, **kwargs: Any) -> str:
    return issue_token(
        SECRET,
        subject="user-42",
        role=Role.ADMIN,
        now=now,
        issuer=ISSUER,
        audience=AUDIENCE,
        **kwargs,
    )


# --- verifiers --------------------------------------------------------------------------------


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


def hs_verifier(clock: ManualClock, **kwargs: Any) -> JwtVerifier:
    options: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, "leeway": LEEWAY}
    options.update(kwargs)
    return JwtVerifier(clock=clock, secret=SECRET, **options)


def rs_verifier(clock: ManualClock, **kwargs: Any) -> JwtVerifier:
    options: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, "leeway": LEEWAY}
    options.update(kwargs)
    return JwtVerifier(clock=clock, public_key=public_pem(), **options)


@pytest.fixture
def hs(clock: ManualClock) -> JwtVerifier:
    return hs_verifier(clock)


@pytest.fixture
def rs(clock: ManualClock) -> JwtVerifier:
    return rs_verifier(clock)


def refusal(verifier: JwtVerifier, token: str) -> str:
    with pytest.raises(UnauthenticatedError) as caught:
        verifier.verify(token)
    assert caught.value.what == "bearer token"
    return caught.value.reason


ROLES = [
    (Role.ADVISOR, ADVISOR_ID),
    (Role.ADMIN, None),
    (Role.COMPLIANCE_OFFICER, None),
]


# --- good tokens ------------------------------------------------------------------------------


def test_the_verifier_satisfies_the_token_verifier_port(hs: JwtVerifier) -> None:
    port: TokenVerifier = hs
    assert port.verify(good_token()).role is Role.ADMIN


@pytest.mark.parametrize(("role", "advisor_id"), ROLES)
def test_an_hs256_token_for_each_role_maps_to_its_principal(
    hs: JwtVerifier, role: Role, advisor_id: uuid.UUID | None
) -> None:
    token = issue_token(
        SECRET,
        subject="user-42",
        role=role,
        advisor_id=advisor_id,
        now=NOW,
        issuer=ISSUER,
        audience=AUDIENCE,
    )
    assert hs.verify(token) == Principal(subject="user-42", role=role, advisor_id=advisor_id)


@pytest.mark.parametrize(("role", "advisor_id"), ROLES)
def test_an_rs256_token_for_each_role_maps_to_its_principal(
    rs: JwtVerifier, role: Role, advisor_id: uuid.UUID | None
) -> None:
    token = issue_token(
        private_pem(),
        subject="user-42",
        role=role,
        advisor_id=advisor_id,
        now=NOW,
        issuer=ISSUER,
        audience=AUDIENCE,
    )
    assert rs.algorithm == "RS256"
    assert rs.verify(token) == Principal(subject="user-42", role=role, advisor_id=advisor_id)


def test_a_verifier_built_from_settings_checks_their_issuer_audience_and_leeway(
    clock: ManualClock,
) -> None:
    jwt_settings = JwtSettings(secret=SECRET, issuer=ISSUER, audience=AUDIENCE, leeway_seconds=5.0)
    verifier = JwtVerifier.from_settings(jwt_settings, clock=clock)
    token = issue_token(jwt_settings, subject="ops", role="compliance_officer", now=NOW)
    assert verifier.algorithm == "HS256"
    assert verifier.verify(token).role is Role.COMPLIANCE_OFFICER
    clock.advance(dt.timedelta(minutes=15, seconds=4))
    assert verifier.verify(token).subject == "ops"
    clock.advance(dt.timedelta(seconds=1))
    assert refusal(verifier, token) == "the token has expired"


def test_a_verifier_built_from_settings_with_a_public_key_checks_rs256(
    clock: ManualClock,
) -> None:
    verifier = JwtVerifier.from_settings(JwtSettings(public_key=public_pem()), clock=clock)
    token = issue_token(private_pem(), subject="root", role=Role.ADMIN, now=NOW)
    assert verifier.verify(token) == Principal(subject="root", role=Role.ADMIN)


def test_a_public_key_given_on_one_line_with_escaped_newlines_is_read(
    clock: ManualClock,
) -> None:
    one_line = public_pem().strip().replace("\n", "\\n")
    verifier = JwtVerifier(clock=clock, public_key=one_line)
    token = issue_token(private_pem(), subject="root", role=Role.ADMIN, now=NOW)
    assert verifier.verify(token).subject == "root"


def test_issuer_and_audience_are_not_required_when_not_configured(clock: ManualClock) -> None:
    verifier = JwtVerifier(clock=clock, secret=SECRET)
    token = hs_token(without(claims(), "iss", "aud"))
    assert verifier.verify(token).subject == "user-42"


def test_an_audience_list_that_names_ours_is_accepted(hs: JwtVerifier) -> None:
    token = hs_token(claims(aud=["billing", AUDIENCE]))
    assert hs.verify(token).role is Role.ADMIN


def test_a_token_within_the_leeway_after_expiry_is_still_accepted(
    hs: JwtVerifier, clock: ManualClock
) -> None:
    token = good_token(ttl=dt.timedelta(minutes=5))
    clock.advance(dt.timedelta(minutes=5) + LEEWAY - dt.timedelta(seconds=1))
    assert hs.verify(token).subject == "user-42"


def test_a_token_issued_slightly_ahead_within_the_leeway_is_accepted(hs: JwtVerifier) -> None:
    token = good_token(now=NOW + LEEWAY)
    assert hs.verify(token).subject == "user-42"


def test_a_key_id_header_is_ignored_and_the_configured_key_decides(hs: JwtVerifier) -> None:
    token = hs_token(claims(), kid="key-2025-11")
    assert hs.verify(token).subject == "user-42"


def test_a_token_with_extra_claims_still_maps_to_the_same_principal(hs: JwtVerifier) -> None:
    token = good_token(claims={"jti": "abc", "name": "Asha", "nbf": int(NOW.timestamp())})
    assert hs.verify(token) == Principal(subject="user-42", role=Role.ADMIN)


# --- time -------------------------------------------------------------------------------------


def test_an_expired_token_is_refused(hs: JwtVerifier, clock: ManualClock) -> None:
    token = good_token(ttl=dt.timedelta(minutes=5))
    clock.advance(dt.timedelta(minutes=5) + LEEWAY)
    assert refusal(hs, token) == "the token has expired"


def test_a_token_not_yet_valid_is_refused(hs: JwtVerifier) -> None:
    nbf = int((NOW + dt.timedelta(minutes=2)).timestamp())
    assert refusal(hs, hs_token(claims(nbf=nbf))) == "the token is not valid yet"


def test_a_token_becomes_valid_at_its_not_before_less_the_leeway(
    hs: JwtVerifier, clock: ManualClock
) -> None:
    token = hs_token(claims(nbf=int((NOW + dt.timedelta(minutes=2)).timestamp())))
    clock.advance(dt.timedelta(minutes=2) - LEEWAY)
    assert hs.verify(token).subject == "user-42"


def test_a_token_issued_in_the_future_is_refused(hs: JwtVerifier) -> None:
    token = good_token(now=NOW + LEEWAY + dt.timedelta(seconds=1))
    assert refusal(hs, token) == "the token was issued in the future"


@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_a_token_without_exp_or_iat_is_refused(hs: JwtVerifier, claim: str) -> None:
    assert refusal(hs, hs_token(without(claims(), claim))) == f"claim {claim!r} is missing"


@pytest.mark.parametrize("value", ["1763965800", True, None, [1], {"t": 1}])
def test_a_time_claim_that_is_not_a_number_is_refused(hs: JwtVerifier, value: object) -> None:
    payload = claims()
    payload["exp"] = value
    reason = refusal(hs, hs_token(payload))
    assert "exp" in reason


def test_a_not_before_that_is_not_a_number_is_refused(hs: JwtVerifier) -> None:
    reason = refusal(hs, hs_token(claims(nbf="soon")))
    assert reason == "claim 'nbf' must be a number of seconds"


# --- issuer and audience ----------------------------------------------------------------------


def test_a_token_from_another_issuer_is_refused(hs: JwtVerifier) -> None:
    token = hs_token(claims(iss="https://evil.example/"))
    assert refusal(hs, token) == "the token is from another issuer"


def test_a_token_for_another_audience_is_refused(hs: JwtVerifier) -> None:
    token = hs_token(claims(aud="someone-else"))
    assert refusal(hs, token) == "the token is for another audience"


def test_an_audience_list_that_does_not_name_ours_is_refused(hs: JwtVerifier) -> None:
    token = hs_token(claims(aud=["billing", "reports"]))
    assert refusal(hs, token) == "the token is for another audience"


@pytest.mark.parametrize("aud", [42, [AUDIENCE, 7], {"aud": AUDIENCE}])
def test_an_audience_of_the_wrong_shape_is_refused(hs: JwtVerifier, aud: object) -> None:
    assert "aud" in refusal(hs, hs_token(claims(aud=aud)))


@pytest.mark.parametrize("claim", ["iss", "aud"])
def test_a_token_missing_a_configured_iss_or_aud_is_refused(hs: JwtVerifier, claim: str) -> None:
    assert refusal(hs, hs_token(without(claims(), claim))) == f"claim {claim!r} is missing"


# --- algorithms -------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", ""])
@pytest.mark.parametrize("kind", ["hs", "rs"])
def test_an_unsigned_alg_none_token_is_refused(clock: ManualClock, alg: str, kind: str) -> None:
    verifier = hs_verifier(clock) if kind == "hs" else rs_verifier(clock)
    header = b64json({"alg": alg, "typ": "JWT"})
    unsigned = f"{header}.{b64json(claims(Role.ADMIN))}."
    assert refusal(verifier, unsigned) == "not a signed JWT (three base64url parts)"
    # …and with some signature bytes attached, the header alone gets it refused.
    with_signature = unsigned + "c2ln"
    reason = refusal(verifier, with_signature)
    assert reason.startswith("the algorithm is not accepted")


def test_an_alg_none_token_is_refused_by_a_verifier_with_no_issuer_or_audience(
    clock: ManualClock,
) -> None:
    verifier = JwtVerifier(clock=clock, secret=SECRET)
    unsigned = f"{b64json({'alg': 'none', 'typ': 'JWT'})}.{b64json(claims())}."
    refusal(verifier, unsigned)


def test_an_hs256_token_keyed_with_the_rsa_public_key_is_refused_by_an_rs256_verifier(
    rs: JwtVerifier,
) -> None:
    """HS/RS confusion: the public key is public, so an HMAC keyed with it proves nothing."""
    forged = hs256_by_hand(
        {"alg": "HS256", "typ": "JWT"}, claims(Role.ADMIN), public_pem().encode()
    )
    assert refusal(rs, forged) == "the algorithm is not accepted (only RS256)"


def test_an_rs256_token_is_refused_by_an_hs256_verifier(hs: JwtVerifier) -> None:
    assert refusal(hs, rs_token(claims())) == "the algorithm is not accepted (only HS256)"


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_another_hmac_algorithm_with_the_right_secret_is_refused(hs: JwtVerifier, alg: str) -> None:
    token = jwt.encode(claims(), SECRET, algorithm=alg)
    assert refusal(hs, token) == "the algorithm is not accepted (only HS256)"


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256"])
def test_another_rsa_algorithm_with_the_right_key_is_refused(rs: JwtVerifier, alg: str) -> None:
    assert refusal(rs, rs_token(claims(), algorithm=alg)) == (
        "the algorithm is not accepted (only RS256)"
    )


def test_a_header_without_alg_is_refused(hs: JwtVerifier) -> None:
    token = hs256_by_hand({"typ": "JWT"}, claims(), SECRET.encode())
    assert refusal(hs, token).startswith("the algorithm is not accepted")


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "HS256", "crit": ["exp"], "exp": 1},
        {"alg": "HS256", "b64": False, "crit": ["b64"]},
        {"alg": "HS256", "b64": True},
    ],
)
def test_critical_header_extensions_are_refused(hs: JwtVerifier, header: dict[str, Any]) -> None:
    token = hs256_by_hand(header, claims(), SECRET.encode())
    assert refusal(hs, token) == "critical header extensions are not supported"


def test_key_url_headers_never_make_it_fetch_anything(
    rs: JwtVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An attacker's own key, announced by URL and embedded: refused, and no socket opened."""
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attacker_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key()))

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the verifier tried to reach the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    token = jwt.encode(
        claims(),
        attacker,
        algorithm="RS256",
        headers={
            "kid": "attacker",
            "jku": "https://attacker.example/jwks.json",
            "x5u": "https://attacker.example/cert.pem",
            "jwk": attacker_jwk,
        },
    )
    assert refusal(rs, token) == "the signature does not verify"


# --- tampering and garbage --------------------------------------------------------------------


def test_a_tampered_payload_keeping_the_old_signature_is_refused(hs: JwtVerifier) -> None:
    token = issue_token(
        SECRET,
        subject="user-42",
        role=Role.COMPLIANCE_OFFICER,
        now=NOW,
        issuer=ISSUER,
        audience=AUDIENCE,
    )
    header, _, signature = token.split(".")
    promoted = f"{header}.{b64json(claims(Role.ADMIN))}.{signature}"
    assert refusal(hs, promoted) == "the signature does not verify"


def test_an_rs256_payload_tampered_into_another_advisor_is_refused(rs: JwtVerifier) -> None:
    token = rs_token(claims(Role.ADVISOR, advisor_id=ADVISOR_ID))
    header, _, signature = token.split(".")
    other = claims(Role.ADVISOR, advisor_id=uuid.UUID(int=1))
    assert refusal(rs, f"{header}.{b64json(other)}.{signature}") == (
        "the signature does not verify"
    )


@pytest.mark.parametrize("kind", ["hs", "rs"])
def test_a_tampered_signature_is_refused(clock: ManualClock, kind: str) -> None:
    verifier = hs_verifier(clock) if kind == "hs" else rs_verifier(clock)
    token = hs_token(claims()) if kind == "hs" else rs_token(claims())
    header, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0x01
    assert refusal(verifier, f"{header}.{payload}.{b64url(bytes(raw))}") == (
        "the signature does not verify"
    )


def test_a_token_with_a_truncated_signature_is_refused(hs: JwtVerifier) -> None:
    token = good_token()
    assert refusal(hs, token[:-10]) in {
        "the signature does not verify",
        "not a valid signed JWT",
    }


def test_a_token_signed_with_another_secret_is_refused(hs: JwtVerifier) -> None:
    token = hs_token(claims(), secret=OTHER_SECRET)
    assert refusal(hs, token) == "the signature does not verify"


def test_a_token_signed_by_another_rsa_key_is_refused(rs: JwtVerifier) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), other, algorithm="RS256")
    assert refusal(rs, token) == "the signature does not verify"


@pytest.mark.parametrize(
    "garbage",
    [
        "not-a-jwt",
        "a.b",
        "a.b.c.d",
        "...",
        "a..c",
        "Bearer abc.def.ghi",
        "eyJhbGciOiJIUzI1NiJ9.e30=.c2ln",
        "ключ.ключ.ключ",
        "a.b.c\n",
        "abcde.fghij.klmno",
        "e30.e30.e30",
        "W10.e30.c2ln",
    ],
)
def test_garbage_is_refused(hs: JwtVerifier, garbage: str) -> None:
    refusal(hs, garbage)


def test_a_valid_token_with_surrounding_whitespace_is_refused(hs: JwtVerifier) -> None:
    assert refusal(hs, f" {good_token()} ") == "not a signed JWT (three base64url parts)"


@pytest.mark.parametrize("token", ["", None, b"abc.def.ghi"])
def test_a_missing_or_empty_token_is_refused(hs: JwtVerifier, token: Any) -> None:
    assert refusal(hs, token) == "no token was given"


def test_an_overlong_token_is_refused_before_decoding(hs: JwtVerifier) -> None:
    token = good_token(claims={"pad": "x" * MAX_TOKEN_LENGTH})
    assert refusal(hs, token) == f"longer than {MAX_TOKEN_LENGTH} characters"


def test_a_signed_payload_that_is_not_a_json_object_is_refused(hs: JwtVerifier) -> None:
    token = hs256_by_hand({"alg": "HS256"}, b64json(["sub", "admin"]), SECRET.encode())
    assert refusal(hs, token) == "the payload is not a JSON object"


def test_a_signed_payload_with_a_duplicate_claim_is_refused(hs: JwtVerifier) -> None:
    """Two ``role`` claims: what one parser keeps another may not, so neither is trusted."""
    body = json.dumps(claims(Role.COMPLIANCE_OFFICER))[:-1] + ', "role": "admin"}'
    token = hs256_by_hand({"alg": "HS256"}, b64url(body.encode()), SECRET.encode())
    assert refusal(hs, token) == "the payload is not base64url JSON"


def test_a_header_with_a_duplicate_alg_is_refused(hs: JwtVerifier) -> None:
    header = b64url(b'{"alg":"none","alg":"HS256"}')
    signing_input = f"{header}.{b64json(claims())}"
    signature = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{b64url(signature)}"
    assert refusal(hs, token) == "the header is not base64url JSON"


# --- claims that do not make a principal ------------------------------------------------------


def test_an_advisor_token_without_advisor_id_is_refused(hs: JwtVerifier) -> None:
    token = hs_token(claims(Role.ADVISOR))
    assert refusal(hs, token) == "an advisor token must name its advisor_id"


@pytest.mark.parametrize(
    "advisor_id",
    [
        "not-a-uuid",
        42,
        "6f1c2a8e3b4d4e5f8a9b0c1d2e3f4a5b",
        "{6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b}",
        "urn:uuid:6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
    ],
)
def test_an_advisor_id_that_is_not_a_uuid_is_refused(hs: JwtVerifier, advisor_id: object) -> None:
    payload = claims(Role.ADVISOR)
    payload["advisor_id"] = advisor_id
    assert refusal(hs, hs_token(payload)) == "claim 'advisor_id' must be a UUID"


@pytest.mark.parametrize("role", [Role.ADMIN, Role.COMPLIANCE_OFFICER])
def test_a_staff_token_with_an_advisor_id_is_refused(hs: JwtVerifier, role: Role) -> None:
    token = hs_token(claims(role, advisor_id=ADVISOR_ID))
    assert refusal(hs, token) == "only an advisor token may carry advisor_id"


@pytest.mark.parametrize("role", ["system", "superuser", "ADMIN", "", None, 1, ["admin"]])
def test_a_system_unknown_or_malformed_role_is_refused(hs: JwtVerifier, role: object) -> None:
    payload = claims()
    payload["role"] = role
    assert refusal(hs, hs_token(payload)).startswith("claim 'role' must be one of")


def test_a_token_without_a_role_is_refused(hs: JwtVerifier) -> None:
    assert refusal(hs, hs_token(without(claims(), "role"))).startswith("claim 'role'")


@pytest.mark.parametrize("sub", [None, "", "   ", 42, ["user"], "x" * 256])
def test_a_missing_blank_or_malformed_subject_is_refused(hs: JwtVerifier, sub: object) -> None:
    payload = claims()
    payload["sub"] = sub
    assert refusal(hs, hs_token(payload)).startswith("claim 'sub'")


def test_an_advisor_token_with_an_uppercase_uuid_maps_to_that_advisor(hs: JwtVerifier) -> None:
    payload = claims(Role.ADVISOR)
    payload["advisor_id"] = str(ADVISOR_ID).upper()
    assert hs.verify(hs_token(payload)).advisor_id == ADVISOR_ID


# --- configuration ----------------------------------------------------------------------------


def test_without_a_key_every_token_is_refused(clock: ManualClock) -> None:
    verifier = JwtVerifier.from_settings(JwtSettings(), clock=clock)
    assert verifier.algorithm is None
    for token in (good_token(), rs_token(claims()), f"{b64json({'alg': 'none'})}.{b64json({})}."):
        assert refusal(verifier, token) == (
            "no verification key is configured, so no token is accepted"
        )


def test_a_blank_public_key_counts_as_no_key(clock: ManualClock) -> None:
    verifier = JwtVerifier(clock=clock, public_key="  \n")
    assert verifier.algorithm is None
    refusal(verifier, good_token())


@pytest.mark.parametrize(
    "pem",
    [
        "not a pem at all",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ],
)
def test_an_unreadable_public_key_is_a_configuration_error(clock: ManualClock, pem: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        JwtVerifier(clock=clock, public_key=pem)
    assert caught.value.key == "PROJECTONE_JWT_PUBLIC_KEY"


def test_a_private_key_in_place_of_the_public_key_is_a_configuration_error(
    clock: ManualClock,
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        JwtVerifier(clock=clock, public_key=private_pem())
    assert caught.value.key == "PROJECTONE_JWT_PUBLIC_KEY"
    assert "BEGIN" not in str(caught.value)


def test_a_short_rsa_key_is_a_configuration_error(clock: ManualClock) -> None:
    with pytest.raises(ConfigurationError) as caught:
        JwtVerifier(clock=clock, public_key=public_pem(1024))
    assert caught.value.key == "PROJECTONE_JWT_PUBLIC_KEY"
    assert "1024 bits" in caught.value.reason


def test_a_non_rsa_public_key_is_a_configuration_error(clock: ManualClock) -> None:
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(ConfigurationError) as caught:
        JwtVerifier(clock=clock, public_key=ec_pem)
    assert caught.value.reason == "must be an RSA public key (RS256)"


def test_a_short_secret_is_a_configuration_error(clock: ManualClock) -> None:
    with pytest.raises(ConfigurationError) as caught:
        JwtVerifier(clock=clock, secret="too-short")
    assert caught.value.key == "PROJECTONE_JWT_SECRET"


def test_a_pem_given_as_the_secret_is_a_configuration_error(clock: ManualClock) -> None:
    with pytest.raises(ConfigurationError) as caught:
        JwtVerifier(clock=clock, secret=public_pem())
    assert caught.value.key == "PROJECTONE_JWT_SECRET"


def test_a_secret_and_a_public_key_together_are_a_configuration_error(
    clock: ManualClock,
) -> None:
    with pytest.raises(ConfigurationError):
        JwtVerifier(clock=clock, secret=SECRET, public_key=public_pem())


def test_a_refusal_never_repeats_the_token_or_the_secret(hs: JwtVerifier) -> None:
    attempts = [
        hs_token(claims(), secret=OTHER_SECRET),
        hs_token(claims(role="system")),
        hs_token(claims(iss="https://evil.example/")),
        hs_token(claims(aud="<script>")),
        "Z2FyYmFnZQ.dG9rZW4.dmFsdWU",
    ]
    for token in attempts:
        with pytest.raises(UnauthenticatedError) as caught:
            hs.verify(token)
        message = str(caught.value)
        for secret_part in (token, *token.split("."), SECRET, OTHER_SECRET, "evil", "<script>"):
            assert secret_part not in message


# --- issue_token ------------------------------------------------------------------------------


def test_issue_token_writes_the_standard_claims(hs: JwtVerifier) -> None:
    token = issue_token(
        SECRET,
        subject="adv-1",
        role=Role.ADVISOR,
        advisor_id=ADVISOR_ID,
        now=NOW,
        ttl=dt.timedelta(minutes=10),
        issuer=ISSUER,
        audience=[AUDIENCE, "other"],
    )
    decoded = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_signature": False})
    assert decoded == {
        "sub": "adv-1",
        "role": "advisor",
        "advisor_id": str(ADVISOR_ID),
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 600,
        "iss": ISSUER,
        "aud": [AUDIENCE, "other"],
    }
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert hs.verify(token).advisor_id == ADVISOR_ID


def test_issue_token_refuses_to_sign_without_a_secret_or_with_alg_none() -> None:
    with pytest.raises(ConfigurationError):
        issue_token(JwtSettings(public_key=public_pem()), subject="a", role="admin", now=NOW)
    with pytest.raises(ValueError, match="unsigned"):
        issue_token(SECRET, subject="a", role="admin", now=NOW, algorithm="none")
    with pytest.raises(ValueError, match="timezone"):
        issue_token(SECRET, subject="a", role="admin", now=NOW.replace(tzinfo=None))


# --- property: no mutation of a valid token yields a different principal ----------------------


@functools.cache
def property_verifiers() -> tuple[tuple[JwtVerifier, str, Principal], ...]:
    clock = ManualClock(NOW)
    cases = []
    for verifier, key in ((hs_verifier(clock), SECRET), (rs_verifier(clock), private_pem())):
        token = issue_token(
            key,
            subject="adv-7",
            role=Role.ADVISOR,
            advisor_id=ADVISOR_ID,
            now=NOW,
            issuer=ISSUER,
            audience=AUDIENCE,
        )
        cases.append((verifier, token, verifier.verify(token)))
    return tuple(cases)


_edit = st.one_of(
    st.tuples(st.just("replace"), st.integers(min_value=0), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(min_value=0), st.just(0)),
    st.tuples(st.just("insert"), st.integers(min_value=0), st.integers(0, 255)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, 1), edits=st.lists(_edit, min_size=1, max_size=4))
def test_any_mutation_of_a_valid_token_is_refused_or_yields_the_same_principal(
    which: int, edits: list[tuple[str, int, int]]
) -> None:
    verifier, token, principal = property_verifiers()[which]
    data = bytearray(token.encode())
    for kind, position, byte in edits:
        if kind == "insert":
            data.insert(position % (len(data) + 1), byte)
        elif data:
            index = position % len(data)
            if kind == "replace":
                data[index] = byte
            else:
                del data[index]
    mutated = data.decode("latin-1")
    try:
        result = verifier.verify(mutated)
    except UnauthenticatedError:
        return
    assert result == principal
