"""Every key a script touches comes from KEYS: read every script and check.

On a cluster a script is routed by its declared keys; a key it builds itself
(`ns .. ':job:' .. id`) may live on another node, or work by luck. The rule
the scripts follow, checked here: a key in a `redis.call` is `KEYS[...]`, a
variable named `*_key`, or an element of a list named `*_keys`; such
variables and lists are only ever filled from KEYS (directly, or through a
function parameter named `*_key` at every call site).
"""

from __future__ import annotations

import re

import pytest

from jobgate.store.scripts import Scripts, source

NAMES = sorted(Scripts.__dataclass_fields__)
NO_KEY = {"TIME"}
KEY_AFTER_SUBCOMMAND = {"OBJECT"}  # OBJECT ENCODING <key>
FORBIDDEN = {"PUBLISH", "KEYS", "SCAN", "EVAL", "EVALSHA"}


def _indexes(expr: str) -> bool:
    """`KEYS[...]` or `<name>_keys[...]`: one indexing, its brackets balanced."""
    m = re.match(r"^(KEYS|[A-Za-z_]*_keys)\[", expr)
    if not m or not expr.endswith("]"):
        return False
    depth = 0
    for i, c in enumerate(expr[m.end() - 1:], start=m.end() - 1):
        depth += {"[": 1, "]": -1}.get(c, 0)
        if depth == 0:
            return i == len(expr) - 1
    return False


class _Pattern:
    def __init__(self, allow_names: bool) -> None:
        self.allow_names = allow_names

    def match(self, expr: str) -> bool:
        return _indexes(expr) or (self.allow_names and bool(re.fullmatch(r"[A-Za-z_]*_key", expr)))


KEY_EXPR = _Pattern(allow_names=True)
FROM_KEYS = _Pattern(allow_names=False)


def strip_comments(text: str) -> str:
    out, i, quote = [], 0, ""
    while i < len(text):
        c = text[i]
        if quote:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1])
                i += 1
            elif c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
            out.append(c)
        elif text.startswith("--", i):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def split_args(text: str, start: int) -> list[str]:
    """The top-level comma-separated arguments of the call whose '(' is at start."""
    depth, quote, args, cur = 0, "", [], ""
    for c in text[start:]:
        if quote:
            cur += c
            quote = "" if c == quote else quote
            continue
        if c in "'\"":
            quote = c
        elif c in "([{":
            depth += 1
            if depth == 1:
                continue
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args.append(cur.strip())
                return [a for a in args if a]
        elif c == "," and depth == 1:
            args.append(cur.strip())
            cur = ""
            continue
        cur += c
    raise AssertionError("unbalanced call")


def _calls(text: str) -> list[str]:
    found = []
    for m in re.finditer(r"redis\.p?call\(", text):
        args = split_args(text, m.end() - 1)
        cmd = args[0]
        if not re.fullmatch(r"'[A-Z]+'", cmd):
            found.append(f"a command that is not a literal: {cmd}")
            continue
        name = cmd.strip("'")
        if name in FORBIDDEN:
            found.append(f"{name} is not allowed in a script")
        elif name not in NO_KEY:
            key = args[2] if name in KEY_AFTER_SUBCOMMAND else args[1]
            if not KEY_EXPR.match(key):
                found.append(f"{name} on a key not from KEYS: {key}")
    return found


def _assignments(text: str) -> list[str]:
    found = []
    lhs = r"(?:local\s+)?((?:[A-Za-z_]\w*\s*,\s*)*[A-Za-z_]\w*)\s*=(?!=)\s*"
    for m in re.finditer(lhs, text):
        names = [n.strip() for n in m.group(1).split(",")]
        if not any(n.endswith(("_key", "_keys")) for n in names):
            continue
        line = text[m.end():].split("\n", 1)[0]
        values = [line] if line.startswith("{") else split_args("(" + line + ")", 0)
        for n, v in zip(names, values, strict=False):
            if n.endswith("_key") and not FROM_KEYS.match(v):
                found.append(f"{n} is not filled from KEYS: {v}")
            if n.endswith("_keys"):
                items = split_args(v, 0) if v.startswith("{") else [v]
                found += [f"{n} holds {x}, not a KEYS entry" for x in items
                          if not KEY_EXPR.match(x)]
    return found


def _parameters(text: str) -> list[str]:
    found = []
    for m in re.finditer(r"local function (\w+)\(([^)]*)\)", text):
        params = [p.strip() for p in m.group(2).split(",")]
        at = [i for i, p in enumerate(params) if p.endswith("_key")]
        for call in re.finditer(rf"(?<![\w.]){m.group(1)}\(", text) if at else ():
            if text[call.start() - 15:call.start()].endswith("local function "):
                continue
            args = split_args(text, call.end() - 1)
            found += [f"{m.group(1)} gets {args[i]} as a key" for i in at
                      if i < len(args) and not KEY_EXPR.match(args[i])]
    for m in re.finditer(r"for\s+[\w\s,]*?(\w+_key)\s+in\s+ipairs\((\w+)\)", text):
        if not m.group(2).endswith("_keys"):
            found.append(f"{m.group(1)} iterates {m.group(2)}")
    return found


def problems(text: str) -> list[str]:
    text = strip_comments(text)
    return _calls(text) + _assignments(text) + _parameters(text)


@pytest.mark.parametrize("name", NAMES)
def test_every_key_comes_from_KEYS(name: str) -> None:
    assert problems(source(name)) == []


@pytest.mark.parametrize("bad", [
    "redis.call('HGET', ns .. ':job:' .. id, 'state')",
    "local job_key = ARGV[1] .. ':job'",
    "redis.call('PUBLISH', KEYS[1], 'x')",
    "local queue_keys = {KEYS[1], ARGV[2]}",
    "local function f(job_key) return 1 end\nf('x:' .. id)",
    "redis.call(cmd, KEYS[1])",
    "redis.call('GET', KEYS[1] .. ARGV[1])",
    "redis.call('OBJECT', 'ENCODING', ARGV[1])",
    "for _, k in ipairs({KEYS[1]}) do redis.call('GET', k) end",
])
def test_the_check_catches_a_key_built_in_lua(bad: str) -> None:
    assert problems(bad)
