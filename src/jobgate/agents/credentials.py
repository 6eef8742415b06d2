"""A user's own LLM key, sealed to travel inside one job's payload.

The payload is stored in Redis and read by whichever worker runs the job, so
a key in it must not be readable there: the API seals it with a key derived
from the server's auth secret (HKDF-SHA256 → Fernet: AES-128-CBC with
HMAC-SHA256, authenticated, so a tampered token is refused, never half-read).
Only a process holding `JOBGATE_AUTH_SECRET` can unseal it, and the handler
does so for the one job, into that job's own backend.

The sealed token goes in the payload under `LLM_KEY_FIELD`; results and
metadata never carry it, sealed or not.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from jobgate.errors import PermanentError

LLM_KEY_FIELD = "_llm_key"
_INFO = b"jobgate/agents/llm-key/v1"


def _fernet(secret: str) -> Fernet:
    # A distinct derived key: the auth secret signs tokens, this one seals keys.
    if not secret:
        raise ValueError("an auth secret is needed to seal or unseal an LLM key")
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(api_key: str, secret: str) -> str:
    """An opaque, authenticated token holding `api_key`."""
    if not api_key:
        raise ValueError("nothing to seal: the API key is empty")
    return _fernet(secret).encrypt(api_key.encode()).decode("ascii")


def unseal(token: str, secret: str) -> str:
    """The key inside `token`; PermanentError if it was not sealed with `secret`.

    That happens when the auth secret was rotated while the job waited, or the
    payload was tampered with; retrying cannot help, so the job fails at once.
    """
    try:
        return _fernet(secret).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise PermanentError(
            "the job's sealed LLM key cannot be opened (auth secret changed?)",
            code="llm_key_invalid",
        ) from exc


def with_sealed_key(payload: Mapping[str, Any], api_key: str, secret: str) -> dict[str, Any]:
    """A copy of a job payload carrying `api_key` sealed, for the API to enqueue."""
    return {**payload, LLM_KEY_FIELD: seal(api_key, secret)}
