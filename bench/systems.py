"""The systems compared, with the delivery guarantee each gives as configured."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class System:
    name: str
    driver: str
    variant: str = "default"
    peer: bool = True
    guarantee: str = ""
    concurrency_note: str = ""
    root: str = ""  # a baseline: jobgate and its driver from this checkout of an older commit

    def args(self, python: str, command: str, url: str, *extra: str) -> list[str]:
        # -P: the checkout on PYTHONPATH, not the current directory, provides `bench`
        isolate = ["-P"] if self.root else []
        return [python, *isolate, "-m", f"bench.drivers.{self.driver}", command, "--url", url,
                "--variant", self.variant, *extra]

    def pythonpath(self, default: str) -> str:
        return f"{self.root}:{self.root}/src" if self.root else default


SYSTEMS = [
    System("jobgate", "jobgate", peer=False, guarantee=(
        "at-least-once; leased claim (10 s), fenced completion, lost job re-run in ~15 s")),
    System("jobgate + history", "jobgate", variant="history", peer=False, guarantee=(
        "as jobgate, and every worker process copies each finished job into SQL (SQLite)")),
    System("arq", "arq", guarantee=(
        "at-least-once after the job timeout (in-progress key); worker polls every 0.5 s")),
    System("arq poll 0.01", "arq", variant="fast", guarantee="as arq; poll_delay=0.01"),
    System("saq", "saq", guarantee=(
        "at-least-once via sweep of stuck jobs (timeout/heartbeat based)")),
    System("streaq", "streaq", guarantee=(
        "at-least-once; stream consumer group, idle tasks reclaimed (idle_timeout 60 s)")),
    System("taskiq stream", "taskiq", guarantee=(
        "at-least-once; stream consumer group with acks (RedisStreamBroker)")),
    System("celery threads", "celery", guarantee=(
        "at-most-once by default (ack on receipt, acks_late off)")),
    System("rq", "rq", guarantee="at-most-once; a lost job lands in the failed registry",
           concurrency_note="concurrency 1: RQ runs one job per worker process (SimpleWorker)"),
]


def baseline(rev: str, root: str) -> System:
    """jobgate as it was at `rev`, measured in the same run as today's code and the peers."""
    return System(f"jobgate@{rev}", "jobgate", peer=False, root=root,
                  guarantee="the same engine at an earlier commit")


def by_name(names: list[str] | None) -> list[System]:
    if not names:
        return list(SYSTEMS)
    wanted = {n.strip() for n in names}
    return [s for s in SYSTEMS if s.name in wanted or s.driver in wanted]
