"""The pure parts of the per-user feeds: client messages, server messages, the
SSE feed's cursor, the origin rule for cookies, the close frame, the outbox."""

from __future__ import annotations

import asyncio
import json
import struct

import pytest

from jobgate.api import feed_messages as msg
from jobgate.api.connections import close_frame
from jobgate.api.feed import Outbox
from jobgate.api.feed_cursor import FeedCursor
from jobgate.api.ws_signin import cookies_usable
from jobgate.errors import InvalidRequest
from jobgate.job import new_job_id


def test_client_messages_parse_into_commands() -> None:
    job = new_job_id()
    assert msg.parse_command(json.dumps({"type": "subscribe", "job_id": job})) == \
        msg.Subscribe(type="subscribe", job_id=job)
    s = msg.parse_command('{"type": "subscribe", "job_id": "j", "last_event_id": "1-0"}')
    assert isinstance(s, msg.Subscribe) and s.last_event_id == "1-0"
    every = msg.parse_command('{"type": "subscribe", "all": true}')
    assert isinstance(every, msg.Subscribe) and every.all and every.job_id is None
    assert isinstance(msg.parse_command('{"type": "unsubscribe", "all": true}'), msg.Unsubscribe)
    assert isinstance(msg.parse_command('{"type": "cancel", "job_id": "j"}'), msg.Cancel)
    assert msg.parse_command('{"type": "auth", "token": "t"}') == msg.Auth(type="auth", token="t")


@pytest.mark.parametrize(("text", "says"), [
    ("{", "Invalid JSON"),
    ("[]", "Input should be"),
    ('{"type": "dance"}', "tag 'dance'"),
    ('{"type": "subscribe"}', '"job_id" or "all"'),
    ('{"type": "subscribe", "all": false}', '"job_id" or "all"'),
    ('{"type": "subscribe", "job_id": "j", "all": true}', '"job_id" or "all"'),
    ('{"type": "subscribe", "job_id": "j", "lastEventId": "1-0"}', "lastEventId"),
    ('{"type": "cancel"}', "job_id"),
    ('{"type": "cancel", "job_id": ""}', "job_id"),
    ('{"type": "auth", "token": 5}', "token"),
])
def test_bad_client_messages_say_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        msg.parse_command(text)
    assert says in str(err.value)


def test_server_messages_carry_the_stored_data_as_is() -> None:
    out = msg.event("j", "17-0", "progress", '{"progress":0.5}', terminal=False)
    assert json.loads(out.text or "") == {"type": "event", "job_id": "j", "id": "17-0",
                                          "event": "progress", "data": {"progress": 0.5}}
    assert (out.job_id, out.event_id, out.ends) == ("j", "17-0", False)
    quoted = msg.event("j", "1-0", 'odd "type"', "{}", terminal=True)
    assert json.loads(quoted.text or "")["event"] == 'odd "type"' and quoted.ends
    assert json.loads(msg.result("j", '{"status":"completed"}').text or "") == \
        {"type": "result", "job_id": "j", "data": {"status": "completed"}}
    assert json.loads(msg.error(None, "invalid_request", "x").text or "")["job_id"] is None
    assert json.loads(msg.ack("cancel", job_id="j", status="cancelled").text or "") == \
        {"type": "ack", "op": "cancel", "job_id": "j", "status": "cancelled"}
    assert msg.ended("j").text is None and msg.ended("j").ends
    assert msg.job_of('{"type": "nope", "job_id": "abc"}') == "abc"
    assert msg.job_of("not json") is None and msg.job_of('{"job_id": 5}') is None


def test_the_cursor_round_trips_and_stays_small() -> None:
    jobs = [new_job_id() for _ in range(20)]
    cursor = FeedCursor(1_733_000_000_123_456, {j: f"17330000{i:05d}-{i}" for i, j in
                                               enumerate(jobs)})
    cursor.positions[jobs[0]] = None  # followed, nothing sent yet
    text = cursor.encode()
    assert FeedCursor.decode(text) == cursor
    assert len(text) < 20 * 40  # ~40 bytes a job in flight
    assert all(c.isalnum() or c in "._~-" for c in text)  # safe in a header and a URL
    assert FeedCursor.decode(FeedCursor(0).encode()) == FeedCursor(0)


def test_the_cursor_moves_as_messages_go_out() -> None:
    a, b = new_job_id(), new_job_id()
    cursor = FeedCursor(5, {a: None, b: "1-0"})
    cursor.advance(a, "2-0", ends=False)
    cursor.advance(b, None, ends=False)  # a result: no id, no move
    assert cursor.positions == {a: "2-0", b: "1-0"}
    cursor.advance(b, "3-0", ends=True)  # the terminal event: the job leaves
    assert cursor.positions == {a: "2-0"}


@pytest.mark.parametrize("text", [
    "", "2.0", "1", "1.zz!", "1.0.notajob", "1.0." + "A" * 22,
    "1.0." + FeedCursor(0, {new_job_id(): "1-2"}).encode().split(".")[2] + "~1",
    "1.0." + "x" * 20_000,
])
def test_a_cursor_the_server_did_not_make_is_refused(text: str) -> None:
    with pytest.raises(InvalidRequest):
        FeedCursor.decode(text)


@pytest.mark.parametrize(("origin", "host", "usable"), [
    (None, "api.example", True),
    ("https://api.example", "api.example", True),
    ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
    ("https://API.example/", "api.example", True),
    ("https://app.example", "api.example", True),  # listed
    ("https://app.example.evil", "api.example", False),
    ("https://evil.example", "api.example", False),
    ("null", "api.example", False),
    ("http://127.0.0.1:8001", "127.0.0.1:8000", False),
])
def test_cookies_count_from_the_apis_own_or_a_listed_origin(
    origin: str | None, host: str, usable: bool
) -> None:
    assert cookies_usable(origin, host, ["https://app.example"]) is usable


def test_the_close_frame_is_rfc_6455() -> None:
    frame = close_frame(4408, "not reading")
    assert frame[0] == 0x88 and frame[1] == len(frame) - 2
    assert struct.unpack("!H", frame[2:4]) == (4408,) and frame[4:] == b"not reading"
    assert len(close_frame(1001, "x" * 500)) == 2 + 125  # a control frame's limit


async def test_the_outbox_paces_producers_and_closing_jumps_the_queue() -> None:
    box = Outbox(limit_bytes=100)
    big = msg.Out("x" * 60)
    await box.put(big)
    await box.put(big)  # over the bound now: the next producer waits
    third = asyncio.create_task(box.put(big))
    await asyncio.sleep(0)
    assert not third.done() and box.pending_bytes == 120
    assert await box.get(1) is big
    await asyncio.wait_for(third, 5)  # room again
    assert await box.get(0.01) is big and await box.get(0.01) is big
    assert await box.get(0.01) is None  # quiet: the writer sends a heartbeat
    await box.put(big)
    box.close(1001)
    assert await box.get(1) is None and box.close_code == 1001
    await asyncio.wait_for(box.put(big), 1)  # a closed outbox takes nothing, blocks no one
