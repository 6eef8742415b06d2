"""The messages of the per-user feeds (WebSocket `/ws`, SSE `/events`): pure.

A client's message becomes a typed command, or an `InvalidRequest` naming
what is wrong with it; a server message is built as JSON text once, with an
event's data passed on as the JSON it is stored as (never parsed and
re-encoded). The shapes are the contract of issue 17, in docs/websocket.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from jobgate import serde
from jobgate.errors import InvalidRequest

HEARTBEAT = '{"type":"heartbeat"}'
_ID = Annotated[str, Field(min_length=1, max_length=100)]


class Close(IntEnum):
    """WebSocket close codes the server sends (docs/websocket.md says what a client does)."""

    GOING_AWAY = 1001  # the API process is stopping: reconnect and resume
    TOO_BIG = 1009  # a client message over JOBGATE_WS_MAX_MESSAGE_BYTES
    SERVER_ERROR = 1011
    TRY_LATER = 1013  # the sign-in service or Valkey is unreachable
    UNAUTHORIZED = 4401
    NOT_READING = 4408  # a send stalled JOBGATE_WS_SEND_TIMEOUT_S
    TOO_MANY_SOCKETS = 4429


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Auth(_Command):
    type: Literal["auth"]
    token: str = Field(min_length=1, max_length=8192)


class _Target(_Command):
    """A command about one job (`job_id`) or about all of them (`all: true`)."""

    job_id: _ID | None = None
    all: bool = False

    @model_validator(mode="after")
    def _one_target(self) -> _Target:
        if (self.job_id is None) == (not self.all):
            raise ValueError('give either "job_id" or "all": true')
        return self


class Subscribe(_Target):
    type: Literal["subscribe"]
    last_event_id: str | None = Field(default=None, max_length=50)


class Unsubscribe(_Target):
    type: Literal["unsubscribe"]


class Cancel(_Command):
    type: Literal["cancel"]
    job_id: _ID


Command = Annotated[Auth | Subscribe | Unsubscribe | Cancel, Field(discriminator="type")]
_COMMAND: TypeAdapter[Auth | Subscribe | Unsubscribe | Cancel] = TypeAdapter(Command)


def parse_command(text: str) -> Auth | Subscribe | Unsubscribe | Cancel:
    """A client message, or InvalidRequest with the first thing wrong with it."""
    try:
        return _COMMAND.validate_json(text)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        raise InvalidRequest(f"{where}: {err['msg']}" if where else err["msg"]) from None


def job_of(text: str) -> str | None:
    """The `job_id` of a message that could not be parsed, if it has a usable one,
    so the error names the job it is about."""
    try:
        value = serde.loads(text)
    except ValueError:
        return None
    job_id = value.get("job_id") if isinstance(value, dict) else None
    return job_id if isinstance(job_id, str) and 0 < len(job_id) <= 100 else None


@dataclass(frozen=True, slots=True)
class Out:
    """One message on its way to a client, encoded once.

    `text` None is bookkeeping only (a job's follow ended without a terminal
    event): nothing is sent, but the SSE feed drops the job from its cursor.
    """

    text: str | None
    job_id: str | None = None
    event_id: str | None = None  # set on `event` messages: the job's new position
    ends: bool = False  # the job's last message on this connection

    @property
    def size(self) -> int:
        return len(self.text) if self.text else 0


def event(job_id: str, event_id: str, etype: str, data_json: str, *, terminal: bool) -> Out:
    text = (f'{{"type":"event","job_id":{serde.dumps(job_id)},"id":{serde.dumps(event_id)},'
            f'"event":{serde.dumps(etype)},"data":{data_json}}}')
    return Out(text, job_id, event_id, ends=terminal)


def result(job_id: str, body_json: str) -> Out:
    return Out(f'{{"type":"result","job_id":{serde.dumps(job_id)},"data":{body_json}}}', job_id)


def error(job_id: str | None, code: str, detail: str) -> Out:
    return Out(serde.dumps({"type": "error", "job_id": job_id, "code": code, "detail": detail}))


def ack(op: str, *, job_id: str | None = None, **fields: object) -> Out:
    body: dict[str, object] = {"type": "ack", "op": op}
    if job_id is not None:
        body["job_id"] = job_id
    body.update(fields)
    return Out(serde.dumps(body))


def ended(job_id: str) -> Out:
    """The job's follow ended without a terminal event (it expired, or went away)."""
    return Out(None, job_id, ends=True)
