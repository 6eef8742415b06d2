"""Tokens from an identity provider, checked against its JWKS served by a real
local HTTP server with keys made in the test; then through a real `jobgate api`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from jobgate.api.auth import ADMIN_SCOPE, Credential, Principal
from jobgate.api.auth.jwks import KEYS_MAX_AGE_S, JwksKeys, JwksMethod
from jobgate.embedded import EmbeddedValkey
from jobgate.errors import AuthError, AuthUnavailable
from tests.api.auth_fakes import Clock, IdentityProvider, SigningKey, new_key
from tests.server import Stack

PREFIX = "/api/multi-agent"


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    provider.server.start()
    yield provider
    provider.server.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest.fixture
def method(idp: IdentityProvider, http: httpx.AsyncClient, clock: Clock) -> JwksMethod:
    keys = JwksKeys(idp.jwks_url, lambda: http, min_refetch_s=30, clock=clock)
    return JwksMethod(keys, issuer=idp.issuer, audience=idp.audience)


def bearer(token: str) -> Credential:
    return Credential(f"Bearer {token}")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hs256_with_public_key(key: SigningKey, idp: IdentityProvider) -> str:
    """The classic confusion: HS256 "signed" with the provider's public key as the secret."""
    pem = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode())
    claims = {"sub": "mallory", "iss": idp.issuer, "aud": idp.audience, "exp": 2**31}
    payload = _b64(json.dumps(claims).encode())
    sig = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(sig)}"


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
async def test_a_provider_token_names_its_user(idp: IdentityProvider, method: JwksMethod,
                                               alg: str) -> None:
    key = idp.publish(alg)
    principal = await method.authenticate(bearer(idp.token(key, "alice")))
    assert principal == Principal("alice", frozenset(), "jwks")
    admin = await method.authenticate(bearer(idp.token(key, "ops", scope=["jobgate:admin"])))
    assert admin.scopes == {ADMIN_SCOPE}
    assert idp.server.hits == 1, "keys are cached"


async def test_a_rotated_key_is_picked_up_at_most_every_30_s(
    idp: IdentityProvider, method: JwksMethod, clock: Clock
) -> None:
    old = idp.publish("RS256")
    await method.authenticate(bearer(idp.token(old)))
    new = idp.publish("ES256")  # the provider rotates
    clock.now += 10
    with pytest.raises(AuthError, match="unknown key"):
        await method.authenticate(bearer(idp.token(new)))
    for _ in range(5):
        with pytest.raises(AuthError, match="unknown key"):
            await method.authenticate(bearer(idp.token(new)))
        with pytest.raises(AuthError, match="unknown key"):
            await method.authenticate(bearer(idp.token(idp.publish("RS256"))))
    assert idp.server.hits == 1  # not asked again within 30 s of the last fetch
    clock.now += 20
    assert (await method.authenticate(bearer(idp.token(new, "bob")))).user_id == "bob"
    assert idp.server.hits == 2


async def test_a_new_kid_is_fetched_when_first_seen(
    idp: IdentityProvider, method: JwksMethod, clock: Clock
) -> None:
    old = idp.publish("RS256")
    await method.authenticate(bearer(idp.token(old)))
    clock.now += 30
    new = idp.publish("ES256")
    assert (await method.authenticate(bearer(idp.token(new, "bob")))).user_id == "bob"
    assert (await method.authenticate(bearer(idp.token(old, "carol")))).user_id == "carol"
    assert idp.server.hits == 2


async def test_a_withdrawn_key_stops_working_after_the_cache_age(
    idp: IdentityProvider, method: JwksMethod, clock: Clock
) -> None:
    gone = idp.publish("RS256")
    kept = idp.publish("RS256")
    await method.authenticate(bearer(idp.token(gone)))
    idp.published.remove(gone)
    await method.authenticate(bearer(idp.token(gone)))  # still cached
    clock.now += KEYS_MAX_AGE_S
    with pytest.raises(AuthError, match="unknown key"):
        await method.authenticate(bearer(idp.token(gone)))
    assert (await method.authenticate(bearer(idp.token(kept)))).user_id == "alice"


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"iss": "https://evil.example.test/"}, "issuer"),
        ({"aud": "another-app"}, "audience"),
        ({"exp": 1_000_000}, "expired"),
        ({"iss": None}, "invalid token"),
        ({"aud": None}, "invalid token"),
        ({"exp": None}, "invalid token"),
        ({"sub": 7}, "invalid token"),
    ],
)
async def test_wrong_or_missing_claims_are_401(idp: IdentityProvider, method: JwksMethod,
                                               claims: dict[str, object], message: str) -> None:
    key = idp.publish("RS256")
    token = idp.token(key, **claims)  # type: ignore[arg-type]
    with pytest.raises(AuthError, match=message):
        await method.authenticate(bearer(token))


