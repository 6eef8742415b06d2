"""The Lua scripts, each assembled from the rules (generated from job.py), the
shared prelude and, for those that move jobs within a partition, the
partition's key header. Run by EVALSHA through the store's access path,
which loads a script on a server that does not know it (a restart, a
promoted replica) and sends the call again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files

from jobgate.store.rules import lua_rules

_LUA = files("jobgate.store") / "lua"
PARTITION_SCRIPTS = frozenset({"claim", "finish", "cancel", "handback"})
"""Scripts whose KEYS begin with the partition's ten keys (_partition.lua)."""


@dataclass(frozen=True, slots=True)
class Script:
    name: str
    source: str
    sha: str

    @classmethod
    def named(cls, name: str) -> Script:
        text = source(name)
        return cls(name, text, hashlib.sha1(text.encode()).hexdigest())


def source(name: str) -> str:
    parts = [lua_rules(), (_LUA / "_lib.lua").read_text()]
    if name in PARTITION_SCRIPTS:
        parts.append((_LUA / "_partition.lua").read_text())
    parts.append((_LUA / f"{name}.lua").read_text())
    return "\n".join(parts)


@dataclass(frozen=True, slots=True)
class Scripts:
    enqueue: Script
    claim: Script
    heartbeat: Script
    report: Script
    finish: Script
    cancel: Script
    handback: Script
    set_if_exists: Script
    archived: Script
    archive_lease: Script

    @classmethod
    def load(cls) -> Scripts:
        return cls(**{n: Script.named(n) for n in cls.__dataclass_fields__})
