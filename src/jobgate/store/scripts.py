"""The Lua scripts, each assembled from the shared prelude (_lib.lua), for
those that move jobs within a partition the partition's key header
(_partition.lua), the script itself, and the rules (generated from job.py)
that these name. Run by EVALSHA through the store's access path, which loads
a script on a server that does not know it (a restart, a promoted replica)
and sends the call again.

EVALSHA runs a script's whole text on every call: each table a prelude
builds, and each function it defines, is built and collected again per
call. So a script takes from the shared prelude only the definitions it
uses (`_used_lib`), and from the rules only those it names (rules.py, which
also writes each state and message in as its literal): submit's script,
the hottest, defines one function and builds no table.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib.resources import files

from jobgate.store.rules import inline_constants, lua_rules

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
    parts = []
    if name in PARTITION_SCRIPTS:
        parts.append((_LUA / "_partition.lua").read_text())
    parts.append((_LUA / f"{name}.lua").read_text())
    body = "\n".join(parts)
    body = inline_constants(_used_lib((_LUA / "_lib.lua").read_text(), body) + "\n" + body)
    return lua_rules(body) + body


_WORD = re.compile(r"[A-Za-z_]\w*")
_DEFINES = re.compile(r"local\s+function\s+(\w+)|local\s+([\w\s,]+?)\s*=")


def _blocks(lib: str) -> list[tuple[set[str], str]]:
    """The prelude's top-level statements, each with the comment above it, and
    the names each defines (none: a statement kept whatever uses it). A
    statement starts at a line beginning `local` or `--` in the first column
    (a comment's following lines join it); the lines after it (indented, an
    `end`, blank) belong to it."""
    blocks: list[list[str]] = []
    prev = ""
    for line in lib.splitlines():
        if not blocks or (line.startswith(("local ", "--")) and not prev.startswith("--")):
            blocks.append([])
        blocks[-1].append(line)
        prev = line
    out = []
    for lines in blocks:
        code = next((x for x in lines if x.strip() and not x.startswith("--")), "")
        m = _DEFINES.match(code)
        names = set() if not m else {m.group(1)} if m.group(1) else set(_WORD.findall(m.group(2)))
        out.append((names, "\n".join(lines)))
    return out


def _used_lib(lib: str, body: str) -> str:
    """The prelude's definitions that `body` uses, directly or through another
    one, in their order (with every statement that defines nothing)."""
    blocks = _blocks(lib)
    keep = [not names for names, _ in blocks]
    words = set(_WORD.findall(body))
    grew = True
    while grew:
        grew = False
        for i, (names, text) in enumerate(blocks):
            if not keep[i] and names & words:
                keep[i], grew = True, True
                words |= set(_WORD.findall(text))
    return "\n".join(text for (_, text), k in zip(blocks, keep, strict=True) if k)


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