async def test_unsigned_confused_and_forged_tokens_are_401(
    idp: IdentityProvider, method: JwksMethod
) -> None:
    rsa_key, ec_key = idp.publish("RS256"), idp.publish("ES256")
    stranger = SigningKey(rsa_key.kid, "RS256", new_key("RS256").private)
    unsigned = jwt.encode({"sub": "mallory"}, None, algorithm="none", headers={"kid": rsa_key.kid})
    # an ES256 token that names the RSA key (and the reverse): each key has one algorithm
    crossed = SigningKey(rsa_key.kid, "ES256", ec_key.private)
    bad = {
        "alg none": unsigned,
        "HS256 signed with the public key": hs256_with_public_key(rsa_key, idp),
        "other private key, same kid": idp.token(stranger),
        "algorithm crossed with the key": idp.token(crossed),
        "payload swapped": _swap_payload(idp.token(rsa_key, "alice"), idp.token(rsa_key, "bob")),
    }
    for name, token in bad.items():
        with pytest.raises(AuthError):
            await method.authenticate(bearer(token))
            pytest.fail(name)
    # HS* tokens are left to the HS256 method (or to no one): never checked here
    assert not method.recognises(bearer(bad["HS256 signed with the public key"]))
    assert method.recognises(bearer(idp.token(rsa_key)))
    assert method.recognises(bearer(idp.token(ec_key)))


def _swap_payload(signed: str, other: str) -> str:
    header, _, sig = signed.split(".")
    return f"{header}.{other.split('.')[1]}.{sig}"


async def test_a_provider_that_cannot_be_reached_is_a_503_not_a_401(
    idp: IdentityProvider, method: JwksMethod, clock: Clock
) -> None:
    key = idp.publish("RS256")
    idp.failing = True
    with pytest.raises(AuthUnavailable):
        await method.authenticate(bearer(idp.token(key)))
    with pytest.raises(AuthUnavailable):  # within 30 s: not asked again, still unknown
        await method.authenticate(bearer(idp.token(key)))
    assert idp.server.hits == 1
    idp.failing = False
    clock.now += 30
    assert (await method.authenticate(bearer(idp.token(key)))).user_id == "alice"
    idp.failing = True  # known keys outlive a provider outage
    clock.now += KEYS_MAX_AGE_S
    assert (await method.authenticate(bearer(idp.token(key)))).user_id == "alice"


# --- through a real `jobgate api` ---------------------------------------------


@pytest.fixture(scope="module")
def idp_stack(valkey: EmbeddedValkey,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, IdentityProvider]]:
    provider = IdentityProvider()
    provider.publish("RS256")
    provider.server.start()
    stack = Stack(valkey.url, f"jwks-{uuid.uuid4().hex[:10]}", tmp_path_factory.mktemp("jwks"),
                  extra_env={
                      "JOBGATE_AUTH_SECRET": "",  # the provider is the only way in
                      "JOBGATE_AUTH_JWKS_URL": provider.jwks_url,
                      "JOBGATE_AUTH_ISSUER": provider.issuer,
                      "JOBGATE_AUTH_AUDIENCE": provider.audience,
                      "JOBGATE_AUTH_JWKS_MIN_REFETCH_S": "0",
                  })
    stack.start_api()
    yield stack, provider
    stack.stop()
    provider.server.stop()


def _submit(stack: Stack, token: str, **body: object) -> httpx.Response:
    return httpx.post(f"{stack.url}{PREFIX}/submit", headers={"Authorization": f"Bearer {token}"},
                      json={"request": {"query": "q", **body}}, timeout=30)


def test_the_api_runs_on_provider_tokens_alone(
    idp_stack: tuple[Stack, IdentityProvider]
) -> None:
    stack, idp = idp_stack
    user = f"idp-{uuid.uuid4().hex[:8]}"
    first = idp.published[0]
    resp = _submit(stack, idp.token(first, user), user_id="mallory")
    assert resp.status_code == 202, resp.text
    listing = httpx.get(f"{stack.url}{PREFIX}/jobs", timeout=30,
                        headers={"Authorization": f"Bearer {idp.token(first, user)}"}).json()
    assert [j["job_id"] for j in listing["jobs"]] == [resp.json()["job_id"]]
    rotated = idp.publish("ES256")
    assert _submit(stack, idp.token(rotated, user)).status_code == 202
    for token in (idp.token(first, user, aud="another-app"),
                  idp.token(first, user, exp=1_000_000),
                  hs256_with_public_key(first, idp)):
        resp = _submit(stack, token)
        assert resp.status_code == 401, resp.text
        assert resp.json()["code"] == "unauthorized"


def test_the_api_answers_503_when_the_provider_is_down(
    idp_stack: tuple[Stack, IdentityProvider]
) -> None:
    stack, idp = idp_stack
    unseen = idp.publish("RS256")
    idp.failing = True
    try:
        resp = _submit(stack, idp.token(unseen))
    finally:
        idp.failing = False
    assert resp.status_code == 503, resp.text
    assert resp.json()["code"] == "auth_unavailable"
    assert resp.headers["retry-after"]
