"""Hostile bodies against a real API process: each is a clean 4xx, and writes nothing.

"Nothing written" is checked by listing every key of the test's namespace
(with a dump of its value) before and after each request.
"""

from __future__ import annotations

import json
import select
import socket
from pathlib import Path

import httpx
import pytest
import redis

from tests.security.conftest import keys_of
from tests.server import Stack

SUBMIT = "/api/multi-agent/submit"
PROCESS = "/api/multi-agent/process"
MB = 1024 * 1024


def nested(depth: int) -> str:
    return "[" * depth + '"x"' + "]" * depth


def with_context(ctx_json: str) -> bytes:
    return ('{"request": {"query": "hostile", "context": {"a": ' + ctx_json + "}}}").encode()


HOSTILE: dict[str, bytes] = {
    "nested 200,000 deep": nested(200_000).encode(),
    "context nested 5,000 deep": with_context(nested(5_000)),
    "context nested 300 deep": with_context(nested(300)),
    "context integer over 64 bits": with_context("9" * 40),
    "context lone surrogate": with_context('"\\ud800"'),
    "context key lone surrogate": b'{"request": {"query": "x", "context": {"\\udfff": 1}}}',
    "query lone surrogate": b'{"request": {"query": "\\ud800"}}',
    "context NaN": with_context("NaN"),
    "context Infinity": with_context("1e999"),
    "invalid UTF-8": b'{"request": {"query": "\xff\xfe\xfd"}}',
    "overlong UTF-8": b'{"request": {"query": "\xc0\xaf"}}',
    "huge context": with_context(json.dumps("y" * 500_000)),
    "too many context keys": (
        '{"request": {"query": "x", "context": {'
        + ",".join(f'"k{i}": {i}' for i in range(500)) + "}}}").encode(),
    "huge query": json.dumps({"request": {"query": "q" * 100_000}}).encode(),
    "unknown field": b'{"request": {"query": "x", "admin": true}}',
    "unknown top-level field": b'{"request": {"query": "x"}, "owner": "bob"}',
    "bad priority": b'{"request": {"query": "x"}, "priority": "urgent"}',
    "bad mode": b'{"request": {"query": "x", "coordination_mode": "rm -rf"}}',
    "not JSON": b"query=x",
    "JSON array": b"[1, 2, 3]",
    "JSON null": b"null",
    "empty body": b"",
    "truncated JSON": b'{"request": {"query": "x"',
    "duplicate keys": b'{"request": {"query": "x"}, "request": 5}',
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_body_is_a_clean_4xx_and_writes_nothing(
    api: Stack, r: redis.Redis, name: str
) -> None:
    body = HOSTILE[name]
    before = keys_of(r, api.namespace)
    for path, raw in [(SUBMIT, body), (PROCESS, _bare(body))]:
        resp = httpx.post(f"{api.url}{path}", content=raw, timeout=30, headers={
            **api.headers(), "Content-Type": "application/json"})
        assert 400 <= resp.status_code < 500, (path, resp.status_code, resp.text[:300])
        assert resp.headers["content-type"].startswith("application/json")
        assert set(resp.json()) >= {"detail", "code"}
    assert keys_of(r, api.namespace) == before


def _bare(body: bytes) -> bytes:
    """The same hostility in /process's body shape (the bare request)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return body
    if isinstance(data, dict) and isinstance(data.get("request"), dict):
        start = body.index(b'{"query"') if b'{"query"' in body else None
        if start is not None:
            return body[start:body.rindex(b"}")]
    return body


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def _send_body(port: int, head: bytes, chunks: int, chunk: bytes) -> bytes:
    """Send a request head, then body chunks until the server answers; the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head)
        for _ in range(chunks):
            if select.select([s], [], [], 0)[0]:
                break
            try:
                s.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        s.settimeout(10)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                got = s.recv(65536)
                if not got:
                    break
                answer += got
        except ConnectionResetError:
            pass
        return answer


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_20mb_body_is_refused_with_413_and_bounded_memory(
    api: Stack, r: redis.Redis, framing: str
) -> None:
    pid, port = api.apis[0].pid, api.ports[0]
    before_keys = keys_of(r, api.namespace)
    peak_before = _peak_rss(pid)
    auth = api.headers()["Authorization"]
    head = f"POST {SUBMIT} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n" \
           "Content-Type: application/json\r\n"
    piece = b"a" * MB
    if framing == "content-length":
        answer = _send_body(port, (head + f"Content-Length: {20 * MB}\r\n\r\n").encode(),
                            20, piece)
    else:
        chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        answer = _send_body(port, (head + "Transfer-Encoding: chunked\r\n\r\n").encode(),
                            20, chunk)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    grown = _peak_rss(pid) - peak_before
    assert grown < 8 * MB, f"peak RSS grew by {grown / MB:.1f} MB for a 20 MB body"
    assert keys_of(r, api.namespace) == before_keys
    assert httpx.get(f"{api.url}/healthz").status_code == 200


def test_hostile_headers_and_ids(api: Stack, r: redis.Redis) -> None:
    before = keys_of(r, api.namespace)
    h = api.headers()
    ok_body = {"request": {"query": "x"}}
    cases = [
        ("POST", SUBMIT, {**h, "Idempotency-Key": "k" * 5000}, ok_body),
        ("POST", SUBMIT, {**h, "Prefer": "wait=" + "9" * 300}, {"request": {}}),
        ("GET", "/api/multi-agent/jobs/../../etc/passwd/status", h, None),
        ("GET", "/api/multi-agent/jobs/" + "a" * 5000 + "/status", h, None),
        ("GET", "/api/multi-agent/jobs/%00%ff/status", h, None),
        ("GET", "/api/multi-agent/jobs/*/status", h, None),
        ("GET", "/api/multi-agent/jobs?cursor=-1", h, None),
        ("GET", "/api/multi-agent/jobs?limit=100000", h, None),
        ("GET", "/api/multi-agent/jobs/00000000-0000-4000-8000-000000000000/status?wait=1e9",
         h, None),
        ("GET", "/api/multi-agent/jobs/00000000-0000-4000-8000-000000000000/events",
         {**h, "Last-Event-ID": "0-0) OR 1=1"}, None),
    ]
    for method, path, headers, body in cases:
        resp = httpx.request(method, f"{api.url}{path}", headers=headers, json=body, timeout=10)
        assert 400 <= resp.status_code < 500, (path, resp.status_code, resp.text[:200])
    # bytes that are not ASCII in a header
    raw = httpx.get(f"{api.url}/api/multi-agent/jobs", headers={
        "Authorization": h["Authorization"], "Idempotency-Key": b"\xff\xfe"})
    assert raw.status_code == 200
    assert keys_of(r, api.namespace) == before
