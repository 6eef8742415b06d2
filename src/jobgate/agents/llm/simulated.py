"""The offline LLM simulator: the default backend, calling no model at all.

It exists so the whole system (queue, progress, events, streaming, cancel)
runs for real without an API key: each call takes `step_s` seconds and
streams its text word by word, so a job lasts seconds in tests and minutes
in a demo. The text is deterministic (the same prompts give the same text)
and says plainly that it was simulated, as does `metadata.backend`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import re

from jobgate.agents.llm.base import ClosingMixin, OnToken

log = logging.getLogger(__name__)

SIMULATOR_MODEL = "jobgate-simulator"

_ROLE = re.compile(r"You are the (.+?) agent")
_WORD = re.compile(r"\S+\s*")
_SENTENCES = (
    "From the {role} point of view, the core is who has the problem and how often.",
    "A first pass as the {role} agent suggests three themes worth exploring further.",
    "The strongest signal concerns the users who would adopt this first.",
    "The main risk is building for an assumption nobody has checked yet.",
    "A small, measurable first step beats a broad launch here.",
    "Cost and time to value should be weighed against the expected gain.",
    "Earlier outputs of the team agree on the goal but differ on sequencing.",
    "The next step is a short experiment with a clear success metric.",
    "Open questions remain about pricing, scope and the data available.",
    "The {role} recommendation is to focus on one segment before widening.",
)


def simulate(system: str, prompt: str) -> str:
    """Deterministic text for a (system, prompt) pair, naming the role and query."""
    digest = hashlib.sha256(f"{system}\0{prompt}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    match = _ROLE.search(system)
    role = match.group(1) if match else "assistant"
    first_line = prompt.strip().splitlines()[0] if prompt.strip() else ""
    subject = first_line.removeprefix("Request:").strip()[:100] or "the request"
    chosen = rng.sample(_SENTENCES, k=rng.randint(4, 6))
    body = " ".join(s.format(role=role, subject=subject) for s in chosen)
    tag = f"[Simulated {role} agent, ref {digest[:3].hex()}; no LLM was called]"
    return f"{tag} On “{subject}”: {body}"


class SimulatedLLM(ClosingMixin):
    """Streams `simulate(...)` word by word over `step_s` seconds per call."""

    name = "simulated"

    def __init__(self, step_s: float, model: str = SIMULATOR_MODEL) -> None:
        self.step_s = step_s
        self.model = model
        log.info(
            "LLM backend: offline simulator (%.2f s per agent call; no model is called)", step_s
        )

    async def complete(self, system: str, prompt: str, on_token: OnToken | None = None) -> str:
        text = simulate(system, prompt)
        words = _WORD.findall(text)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i, word in enumerate(words, start=1):
            # Sleep until this word's share of step_s has passed: the call lasts
            # step_s however long the token callbacks take. sleep(0) still
            # yields, so a cancel lands between words even when step_s is 0.
            await asyncio.sleep(max(start + self.step_s * i / len(words) - loop.time(), 0.0))
            if on_token is not None:
                await on_token(word)
        return text
