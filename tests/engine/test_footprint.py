"""A finished job's footprint in Valkey, and its event log after compaction:
the same events under the same ids, whenever a reader comes."""

from __future__ import annotations

import asyncio
import re
from importlib.resources import files
from typing import Any

from jobgate import serde
from jobgate.api.stream import event_stream, next_events
from jobgate.api.views import job_error
from jobgate.api.waiting import Waiters
from jobgate.job import Ending, JobState
from jobgate.models import JobEvent
from jobgate.services import Services
from jobgate.store import eventlog
from jobgate.store.jobs import JobStore, Outcome
from jobgate.store.outbox import Outbox

BUDGET = 1024  # bytes a finished no-op job may hold, its payload and result aside


async def _running(store: JobStore, owner: str = "alice", payload: Any = 1,
                   **opts: Any) -> tuple[str, str]:
    """A job claimed by this test: it holds still until the test ends it."""
    enq = await store.enqueue("noop", owner, payload, **opts)
    batch = await store.claim("w-test", 1)
    (job,) = batch.jobs
    assert job.job_id == enq.job_id
    return job.job_id, job.lease


async def _end(store: JobStore, job_id: str, lease: str, ending: Ending = Ending.COMPLETE,
               body: Any = 1, message: str = "done") -> None:
    (ok,) = await store.finish_many([Outcome(job_id, lease, ending, serde.dumps(body), message)])
    assert ok


async def _usage(services: Services, *keys: str) -> int:
    return sum([int(await services.redis.memory_usage(k, samples=0) or 0) for k in keys])


async def test_a_finished_noop_job_holds_at_most_1kb(services: Services) -> None:
    store, k, r = services.store, services.store.keys, services.redis
    n, own = 20, []
    for _ in range(n):
        job_id, lease = await _running(store)
        await _end(store, job_id, lease)
        own.append(await _usage(services, k.job(job_id), k.events(job_id)))
        assert await r.exists(k.events(job_id)) == 0  # the stream is gone
        assert await r.object("encoding", k.job(job_id)) == "listpack"
    p = k.partition_of_owner("alice")
    shared = await _usage(services, k.owner_jobs("alice"), k.outbox(p))
    per_job = (sum(own) + shared) / n
    assert max(own) < BUDGET - 128 and per_job <= BUDGET, (own, shared)


async def test_resume_after_compaction_from_every_event_id(services: Services) -> None:
    store = services.store
    job_id, lease = await _running(store)
    await store.progress(job_id, lease, 0.5, "half way", {"agent": "a", "index": 1, "total": 2})
    await store.append_event(job_id, lease, "token", {"text": "é€😀" * 20})  # cut between chars
    await store.append_event(job_id, lease, "with space\nand line", {"n": [1, 2.5, None]})
    live = await store.events_after(job_id, None)
    await _end(store, job_id, lease)
    done = await store.events_after(job_id, None)
    assert done[:-1] == live and done[-1].data["status"] == "completed"
    assert await services.redis.exists(store.keys.events(job_id)) == 0
    for i, e in enumerate(done):
        assert await store.events_after(job_id, e.id) == done[i + 1:]
        assert await store.events_after(job_id, e.id, count=1) == done[i + 1:i + 2]
    assert await store.events_after(job_id, "99999999999999-0") == []


async def test_a_live_tail_across_the_end_gets_every_event_once(services: Services) -> None:
    """Read as the SSE stream reads: caught up while the job runs, then the
    job ends (and its log moves) between two reads."""
    store = services.store
    job_id, lease = await _running(store)
    first = await next_events(services, job_id, "alice", None)
    assert first is not None and first[0][0] == "0-1"
    last = first[-1][0]
    assert await next_events(services, job_id, "alice", last) == []  # running: nothing new
    job = await store.get(job_id)
    assert job is not None and job.state is JobState.PROCESSING  # the reader saw it running
    await _end(store, job_id, lease)
    rest = await next_events(services, job_id, "alice", last)
    assert rest is not None and len(rest) == 1
    assert serde.loads(rest[0][2])["status"] == "completed"
    assert await next_events(services, job_id, "alice", rest[0][0]) is None  # the end
    whole = [e.id for e in await store.events_after(job_id, None)]
    assert [e[0] for e in first + rest] == whole


async def test_a_reader_that_saw_the_stream_and_the_log_gets_each_event_once(
    services: Services,
) -> None:
    """The reader reads the stream, then the record, in one round trip; if the
    job ends between the two, it sees both. The record's log wins."""
    store, k, r = services.store, services.store.keys, services.redis
    job_id, lease = await _running(store)
    await store.append_event(job_id, lease, "token", {"text": "a"})
    await _end(store, job_id, lease)
    done = await store.events_after(job_id, None)
    for e in done[1:-1]:  # the stream as it was just before the end
        await r.xadd(k.events(job_id), {"type": e.type, "data": serde.dumps(e.data)}, id=e.id)
    assert await store.events_after(job_id, None) == done
    assert await store.events_after(job_id, done[1].id) == done[2:]


