"""Who may see what: another user's job is indistinguishable from no job at all,
a bad token is a 401, ids cannot be guessed.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest
import redis

from jobgate.api.auth import mint_token
from jobgate.job import is_valid_job_id, new_job_id
from jobgate.services import Services
from jobgate.store.keys import Keys
from tests.security.conftest import keys_of
from tests.server import SECRET, Stack

PREFIX = "/api/multi-agent"
UNKNOWN = str(uuid.uuid4())


@pytest.fixture(scope="module")
def alices_job(api: Stack) -> Iterator[str]:
    resp = httpx.post(f"{api.url}{PREFIX}/submit", headers=api.headers("alice"),
                      json={"request": {"query": "alice's private question"}})
    assert resp.status_code == 202
    yield resp.json()["job_id"]


def _answer(resp: httpx.Response) -> tuple[int, bytes, str | None]:
    return resp.status_code, resp.content, resp.headers.get("content-type")


def test_another_users_job_looks_exactly_like_an_unknown_one(
    api: Stack, alices_job: str, r: redis.Redis
) -> None:
    bob = api.headers("bob")
    ops = [("GET", "status"), ("GET", "result"), ("GET", "events"), ("POST", "cancel")]
    with httpx.Client(base_url=api.url, timeout=10) as c:
        for method, op in ops:
            theirs = c.request(method, f"{PREFIX}/jobs/{alices_job}/{op}", headers=bob)
            unknown = c.request(method, f"{PREFIX}/jobs/{UNKNOWN}/{op}", headers=bob)
            malformed = c.request(method, f"{PREFIX}/jobs/not-an-id/{op}", headers=bob)
            assert theirs.status_code == 404, (op, theirs.text)
            assert _answer(theirs) == _answer(unknown) == _answer(malformed), op
        # bob's cancel did nothing; alice still sees her job, bob's list does not
        status = c.get(f"{PREFIX}/jobs/{alices_job}/status", headers=api.headers("alice"))
        assert status.status_code == 200 and status.json()["status"] == "pending"
        listing = c.get(f"{PREFIX}/jobs", headers=bob).json()
        assert alices_job not in {j["job_id"] for j in listing["jobs"]}
        # the same Idempotency-Key from bob is bob's own job, never alice's
        key = {"Idempotency-Key": "shared-key"}
        a = c.post(f"{PREFIX}/submit", headers={**api.headers("alice"), **key},
                   json={"request": {"query": "a"}}).json()["job_id"]
        b = c.post(f"{PREFIX}/submit", headers={**bob, **key},
                   json={"request": {"query": "b"}}).json()["job_id"]
        assert a != b
    # a job's owner is the token's subject, whatever the body claims
    owner = r.hget(Keys(api.namespace).job(alices_job), "owner")
    assert owner == "alice"


def _tokens() -> dict[str, str]:
    now = int(time.time())
    return {
        "expired": mint_token(SECRET, "alice", ttl_s=-10),
        "forged (other secret)": mint_token("not-the-secret-0123456789abcdef-0123", "alice"),
        "alg none": jwt.encode({"sub": "alice", "exp": now + 60}, None, algorithm="none"),
        "no sub": jwt.encode({"exp": now + 60}, SECRET, algorithm="HS256"),
        "empty sub": jwt.encode({"sub": "", "exp": now + 60}, SECRET, algorithm="HS256"),
        "sub not a string": jwt.encode({"sub": 42, "exp": now + 60}, SECRET, algorithm="HS256"),
        "signature stripped": mint_token(SECRET, "alice").rsplit(".", 1)[0] + ".",
        "payload swapped": _swap_payload(mint_token(SECRET, "alice")),
        "garbage": "not.a.token",
        "empty": "",
    }


def _swap_payload(token: str) -> str:
    """Alice's valid signature on a payload that says mallory."""
    header, _, sig = token.split(".")
    other = mint_token(SECRET, "mallory").split(".")[1]
    return f"{header}.{other}.{sig}"


