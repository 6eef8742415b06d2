"""The job's rules from `jobgate.job`, written into the scripts as Lua.

The scripts never spell a state, a message, a priority or a transition of
their own, so the rules live in one place (job.py), and a property test
drives both sides. scripts.py assembles each script with the rules it uses:
a state or message it names (`ST.PENDING`, `MSG.queued`) becomes job.py's
literal when the script is loaded (a name job.py lacks fails the load), and
the prelude defines only the tables and functions the script refers to.
Why so frugal: EVALSHA runs the whole text on every call, so each table in
a prelude is built, and collected, per call; the transition table is built
at the first check that needs it, and submit's script builds none.
"""

from __future__ import annotations

import re

from jobgate.job import (
    MESSAGES,
    PRIORITY_ORDER,
    WORKER_LOST,
    Ending,
    JobState,
    transitions,
)

_NAMED = re.compile(r"\b(ST|MSG)\.([A-Za-z_]\w*)")


def _lua_str(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _table(pairs: dict[str, str]) -> str:
    return "{" + ", ".join(f"[{_lua_str(k)}] = {v}" for k, v in pairs.items()) + "}"


def constants() -> dict[str, str]:
    """Every `ST.<STATE>` and `MSG.<name>` a script may spell, and its text."""
    named = {f"ST.{s.name}": s.value for s in JobState}
    return named | {f"MSG.{k}": v for k, v in MESSAGES.items()}


def inline_constants(lua: str) -> str:
    """`lua` with each state and message it names written as its literal."""
    known = constants()

    def literal(m: re.Match[str]) -> str:
        if m.group(0) not in known:
            raise KeyError(f"{m.group(0)} in a script: jobgate.job has no such state or message")
        return _lua_str(known[m.group(0)])

    return _NAMED.sub(literal, lua)


def _definitions() -> dict[str, str]:
    """Each rule's Lua, by the name a script refers to it with."""
    may = {
        src.value: _table({dst.value: "true" for dst in sorted(dsts)})
        for src, dsts in transitions().items()
    }
    return {
        # a script that reads them by a computed name gets the whole table
        "ST": "local ST = " + _table({s.name: _lua_str(s.value) for s in JobState}),
        "MSG": "local MSG = " + _table({k: _lua_str(v) for k, v in MESSAGES.items()}),
        "PRIORITIES": "local PRIORITIES = {"
        + ", ".join(_lua_str(p.value) for p in PRIORITY_ORDER) + "}",
        "ENDING_STATE": "local ENDING_STATE = "
        + _table({e.value: _lua_str(e.state.value) for e in Ending}),
        "WORKER_LOST": f"local WORKER_LOST = {_lua_str(WORKER_LOST)}",
        "may_retry": "-- job.should_retry: attempts count from 1; the last one is max_attempts\n"
        "local function may_retry(attempt, max_attempts) return attempt < max_attempts end",
        "may_move": "local MAY  -- the transition table, built at the first check in a call\n"
        "local function may_move(from, to)\n"
        f"  if not MAY then MAY = {_table(may)} end\n"
        "  return MAY[from] ~= nil and MAY[from][to] == true\n"
        "end",
    }


def lua_rules(body: str) -> str:
    """The prelude of a script whose text (constants inlined) is `body`: the
    rules it refers to by name."""
    lines = ["-- Generated from jobgate/job.py by store/rules.py: edit the rules there."]
    lines += [lua for name, lua in _definitions().items() if re.search(rf"\b{name}\b", body)]
    return "\n".join(lines) + "\n"
