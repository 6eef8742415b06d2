"""Every knob of jobgate in one pydantic-settings object.

Code receives a `Settings` instance; nothing below this module reads
`os.environ`. Env names are the contract in ARCHITECTURE.md. A `Settings`
is frozen: a process builds its final one before anything holds it
(`jobgate up` with `model_copy(update=...)` once), so every part sees the
same values for its whole life.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_ORIGIN = re.compile(r"^https?://[a-z0-9.\-\[\]:]+$")


class Settings(BaseSettings):
    """Server-side settings (API, workers, embedded Valkey)."""

    model_config = SettingsConfigDict(
        env_prefix="JOBGATE_", extra="ignore", populate_by_name=True, frozen=True
    )

    redis_url: str | None = None
    # standalone: the URL is the server; sentinel: it lists the sentinels and
    # redis_sentinel_master names the primary; cluster: it names any node.
    redis_mode: Literal["standalone", "cluster", "sentinel"] = "standalone"
    redis_sentinel_master: str | None = None
    # Replicas that must have a submit (or an attempt's end) before it is
    # acknowledged; unset: 1 when the primary has replicas, else 0.
    redis_min_replicas_ack: int | None = Field(default=None, ge=0, le=16)
    partitions: int = Field(default=16, ge=1, le=256)  # fixed per deployment
    data_dir: Path = Path(".jobgate")
    namespace: str = Field(default="jobgate", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    auth_secret: str | None = None
    # Sign-in methods (api/auth/), tried HS256, JWKS, introspection; any one is enough.
    auth_jwks_url: str | None = None
    auth_issuer: str | None = None
    auth_audience: str | None = None
    auth_jwks_min_refetch_s: float = Field(default=30.0, ge=0)
    auth_introspect_url: str | None = None
    auth_forward_cookies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    auth_introspect_sub_field: str = Field(default="id", min_length=1, max_length=200)
    auth_cache_s: float = Field(default=60.0, ge=0)
    auth_timeout_s: float = Field(default=5.0, gt=0)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    result_ttl_s: int = Field(default=3600, ge=1)
    job_timeout_s: float = Field(default=900.0, gt=0)
    max_attempts: int = Field(default=3, ge=1, le=100)
    lease_s: float = Field(default=10.0, gt=0.2)
    sync_wait_s: float = Field(default=50.0, ge=0)
    max_active_jobs_per_user: int = Field(default=20, ge=1)
    max_request_bytes: int = Field(default=1_000_000, ge=1024)
    max_document_bytes: int = Field(default=200_000, ge=1)  # a product document's text (UTF-8)
    events_maxlen: int = Field(default=10_000, ge=10)
    idempotency_ttl_s: int = Field(default=86_400, ge=60)

    retry_base_s: float = Field(default=1.0, ge=0)
    retry_max_s: float = Field(default=60.0, ge=0)

    # Job history (history/): the SQL archive fed from the Valkey outbox.
    database_url: str | None = None  # unset: SQLite in data_dir
    history_retention_days: int = Field(default=90, ge=1)
    archive_batch: int = Field(default=200, ge=1, le=5000)
    archive_poll_s: float = Field(default=1.0, gt=0)
    archive_outbox_alert: int = Field(default=100_000, ge=1)  # past it: keep all, raise a metric
    archive_prune_every_s: float = Field(default=3600.0, gt=0)
    # Every worker process archives (a lease lets one drain at a time). Off: only
    # `jobgate archiver` processes do, so worker pods hold no database connections
    # and spend no CPU on it (a deployment then runs at least one archiver).
    archive_in_workers: bool = True
    # API processes at start and the archiver before its first batch bring the schema
    # up to date (locked, so safe from many processes); off when a deploy runs
    # `jobgate db upgrade` itself.
    database_auto_upgrade: bool = True
    database_ready_wait_s: float = Field(default=10.0, ge=0)  # API start waits this long

    heartbeat_s: float = Field(default=1.0, gt=0)
    worker_concurrency: int = Field(default=32, ge=1)
    worker_poll_s: float = Field(default=1.0, gt=0)
    shutdown_grace_s: float = Field(default=20.0, ge=0)

    sse_heartbeat_s: float = Field(default=15.0, gt=0)
    sse_max_connection_s: float = Field(default=360.0, gt=0)
    long_poll_max_s: float = Field(default=50.0, gt=0)
    # Per-user feeds: the WebSocket /ws and the SSE /events (docs/websocket.md).
    ws_heartbeat_s: float = Field(default=15.0, gt=0)  # after this long with nothing sent
    ws_auth_timeout_s: float = Field(default=5.0, gt=0)  # for the first-message sign-in
    ws_max_subscriptions: int = Field(default=100, ge=1)  # jobs one connection follows
    ws_max_sockets_per_user: int = Field(default=20, ge=1)  # per API process
    ws_send_buffer_bytes: int = Field(default=1_048_576, ge=4096)  # then producers wait
    ws_send_timeout_s: float = Field(default=10.0, gt=0)  # a send stalled this long: 4408
    ws_max_message_bytes: int = Field(default=16_384, ge=256)  # a client message; over: 1009
    redis_timeout_s: float = Field(default=1.0, gt=0)
    redis_max_connections: int = Field(default=8, ge=2, le=512)
    redis_pool_wait_s: float = Field(default=5.0, gt=0)  # a burst queues for a connection

    llm_backend: Literal["simulated", "openai"] = "simulated"
    llm_base_url: str = "https://api.openai.com"
    llm_api_key: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout_s: float = Field(default=120.0, gt=0)
    sim_step_s: float = Field(default=2.0, ge=0)

    log_level: str = "INFO"
    log_json: bool = True

    # Browser settings, served by /config.js. Read without the JOBGATE_ prefix and
    # kept raw: a bad value must not stop the server; api/web.py parses them.
    job_poll_interval_ms: str = Field(
        default="5000", validation_alias=AliasChoices("JOB_POLL_INTERVAL_MS")
    )
    job_max_poll_attempts: str = Field(
        default="120", validation_alias=AliasChoices("JOB_MAX_POLL_ATTEMPTS")
    )
    job_timeout_ms: str = Field(default="600000", validation_alias=AliasChoices("JOB_TIMEOUT_MS"))
    api_url: str = Field(default="", validation_alias=AliasChoices("API_URL", "JOBGATE_API_URL"))
    demo_token: str | None = None  # set by `jobgate up` for the local demo page only

    @field_validator("redis_url", "database_url", "auth_secret", "llm_api_key", "demo_token",
                     "auth_jwks_url", "auth_issuer", "auth_audience", "auth_introspect_url",
                     "redis_sentinel_master", "redis_min_replicas_ack",
                     mode="before")
    @classmethod
    def _empty_is_unset(cls, v: object) -> object:
        """An empty variable (compose passes `KEY=` for an unset one) means unset."""
        return None if v == "" else v

    @field_validator("auth_forward_cookies", "cors_origins", mode="before")
    @classmethod
    def _comma_list(cls, v: object) -> object:
        """`a,b` in the environment; empty means none."""
        return [p.strip() for p in v.split(",") if p.strip()] if isinstance(v, str) else v

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, v: list[str]) -> list[str]:
        """Exact origins only: a browser sends `scheme://host[:port]`; `*` never (credentials)."""
        origins = [o.lower().removesuffix("/") for o in v]
        bad = [o for o in origins if not _ORIGIN.match(o)]
        if bad:
            raise ValueError(f"not an origin (scheme://host[:port], no path, no *): {bad}")
        return origins

    @model_validator(mode="after")
    def _sentinel_has_a_master(self) -> Settings:
        if self.redis_mode == "sentinel" and not self.redis_sentinel_master:
            raise ValueError("JOBGATE_REDIS_MODE=sentinel needs JOBGATE_REDIS_SENTINEL_MASTER")
        return self

    @property
    def lease_ms(self) -> int:
        return int(self.lease_s * 1000)
