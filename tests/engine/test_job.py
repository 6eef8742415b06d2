"""Pure decisions about a job: no Redis, no sleep."""

from __future__ import annotations

import random
import uuid

import pytest

from jobgate.job import (
    ACTIVE,
    MESSAGES,
    ORPHANED_MESSAGE,
    TERMINAL,
    Ending,
    Failure,
    Job,
    JobState,
    Priority,
    can_transition,
    end_of_attempt,
    estimated_remaining,
    is_valid_job_id,
    lost_worker_end,
    new_job_id,
    next_retry_delay,
    partition_of,
    should_retry,
)


def _job(**over: object) -> Job:
    base: dict[str, object] = dict(
        id=new_job_id(), kind="k", owner="alice", state=JobState.PROCESSING,
        priority=Priority.NORMAL, attempt=1, max_attempts=3, created_us=1, updated_us=1,
    )
    base.update(over)
    return Job(**base)  # type: ignore[arg-type]


def test_states_partition() -> None:
    assert set(JobState) == TERMINAL | ACTIVE
    assert not TERMINAL & ACTIVE


@pytest.mark.parametrize("src", sorted(TERMINAL))
@pytest.mark.parametrize("dst", sorted(JobState))
def test_terminal_states_never_change(src: JobState, dst: JobState) -> None:
    assert not can_transition(src, dst)


def test_allowed_transitions() -> None:
    assert can_transition(JobState.PENDING, JobState.PROCESSING)
    assert can_transition(JobState.PROCESSING, JobState.PENDING)  # retry / lost worker
    assert can_transition(JobState.PROCESSING, JobState.COMPLETED)
    assert not can_transition(JobState.PENDING, JobState.COMPLETED)


def test_retry_delay_grows_and_is_capped() -> None:
    rng = random.Random(7)
    delays = [next_retry_delay(n, 1.0, 8.0, rng) for n in range(1, 8)]
    for n, d in enumerate(delays, start=1):
        ceiling = min(8.0, 2.0 ** (n - 1))
        assert ceiling / 2 <= d <= ceiling
    assert max(delays) <= 8.0


def test_should_retry_counts_attempts() -> None:
    assert should_retry(1, 3) and should_retry(2, 3)
    assert not should_retry(3, 3)


def test_estimate_extrapolates_from_run_time() -> None:
    assert estimated_remaining(0.25, 0, 10_000_000) == 30.0
    assert estimated_remaining(0.0, 0, 10_000_000, default_s=42.0) == 42.0
    assert estimated_remaining(1.0, 0, 10_000_000) == 0.0
    assert estimated_remaining(0.5, None, 10_000_000) is None


def test_orphaned_job_is_reported_as_waiting_for_retry() -> None:
    job = _job(lease_until_us=1_000)
    assert job.is_lease_expired(2_000)
    seen = job.as_seen(2_000)
    assert seen.state is JobState.PENDING and seen.message == ORPHANED_MESSAGE
    assert job.as_seen(500) is job


def test_job_ids_are_uuid4_with_122_random_bits_and_name_their_partition() -> None:
    ids = {new_job_id(p % 16) for p in range(1000)}
    assert len(ids) == 1000
    for i in ids:
        head, _, part = i.rpartition("-p")
        u = uuid.UUID(head)
        assert u.version == 4 and u.variant == uuid.RFC_4122
        assert is_valid_job_id(i) and partition_of(i) == int(part) < 16
    assert not is_valid_job_id("../../etc/passwd")
    assert not is_valid_job_id(str(uuid.uuid1()) + "-p1")
    assert not is_valid_job_id(str(uuid.uuid4()))  # no partition
    assert not is_valid_job_id(str(uuid.uuid4()) + "-p01")  # one spelling per partition


def test_an_attempt_that_returned_completes() -> None:
    end = end_of_attempt(None, attempt=1, max_attempts=3)
    assert end.ending is Ending.COMPLETE and end.ending.state is JobState.COMPLETED


@pytest.mark.parametrize("failure", [Failure.RETRYABLE, Failure.STORE_DOWN])
def test_a_transient_failure_retries_until_the_last_attempt(failure: Failure) -> None:
    end = end_of_attempt(failure, attempt=2, max_attempts=3, code="c", detail="d",
                         retry_delay_s=1.5)
    assert end.ending is Ending.RETRY and end.ending.state is JobState.PENDING
    assert end.retry_delay_s == 1.5 and end.error == {"code": "c", "message": "d"}
    assert end_of_attempt(failure, attempt=2, max_attempts=3, code="c", detail="d",
                          retry_after_s=7.0, retry_delay_s=1.5).retry_delay_s == 7.0
    last = end_of_attempt(failure, attempt=3, max_attempts=3, code="c", detail="d")
    assert last.ending is Ending.FAIL and last.error is not None
    assert last.error["message"] == "d (gave up after 3 of 3 attempts)"


@pytest.mark.parametrize(
    "failure", [Failure.PERMANENT, Failure.TIMEOUT, Failure.BAD_RESULT, Failure.CRASH]
)
def test_other_failures_fail_at_once(failure: Failure) -> None:
    end = end_of_attempt(failure, attempt=1, max_attempts=3, code="c", detail="boom")
    assert end.ending is Ending.FAIL and end.message == "failed: boom"


def test_a_lost_worker_requeues_until_no_attempts_are_left() -> None:
    assert lost_worker_end(1, 3) == (JobState.PENDING, ORPHANED_MESSAGE, None)
    state, message, error = lost_worker_end(3, 3)
    assert state is JobState.FAILED and message == MESSAGES["lost_gave_up"]
    assert error == {"code": "worker_lost",
                     "message": "worker lost during attempt 3 of 3; no attempts left"}


def test_from_hash_round_trip() -> None:
    raw = {
        "id": new_job_id(), "kind": "k", "owner": "o", "state": "completed",
        "priority": "high", "attempt": "2", "max_attempts": "3", "created": "10",
        "updated": "20", "completed": "30", "progress": "1", "result": '{"a": 1}',
        "step": '{"agent": "x", "index": 1, "total": 2}',
    }
    job = Job.from_hash(raw)
    assert job.terminal and job.priority is Priority.HIGH
    assert job.result == {"a": 1} and job.step == {"agent": "x", "index": 1, "total": 2}
