"""Following many jobs on one connection, as a plan both clients run.

The WebSocket `{prefix}/ws` first (docs/websocket.md): subscribe each job by
id (with its `last_event_id` when resuming), or `all` for every job of the
caller including later ones. When the socket drops it reconnects (at once
after a 1001 shutdown, else with backoff) and resumes every job after its
last event, so each event is yielded exactly once. When the socket is
refused (an old server, a proxy without the upgrade) it follows the
user-wide SSE feed `{prefix}/events` instead, resuming with its cursor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import httpx
import orjson

from jobgate.client import _core as core
from jobgate.client import _plans as plans
from jobgate.client._actions import Connect, Emit, Plan, Receive, Sleep, Transmit, closing
from jobgate.client._errors import APIError, AuthError, ClientError, JobTimeout, TransportError
from jobgate.client._feed import Feed, FeedEnded
from jobgate.client._tracker import Tracker, parse_result
from jobgate.client._update import JobUpdate, error_of
from jobgate.models import JobEvent

if TYPE_CHECKING:
    from websockets.exceptions import ConnectionClosed

WatchTransport = Literal["auto", "websocket", "sse"]
OPEN_TIMEOUT_S = 10.0
SOCKET_SILENCE_S = 35.0
"""No message (not even a heartbeat, sent after 15 s of quiet) for this long: the socket is dead."""
GIVE_UP_CODES = {1002, 1003, 1007, 1008, 1009, 1010}
"""Close codes that say our messages are wrong: reconnecting would not help."""


class Refused(Exception):
    """The server (or a proxy) will not upgrade to a WebSocket here."""


class Dropped(Exception):
    """The socket closed or went silent; reconnect and resume. `code`: its close code."""

    def __init__(self, code: int | None) -> None:
        super().__init__(f"socket closed ({code})")
        self.code = code


def socket_url(base_url: str, paths: core.Paths) -> str:
    scheme, sep, rest = base_url.partition("://")
    ws = {"http": "ws", "https": "wss"}.get(scheme, scheme)
    return f"{ws}{sep}{rest}{paths('ws')}"


def watch(
    s: plans.Session, headers: Mapping[str, str], base_url: str, job_ids: Iterable[str], *,
    every: bool, timeout: float | None, transport: WatchTransport,
) -> Plan[None]:
    return (yield from Watch(s, headers, base_url, list(job_ids), every, timeout,
                             transport).run())


class Watch:
    """One watch: what is followed, where each job is, which way we listen."""

    def __init__(
        self, s: plans.Session, headers: Mapping[str, str], base_url: str, job_ids: list[str],
        every: bool, timeout: float | None, transport: WatchTransport,
    ) -> None:
        if not job_ids and not every:
            raise ValueError("watch what? give job ids, or all=True")
        self.s = s
        self.url = socket_url(base_url, s.paths)
        self.headers = {k: v for k, v in headers.items() if k.lower() != "accept"}
        self.every = every
        self.deadline = s.deadline(timeout)
        self.mode: WatchTransport = "websocket" if transport == "auto" else transport
        self.fallback = transport == "auto"
        self.trackers = {job_id: Tracker(job_id) for job_id in dict.fromkeys(job_ids)}
        self.listed = set(self.trackers)
        self.ended: set[str] = set()
        self.failures = 0
        self.feed = Feed(self)

    @property
    def finished(self) -> bool:
        return not self.every and self.listed <= self.ended

    def pending(self) -> list[Tracker]:
        return [t for job_id, t in self.trackers.items() if job_id not in self.ended]

    def run(self) -> Plan[None]:
        while not self.finished:
            if self.deadline.expired:
                return self._timed_out()
            try:
                if self.mode == "websocket":
                    yield from self._socket()
                else:
                    yield from self.feed.follow()
            except Refused:
                if not self.fallback:
                    raise APIError(426, "the server did not accept a WebSocket", "ws_refused") \
                        from None
                self.mode = "sse"
            except (Dropped, FeedEnded, OSError, TimeoutError, httpx.TransportError,
                    TransportError) as exc:
                if self.deadline.expired:
                    return self._timed_out()
                yield from self._backoff(exc)

    def _timed_out(self) -> None:
        if not self.every:
            left = sorted(self.listed - self.ended)
            raise JobTimeout(", ".join(left), self.deadline.timeout)

    def _backoff(self, exc: Exception) -> Plan[None]:
        """A quick comeback after a shutdown (1001), else capped backoff; give up
        after the retry budget of failures in a row."""
        if self.failures >= self.s.retry.retries:
            raise TransportError(f"watch gave up: {type(exc).__name__}: {exc}") from exc
        quick = isinstance(exc, Dropped) and exc.code == 1001 and self.failures == 0
        if not quick:
            yield Sleep(self.deadline.clamp(self.s.retry.backoff(self.failures)))
        self.failures += 1

    # -- the WebSocket -----------------------------------------------------------------

    def _socket(self) -> Plan[None]:
        try:
            socket = yield Connect(self.url, self.headers, self.deadline.clamp(OPEN_TIMEOUT_S))
        except Exception as exc:
            raise connect_problem(exc) from exc
        yield from closing(socket, self._talk(socket))

    def _talk(self, socket: object) -> Plan[None]:
        from websockets.exceptions import ConnectionClosed

        try:
            for tracker in self.pending():
                yield Transmit(socket, subscribe(tracker.job_id, tracker.last_event_id))
            if self.every:
                yield Transmit(socket, '{"type":"subscribe","all":true}')
            while not self.finished and not self.deadline.expired:
                text = yield Receive(socket, self.deadline.clamp(SOCKET_SILENCE_S))
                yield from self.on_message(orjson.loads(text))
        except TimeoutError as exc:
            raise Dropped(None) from exc
        except ConnectionClosed as exc:
            raise closed_problem(exc) from exc

    # -- messages (the socket's, and the feed's which are the same) ---------------------

    def on_message(self, msg: Any) -> Plan[None]:
        """Take one server message; emit what the caller has not seen yet."""
        if not isinstance(msg, dict):
            return
        self.failures = 0  # the server is there and talking (a heartbeat, an ack too)
        job_id, kind = msg.get("job_id"), msg.get("type")
        if kind == "error":
            yield from self._on_error(job_id, msg)
            return
        tracker = self._tracker(job_id)
        if tracker is None:
            return
        if kind == "result" and tracker.result is None:
            tracker.result = parse_result(msg.get("data"))
            if tracker.result is not None:
                yield Emit(JobUpdate(tracker.job_id, result=tracker.result))
        elif kind == "event":
            data = msg.get("data")
            event = JobEvent(id=str(msg.get("id") or ""), type=str(msg.get("event")),
                             data=data if isinstance(data, dict) else {})
            yield from self.take_event(tracker, event)

    def take_event(self, tracker: Tracker, event: JobEvent) -> Plan[None]:
        if not tracker.is_new(event) or tracker.job_id in self.ended:
            return
        tracker.on_event(event)
        yield Emit(JobUpdate(tracker.job_id, event=event))
        if tracker.terminal:
            self.ended.add(tracker.job_id)

    def _tracker(self, job_id: object) -> Tracker | None:
        if not isinstance(job_id, str):
            return None
        if job_id not in self.trackers and self.every:
            self.trackers[job_id] = Tracker(job_id)
        return self.trackers.get(job_id)

    def _on_error(self, job_id: object, msg: dict[str, Any]) -> Plan[None]:
        code, detail = str(msg.get("code") or "error"), msg.get("detail") or ""
        if code == "store_unavailable":
            raise Dropped(1013)  # the server says: try again
        if not isinstance(job_id, str) or job_id not in self.trackers:
            if code == "invalid_request":
                raise APIError(400, detail, code)
            return
        self.ended.add(job_id)
        yield Emit(JobUpdate(job_id, error=error_of(code, detail)))


def subscribe(job_id: str, last_event_id: str | None) -> str:
    msg: dict[str, str] = {"type": "subscribe", "job_id": job_id}
    if last_event_id:
        msg["last_event_id"] = last_event_id
    return orjson.dumps(msg).decode()


def connect_problem(exc: Exception) -> Exception:
    """What a failed WebSocket handshake means: refused (fall back), signed
    out, or the server is away for now (retry)."""
    from websockets.exceptions import InvalidHandshake, InvalidStatus

    if isinstance(exc, InvalidStatus):
        code = exc.response.status_code
        if code == 401:
            return AuthError(401, "not signed in", "unauthorized")
        if code in (502, 503, 504, 524) or code == 429:
            return Dropped(None)
        return Refused(code)
    if isinstance(exc, InvalidHandshake):
        return Refused(None)
    if isinstance(exc, OSError | TimeoutError):
        return exc
    return ClientError(f"{type(exc).__name__}: {exc}")


def closed_problem(exc: ConnectionClosed) -> Exception:
    """What a socket closing under us means: 4401 signed out, a protocol
    complaint (give up), anything else drop-and-resume."""
    code = exc.rcvd.code if exc.rcvd is not None else None
    if code == 4401:
        return AuthError(401, exc.rcvd.reason if exc.rcvd else "not signed in", "unauthorized")
    if code in GIVE_UP_CODES:
        return ClientError(f"the server closed the socket ({code}): {exc}")
    return Dropped(code)