@pytest.mark.parametrize("name", list(_tokens()))
def test_bad_tokens_are_401_and_write_nothing(
    api: Stack, alices_job: str, r: redis.Redis, name: str
) -> None:
    token = _tokens()[name]
    before = keys_of(r, api.namespace)
    with httpx.Client(base_url=api.url, timeout=10) as c:
        variants = [{"Authorization": f"Bearer {token}".strip()}, {"Authorization": token}]
        for headers in variants:
            sub = c.post(f"{PREFIX}/submit", headers=headers, json={"request": {"query": "x"}})
            st = c.get(f"{PREFIX}/jobs/{alices_job}/status", headers=headers)
            for resp in (sub, st):
                assert resp.status_code == 401, (name, resp.text)
                assert resp.json()["code"] == "unauthorized"
                assert resp.headers["www-authenticate"] == "Bearer"
        assert c.get(f"{PREFIX}/jobs").status_code == 401
        basic = c.get(f"{PREFIX}/jobs", headers={"Authorization": "Basic YWxpY2U6cHc="})
        assert basic.status_code == 401
    assert keys_of(r, api.namespace) == before


async def test_100k_random_ids_find_nothing(services: Services) -> None:
    store = services.store
    real = [(await store.enqueue("noop", f"user{i % 10}", i)).job_id for i in range(200)]
    guesses = [new_job_id() for _ in range(100_000)]
    assert not set(real) & set(guesses)
    hits = 0
    for start in range(0, len(guesses), 10_000):
        async with services.redis.pipeline(transaction=False) as pipe:
            for g in guesses[start:start + 10_000]:
                pipe.exists(store.keys.job(g))
            hits += sum(await pipe.execute())
    assert hits == 0
    # and through the ownership check every endpoint uses, a sample of them
    from jobgate.errors import JobNotFound

    for g in guesses[:500]:
        with pytest.raises(JobNotFound):
            await store.get_owned(g, "user0")
    for j in real[:20]:  # the real ones are found by their owner only
        owner = (await store.get(j)).owner  # type: ignore[union-attr]
        await store.get_owned(j, owner)
        with pytest.raises(JobNotFound):
            await store.get_owned(j, "intruder")


def test_job_ids_carry_at_least_122_random_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[int] = []
    real_urandom = os.urandom

    def counting(n: int) -> bytes:
        drawn.append(n)
        return real_urandom(n)

    monkeypatch.setattr(os, "urandom", counting)
    one = new_job_id()
    monkeypatch.undo()
    assert sum(drawn) >= 16, "job ids must come from the OS's CSPRNG"
    assert is_valid_job_id(one)

    n = 20_000
    # the id is a UUID4 and its partition (`-p<N>`): the UUID carries the randomness
    ids = [uuid.UUID(new_job_id(i % 16).rpartition("-p")[0]) for i in range(n)]
    assert len(set(ids)) == n
    assert {u.version for u in ids} == {4} and {u.variant for u in ids} == {uuid.RFC_4122}
    # the 122 bits that are not version or variant: each one is a fair coin
    fixed = {48, 49, 50, 51, 64, 65}  # bit positions from the top of the 128
    free = [b for b in range(128) if b not in fixed]
    assert len(free) >= 122
    ones = [0] * 128
    for u in ids:
        v = u.int
        for b in free:
            ones[b] += (v >> (127 - b)) & 1
    sigma = (n * 0.25) ** 0.5
    skewed = [b for b in free if abs(ones[b] - n / 2) > 5 * sigma]
    assert skewed == [], f"bits {skewed} are not random"
    # and the ids the API hands out are of that kind
    assert all(is_valid_job_id(f"{u}-p{i % 16}") for i, u in enumerate(ids[:100]))
    assert not is_valid_job_id(secrets.token_hex(16))
