"""The pure parts of sign-in: the choice of method, scopes, cookies, the cache,
the JWKS refetch rule, the reading of an introspection answer, the settings."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from pydantic import ValidationError

from jobgate.api.auth import ADMIN_SCOPE, Authenticator, Credential, Principal, mint_token
from jobgate.api.auth.cache import TtlCache
from jobgate.api.auth.core import choose, digest, jwt_alg, parse_cookies, parse_scopes
from jobgate.api.auth.hs256 import verify_token
from jobgate.api.auth.introspect import forwarded_headers, read_answer
from jobgate.api.auth.jwks import KEYS_MAX_AGE_S, FetchState, Step, next_step
from jobgate.errors import AuthError, AuthUnavailable, ConfigError
from jobgate.settings import Settings

SECRET = "core-secret-0123456789-0123456789-abcdef"


class Named:
    """A method that recognises what its predicate says, and records that it decided."""

    def __init__(self, name: str, wants: str) -> None:
        self.name = name
        self.wants = wants

    def recognises(self, credential: Credential) -> bool:
        if self.wants == "jwt":
            return jwt_alg(credential.bearer) is not None
        return bool(credential.authorization or credential.cookies)

    async def authenticate(self, credential: Credential) -> Principal:
        return Principal("x", method=self.name)


def _b64(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_the_first_method_that_recognises_the_credential_decides() -> None:
    methods = [Named("jwt", "jwt"), Named("session", "any")]
    token = mint_token(SECRET, "alice")
    assert choose(methods, Credential(f"Bearer {token}")).name == "jwt"
    assert choose(methods, Credential("Bearer opaque-session")).name == "session"
    assert choose(methods, Credential(cookies={"session_token": "s"})).name == "session"
    assert choose(list(reversed(methods)), Credential(f"Bearer {token}")).name == "session"


def test_no_method_or_no_credential_is_a_401_saying_which() -> None:
    only_jwt = [Named("jwt", "jwt")]
    with pytest.raises(AuthError, match="missing bearer token"):
        choose(only_jwt, Credential())
    with pytest.raises(AuthError, match="missing bearer token"):
        choose(only_jwt, Credential(cookies={"theme": "dark"}))
    with pytest.raises(AuthError, match="invalid token"):
        choose(only_jwt, Credential("Bearer opaque"))


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_an_unsigned_jwt_is_refused_before_any_method(alg: str) -> None:
    token = f"{_b64({'alg': alg, 'typ': 'JWT'})}.{_b64({'sub': 'alice'})}."
    with pytest.raises(AuthError, match="unsigned"):
        choose([Named("session", "any")], Credential(f"Bearer {token}"))


def test_jwt_alg_tells_jwts_from_opaque_tokens() -> None:
    assert jwt_alg(mint_token(SECRET, "a")) == "HS256"
    for opaque in ("abc", "a.b.c", "", None, "x" * 5000 + ".a.b", f"{_b64([1])}.a.b"):
        assert jwt_alg(opaque) is None


def test_scopes_from_a_string_or_a_list() -> None:
    assert parse_scopes("read  jobgate:admin") == {"read", ADMIN_SCOPE}
    assert parse_scopes(["jobgate:admin", 3, ""]) == {ADMIN_SCOPE}
    assert parse_scopes(None) == frozenset()
    assert parse_scopes({"jobgate:admin": True}) == frozenset()


def test_hs256_tokens_carry_the_admin_scope_when_minted_so() -> None:
    assert verify_token(SECRET, mint_token(SECRET, "ops", scopes=[ADMIN_SCOPE])).is_admin
    plain = verify_token(SECRET, mint_token(SECRET, "alice"))
    assert plain == Principal("alice", frozenset(), "hs256")
    assert not plain.is_admin
    with pytest.raises(AuthError, match="expired"):
        verify_token(SECRET, mint_token(SECRET, "alice", ttl_s=-5))
    with pytest.raises(AuthError, match="subject"):
        verify_token(SECRET, jwt.encode({"sub": "x" * 201}, SECRET, algorithm="HS256"))


def test_cookies_are_kept_raw_first_of_each_name() -> None:
    cookies = parse_cookies(['session_token=a%3Db=; theme=dark', 'session_token=second; junk'])
    assert cookies == {"session_token": "a%3Db=", "theme": "dark"}


def test_only_the_authorization_header_and_named_cookies_are_forwarded() -> None:
    cred = Credential("Bearer s1", {"session_token": "c1", "other": "secret", "sid": "c2"})
    assert forwarded_headers(cred, ["session_token", "sid"]) == {
        "Authorization": "Bearer s1", "Cookie": "session_token=c1; sid=c2"}
    assert forwarded_headers(Credential(cookies={"other": "x"}), ["session_token"]) == {}


def test_the_cache_key_is_a_hash_not_the_credential() -> None:
    key = digest("Bearer very-secret-session", "")
    assert "very-secret-session" not in key and len(key) == 64
    assert key != digest("Bearer very-secret-session", "session_token=x")
    assert digest("ab", "c") != digest("a", "bc")


def test_cache_entries_expire_and_the_cache_stays_bounded() -> None:
    cache: TtlCache[str | None] = TtlCache(ttl_s=60, max_entries=3)
    cache.put("a", "alice", now=0)
    cache.put("n", None, now=0)  # a refusal is an answer too
    assert cache.get("a", now=59.9) == (True, "alice")
    assert cache.get("n", now=59.9) == (True, None)
    assert cache.get("a", now=60) == (False, None)
    for i in range(10):
        cache.put(f"k{i}", "x", now=100)
    assert len(cache) == 3
    assert cache.get("k9", now=100) == (True, "x")
    assert cache.get("k0", now=100) == (False, None)
    off: TtlCache[str] = TtlCache(ttl_s=0, max_entries=3)
    off.put("a", "x", now=0)
    assert off.get("a", now=0) == (False, None)


@pytest.mark.parametrize(
    ("known", "state", "now", "step"),
    [
        (False, FetchState(), 0, Step.FETCH),
        (True, FetchState(fetched_at=0, tried_at=0), 10, Step.USE),
        (False, FetchState(fetched_at=0, tried_at=0), 29.9, Step.UNKNOWN),
        (False, FetchState(fetched_at=0, tried_at=0), 30, Step.FETCH),
        (False, FetchState(tried_at=0, failed=True), 5, Step.UNAVAILABLE),
        (True, FetchState(fetched_at=0, tried_at=0), KEYS_MAX_AGE_S, Step.REFRESH),
        (True, FetchState(fetched_at=0, tried_at=KEYS_MAX_AGE_S, failed=True),
         KEYS_MAX_AGE_S + 1, Step.USE),
    ],
)
def test_jwks_refetch_rule(known: bool, state: FetchState, now: float, step: Step) -> None:
    assert next_step(known, state, now, min_refetch_s=30) is step


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, {"id": "u1", "email": "a@b"}, Principal("u1", frozenset(), "introspect")),
        (200, {"id": 42}, Principal("42", frozenset(), "introspect")),
        (200, {"id": "ops", "scope": "jobgate:admin"},
         Principal("ops", frozenset({ADMIN_SCOPE}), "introspect")),
        (200, {"user": None}, None),
        (200, {"id": ""}, None),
        (200, {"id": True}, None),
        (401, {"detail": "Not authenticated"}, None),
        (403, None, None),
    ],
)
def test_reading_an_introspection_answer(status: int, body: object,
                                         expected: Principal | None) -> None:
    assert read_answer(status, body, "id") == expected


def test_a_nested_subject_field() -> None:
    answer = read_answer(200, {"user": {"id": "u7"}}, "user.id")
    assert answer is not None and answer.user_id == "u7"


@pytest.mark.parametrize(("status", "body"), [(500, {}), (502, None), (302, None), (404, {}),
                                              (429, {}), (200, None), (200, ["u1"])])
def test_answers_that_say_nothing_are_unavailable_not_a_sign_out(status: int,
                                                                  body: object) -> None:
    with pytest.raises(AuthUnavailable):
        read_answer(status, body, "id")


def test_settings_read_comma_lists_and_refuse_loose_origins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JOBGATE_CORS_ORIGINS", "https://app.example.com, http://localhost:3000/")
    monkeypatch.setenv("JOBGATE_AUTH_FORWARD_COOKIES", "session_token,sid")
    s = Settings(data_dir=tmp_path)
    assert s.cors_origins == ["https://app.example.com", "http://localhost:3000"]
    assert s.auth_forward_cookies == ["session_token", "sid"]
    monkeypatch.setenv("JOBGATE_CORS_ORIGINS", "")
    assert Settings(data_dir=tmp_path).cors_origins == []
    for bad in ("*", "https://app.example.com/path", "app.example.com", "null"):
        monkeypatch.setenv("JOBGATE_CORS_ORIGINS", bad)
        with pytest.raises(ValidationError, match="not an origin"):
            Settings(data_dir=tmp_path)


def test_the_app_needs_one_sign_in_method_and_a_sound_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no sign-in method"):
        Authenticator.from_settings(Settings(data_dir=tmp_path, auth_secret=""))
    with pytest.raises(ConfigError, match="ISSUER"):
        Authenticator.from_settings(Settings(auth_jwks_url="http://idp/jwks.json"))
    with pytest.raises(ConfigError, match="http"):
        Authenticator.from_settings(Settings(auth_introspect_url="ftp://app/me"))
    every = Authenticator.from_settings(Settings(
        auth_secret=SECRET, auth_jwks_url="http://idp/jwks.json", auth_issuer="https://idp/",
        auth_introspect_url="http://app/api/auth/me"))
    assert [m.name for m in every.methods] == ["hs256", "jwks", "introspect"]


def test_which_configured_method_decides_which_credential(tmp_path: Path) -> None:
    def names(settings: Settings) -> list[str]:
        auth = Authenticator.from_settings(settings)
        rs256 = f"{_b64({'alg': 'RS256', 'kid': 'k'})}.{_b64({'sub': 'a'})}.c2ln"
        creds = [Credential(f"Bearer {mint_token(SECRET, 'a')}"), Credential(f"Bearer {rs256}"),
                 Credential("Bearer opaque"), Credential(cookies={"session_token": "s"})]
        return [choose(auth.methods, c).name for c in creds]

    idp_and_app: dict[str, Any] = {
        "auth_jwks_url": "http://idp/jwks.json", "auth_issuer": "https://idp/",
        "auth_introspect_url": "http://app/me", "auth_forward_cookies": ["session_token"],
    }
    assert names(Settings(data_dir=tmp_path, auth_secret=SECRET, **idp_and_app)) == [
        "hs256", "jwks", "introspect", "introspect"]
    # without a secret, an HS256 token is the app's business, never the JWKS method's
    assert names(Settings(data_dir=tmp_path, auth_secret="", **idp_and_app)) == [
        "introspect", "jwks", "introspect", "introspect"]
