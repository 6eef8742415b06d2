"""How a script is assembled: each takes only the rules and shared
definitions it uses (EVALSHA runs all of its text on every call), with
job.py's states and messages written in."""

from __future__ import annotations

import re

import pytest

from jobgate.job import MESSAGES, JobState
from jobgate.store.rules import inline_constants, lua_rules
from jobgate.store.scripts import PARTITION_SCRIPTS, Scripts, _used_lib, source

LIB = """-- header
local function a() return 1 end

-- b uses a
local function b() return a() end
local C, D = 1, {}
local function unused() return C end
"""


def test_submit_builds_no_table_and_defines_only_what_it_calls() -> None:
    text = source("enqueue")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    assert re.findall(r"^local function (\w+)", code, re.M) == ["now_us"]
    assert "{" not in code.split("local job_key")[0]  # no table before the script's own code
    assert "'pending'" in text and "'queued'" in text and "ST." not in code


def test_a_script_gets_the_definitions_it_uses_and_theirs() -> None:
    assert _used_lib(LIB, "b()") == LIB.split("local C")[0].rstrip("\n")
    assert "local C, D" in _used_lib(LIB, "x = D")
    assert "unused" not in _used_lib(LIB, "b() + D")
    assert _used_lib(LIB, "nothing") == ""  # a comment goes with the definition under it


def test_states_and_messages_are_job_pys_and_a_wrong_name_fails_the_load() -> None:
    assert inline_constants("x = ST.PROCESSING .. MSG.handed_back") == (
        f"x = '{JobState.PROCESSING.value}' .. '{MESSAGES['handed_back']}'")
    with pytest.raises(KeyError, match=r"ST\.PROCESING"):
        inline_constants("if s == ST.PROCESING then end")


def test_the_rules_a_script_names_are_defined_before_it() -> None:
    assert re.findall(r"local (?:function )?(\w+)", lua_rules("may_retry(1, 2)")) == ["may_retry"]
    assert "local MAY" in lua_rules("check_move(a, b) -- calls may_move")
    assert lua_rules("return 1").count("local") == 0
    for name in set(Scripts.__dataclass_fields__) - PARTITION_SCRIPTS:  # (_partition.lua whole)
        text = source(name)
        for defined in re.findall(r"^local function (\w+)", text, re.M):
            assert len(re.findall(rf"\b{defined}\(", text)) > 1, (name, defined)
