"""The job's rules from `jobgate.job`, written out as Lua for the scripts.

Prepended to every script when it is loaded: the scripts never spell a
state, a message, a priority or a transition of their own, so the rules
live in one place (job.py), and a property test drives both sides.
"""

from __future__ import annotations

from jobgate.job import (
    MESSAGES,
    PRIORITY_ORDER,
    WORKER_LOST,
    Ending,
    JobState,
    transitions,
)


def _lua_str(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _table(pairs: dict[str, str]) -> str:
    return "{" + ", ".join(f"[{_lua_str(k)}] = {v}" for k, v in pairs.items()) + "}"


def lua_rules() -> str:
    may = {
        src.value: _table({dst.value: "true" for dst in sorted(dsts)})
        for src, dsts in transitions().items()
    }
    lines = [
        "-- Generated from jobgate/job.py by store/rules.py: edit the rules there.",
        "local ST = " + _table({s.name: _lua_str(s.value) for s in JobState}),
        "local MAY = " + _table(may),
        "local PRIORITIES = {" + ", ".join(_lua_str(p.value) for p in PRIORITY_ORDER) + "}",
        "local MSG = " + _table({k: _lua_str(v) for k, v in MESSAGES.items()}),
        "local ENDING_STATE = " + _table({e.value: _lua_str(e.state.value) for e in Ending}),
        f"local WORKER_LOST = {_lua_str(WORKER_LOST)}",
        "-- job.should_retry: attempts are counted from 1; the last one is max_attempts",
        "local function may_retry(attempt, max_attempts) return attempt < max_attempts end",
        "local function may_move(from, to) return MAY[from] ~= nil and MAY[from][to] == true end",
    ]
    return "\n".join(lines) + "\n"
