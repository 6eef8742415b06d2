"""The words between the client core and its two drivers (sans-I/O).

Why a sans-I/O core and not one client generated from the other (unasync):
the decisions (which channel, when to resume and from which event, how long
to back off, when the deadline has passed) are what drifted between the two
hand-written clients, and they are what we want to test without a network.
Written once as generators that *yield* the I/O they need and *receive* its
outcome, they run unchanged under both drivers, and a test can drive them
with scripted answers and no sleeping. Generating `_sync.py` from `_async.py`
would still leave two copies of the logic to read and a list of token
rewrites to keep right (`aiter_lines`, websockets' two APIs, awaitable
callbacks, `asyncio.timeout` against a blocking read); here each driver is
one small table from action to call.

A plan is a generator: `value = yield action`. The driver performs the
action and sends its result back, or throws the exception it raised back
in (a `KeyboardInterrupt` or `CancelledError` too, so a plan can cancel its
job on the way out). `Emit` hands an item to the caller of an iterator
(`watch`). The driver closes whatever a plan left open when it is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
Plan = Generator["Action", Any, T]


@dataclass(frozen=True, slots=True)
class Send:
    """One HTTP request; the response. `stream`: its body is left unread."""

    method: str
    url: str
    timeout: httpx.Timeout
    params: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None
    json: Any = None
    stream: bool = False
    limit: float | None = None
    """Seconds this may take at most (the wait's deadline), None: no bound."""


@dataclass(frozen=True, slots=True)
class Read:
    """Read a streamed response's whole body (to decode an error answer)."""

    response: httpx.Response


@dataclass(frozen=True, slots=True)
class Lines:
    """The line reader of a streamed response; `Next` takes from it."""

    response: httpx.Response


@dataclass(frozen=True, slots=True)
class Next:
    """The next line from a `Lines` reader, or None at the end of the body."""

    lines: object
    limit: float | None = None


@dataclass(frozen=True, slots=True)
class Connect:
    """Open a WebSocket; the socket."""

    url: str
    headers: Mapping[str, str]
    limit: float


@dataclass(frozen=True, slots=True)
class Transmit:
    """Send one text message on a socket."""

    socket: object
    text: str


@dataclass(frozen=True, slots=True)
class Receive:
    """The next text message of a socket; `TimeoutError` after `limit` s of silence."""

    socket: object
    limit: float | None


@dataclass(frozen=True, slots=True)
class Close:
    """Close a streamed response or a socket."""

    resource: object


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


@dataclass(frozen=True, slots=True)
class Call:
    """Call the user's callback (the async driver awaits it if it returns an awaitable)."""

    callback: Callable[[Any], object]
    arg: object


@dataclass(frozen=True, slots=True)
class Emit:
    """Hand an item to the caller of an iterating plan."""

    item: object


Action = Send | Read | Lines | Next | Connect | Transmit | Receive | Close | Sleep | Call | Emit


def closing(resource: object, plan: Plan[T]) -> Plan[T]:
    """Run `plan`, then close `resource`, however it ended. When the plan itself
    is closed (its caller stopped iterating) nothing may be yielded: the
    driver closes what is still open."""
    try:
        value = yield from plan
    except GeneratorExit:
        raise
    except BaseException:
        yield Close(resource)
        raise
    yield Close(resource)
    return value


class Stepper:
    """The part of driving a plan that both drivers share: advancing it with the
    last outcome, and knowing which responses and sockets are still open."""

    def __init__(self, plan: Plan[Any]) -> None:
        self.plan = plan
        self.opened: dict[int, object] = {}
        self.result: Any = None
        self._value: Any = None
        self._error: BaseException | None = None

    def next(self) -> Action | None:
        """The plan's next action; None once it has returned (see `result`)."""
        try:
            if self._error is not None:
                action = self.plan.throw(self._error)
            else:
                action = self.plan.send(self._value)
        except StopIteration as stop:
            self.result = stop.value
            return None
        finally:
            self._value, self._error = None, None
        return action

    def done(self, action: Action, value: Any) -> None:
        """`action` gave `value`: the plan gets it next."""
        if isinstance(action, Connect) or (isinstance(action, Send) and action.stream):
            self.opened[id(value)] = value
        elif isinstance(action, Close):
            self.opened.pop(id(action.resource), None)
        self._value = value

    def failed(self, exc: BaseException) -> None:
        """The action raised: the plan gets the exception thrown in."""
        self._error = exc

    def left_open(self) -> list[object]:
        """Stop the plan; what it left open, for the driver to close."""
        self.plan.close()
        left, self.opened = list(self.opened.values()), {}
        return left