async def test_an_sse_stream_following_the_job_ends_with_it(services: Services) -> None:
    services.notifier.start()
    await asyncio.wait_for(services.notifier.connected.wait(), 30)
    store = services.store
    job_id, lease = await _running(store)
    seen: list[tuple[str | None, str | None]] = []
    following = asyncio.Event()

    async def follow() -> None:
        async for ev in event_stream(services, Waiters(), job_id, "alice", None):
            seen.append((ev.id, ev.event))
            if ev.event == "state" and serde.loads(str(ev.data))["status"] == "processing":
                following.set()

    task = asyncio.create_task(follow())
    await asyncio.wait_for(following.wait(), 60)  # caught up with the running job
    await store.append_event(job_id, lease, "token", {"text": "x"})
    await _end(store, job_id, lease)
    await asyncio.wait_for(task, 60)
    ids = [e.id for e in await store.events_after(job_id, None)]
    assert [i for i, _ in seen if i is not None] == ids
    assert [t for _, t in seen][-2:] == ["result", "state"]


async def test_a_long_log_stays_a_stream(services: Services) -> None:
    store, r = services.store, services.redis
    job_id, lease = await _running(store)
    for i in range(eventlog.MAX_EVENTS + 1):
        await store.append_event(job_id, lease, "token", {"i": i})
    await _end(store, job_id, lease)
    assert await r.xlen(store.keys.events(job_id)) == eventlog.MAX_EVENTS + 3
    events = await store.events_after(job_id, None)
    assert [e.data.get("i") for e in events[2:-1]] == list(range(eventlog.MAX_EVENTS + 1))
    assert await Outbox(store).archived([job_id]) == 1  # the stream expires with the record
    assert 0 < await r.pttl(store.keys.events(job_id)) <= store.settings.result_ttl_s * 1000


async def test_a_log_past_the_chunks_or_in_a_hashtable_is_one_field(services: Services) -> None:
    store, k, r = services.store, services.store.keys, services.redis
    big, lease = await _running(store, payload="x" * 200)  # a hashtable already
    await _end(store, big, lease)
    fields = await r.hkeys(k.job(big))
    assert "log" in fields and "log1" not in fields
    long, lease = await _running(store)
    await store.append_event(long, lease, "token", {"text": "y" * 600})
    live = await store.events_after(long, None)
    await _end(store, long, lease)
    assert "log1" not in await r.hkeys(k.job(long))
    assert (await store.events_after(long, None))[:-1] == live


async def test_terminal_events_say_why_as_status_and_result_do(services: Services) -> None:
    """The error of a state event has the shape of /status and /result:
    `error` text, `error_code`, `error_detail` (api/views.job_error)."""
    store = services.store

    async def terminal(job_id: str) -> tuple[JobEvent, dict[str, Any]]:
        job = await store.get(job_id)
        assert job is not None and job.terminal
        return (await store.events_after(job_id, None))[-1], job_error(job)._asdict()

    failed, lease = await _running(store)
    await _end(store, failed, lease, Ending.FAIL, {"code": "llm_auth", "message": "bad key"},
               "failed")
    cancelled = (await store.enqueue("noop", "alice", 1)).job_id
    await store.cancel(cancelled, "alice")
    lost, _ = await _running(store, max_attempts=1)
    r, k = services.redis, store.keys
    await r.zadd(k.leases(k.partition_of_owner("alice")), {lost: 1})  # its lease lapsed
    assert (await store.claim("w-other", 1)).gave_up == 1
    assert await r.exists(k.events(cancelled)) == 0  # cancelled while pending: never a stream
    for job_id, code in ((failed, "llm_auth"), (cancelled, "cancelled"), (lost, "worker_lost")):
        event, want = await terminal(job_id)
        assert {f: event.data.get(f) for f in want} == want and want["error_code"] == code


async def test_a_retry_says_what_went_wrong_without_failing(services: Services) -> None:
    store = services.store
    job_id, lease = await _running(store)
    (ok,) = await store.finish_many([Outcome(
        job_id, lease, Ending.RETRY, serde.dumps({"code": "llm_unavailable", "message": "down"}),
        "retrying")])
    assert ok
    retry = (await store.events_after(job_id, None))[-1]
    assert retry.data["status"] == "pending" and "error" not in retry.data
    assert (retry.data["error_code"], retry.data["error_detail"]) == ("llm_unavailable", "down")


def test_the_scripts_and_the_reader_agree_on_the_log() -> None:
    lua = (files("jobgate.store") / "lua" / "_partition.lua").read_text()
    m = re.search(r"local LOG_CHUNKS, LOG_CHUNK_BYTES, LOG_MAX_BYTES, LOG_MAX_EVENTS = "
                  r"(\d+), (\d+), (\d+), (\d+)", lua)
    assert m is not None
    assert tuple(int(x) for x in m.groups()) == (
        eventlog.CHUNKS, eventlog.CHUNK_BYTES, eventlog.MAX_BYTES, eventlog.MAX_EVENTS)
    assert "n == 1 and 'log' or 'log' .. (n - 1)" in lua  # the names of FIELDS


def test_decoding_a_log() -> None:
    chunks = ['["1-0","state",{"a":', '1},"2-5","x y",[]]', None, None]
    assert eventlog.decode(chunks) == [("1-0", "state", '{"a":1}'), ("2-5", "x y", "[]")]
    assert eventlog.decode([None] * eventlog.CHUNKS) is None
    events = eventlog.decode(['["9-1","a",1,"10-0","b",2,"10-2","c",3]'])
    assert events is not None
    assert eventlog.after(events, "9-1", 10) == events[1:]  # numeric, not text, order
    assert eventlog.after(events, "10-1", 10) == events[2:]
    assert eventlog.after(events, None, 2) == events[:2]
