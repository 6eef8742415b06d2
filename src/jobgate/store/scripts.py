"""Loads the Lua scripts, each with the shared prelude, as redis-py Scripts.

A Script runs by EVALSHA and reloads itself on NOSCRIPT, so a Valkey restart
(which forgets loaded scripts) costs one extra round trip, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

_LUA = files("jobgate.store") / "lua"


def _source(name: str) -> str:
    return (_LUA / "_lib.lua").read_text() + "\n" + (_LUA / f"{name}.lua").read_text()


@dataclass(frozen=True, slots=True)
class Scripts:
    enqueue: AsyncScript
    claim: AsyncScript
    heartbeat: AsyncScript
    report: AsyncScript
    finish: AsyncScript
    cancel: AsyncScript
    handback: AsyncScript

    @classmethod
    def register(cls, redis: Redis) -> Scripts:
        names = cls.__dataclass_fields__
        return cls(**{n: redis.register_script(_source(n)) for n in names})
