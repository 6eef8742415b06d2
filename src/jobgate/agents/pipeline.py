"""Runs a plan: calls the agents phase by phase and reports every step.

Progress is completed steps / planned steps, written under a lock so that
concurrent steps (parallel mode, debate rounds) can never report it out of
order: it only ever grows, and the last step brings it to exactly 1.0.

Each step reports twice: when it starts (`"strategy agent: round 2 of 3
(step 9 of 19)"`, so a client sees who is working) and when it ends, with
an `agent_output` event carrying the step's text. Streamed text goes out in
batched `token` events.

The rag agent: when the plan includes it, the run asks its `Retriever` once,
before the first phase, for passages relevant to the query. Each rag step
gets them in its prompt and its output ends with the passages it was given
(document id and excerpt), written here rather than trusted to the model,
so it holds with the simulator too. When nothing relevant was found, a rag
step that only contributes makes no LLM call at all and says so plainly; a
rag step that synthesises or judges still does its job from the team's
outputs, and adds the same plain statement.

Cancellation: a watcher polls `reporter.cancelled` and cancels the running
steps (and with them any in-flight HTTP request), then raises
`PipelineCancelled`. If instead the engine cancels the handler's task, the
`CancelledError` passes straight through: nothing here swallows it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from jobgate.agents.llm.base import LLMBackend
from jobgate.agents.models import (
    AgentInteraction,
    AgentName,
    MultiAgentRequest,
    MultiAgentResponse,
)
from jobgate.agents.modes import Plan, PlannedStep, StepKind, plan
from jobgate.agents.prompts import build_prompt, task
from jobgate.agents.reporting import JobReporter, TokenBatcher
from jobgate.agents.retrieval import (
    Retrieval,
    Retriever,
    default_retriever,
    nothing_found,
    sources_note,
)
from jobgate.agents.roles import system_prompt
from jobgate.errors import PermanentError

CANCEL_POLL_S = 0.1
_CONCLUDING = frozenset({StepKind.SYNTHESIS, StepKind.VERDICT})


class PipelineCancelled(PermanentError):
    """The job was cancelled while its agents ran; it must not be retried."""

    code = "cancelled"


def _now() -> datetime:
    return datetime.now(UTC)


def step_message(step: PlannedStep, total: int) -> str:
    """Human-readable status line, e.g. "strategy agent: round 2 of 3 (step 9 of 19)"."""
    if step.kind in (StepKind.SYNTHESIS, StepKind.VERDICT) or step.rounds == 1:
        what = step.kind.value
    else:
        what = f"round {step.round} of {step.rounds}"
    return f"{step.agent.value} agent: {what} (step {step.index} of {total})"


def step_info(step: PlannedStep, total: int) -> dict[str, Any]:
    """The `step` of the job's status: which agent, round, index of total."""
    return {
        "agent": step.agent.value,
        "round": step.round,
        "index": step.index,
        "total": total,
        "kind": step.kind.value,
    }


class _Run:
    """The state of one pipeline run: outputs so far and the progress count."""

    def __init__(
        self,
        request: MultiAgentRequest,
        the_plan: Plan,
        llm: LLMBackend,
        reporter: JobReporter,
        now: Callable[[], datetime],
        token_interval_s: float,
        retriever: Retriever,
    ) -> None:
        self.request = request
        self.retriever = retriever
        self.retrieval: Retrieval | None = None
        self.plan = the_plan
        self.llm = llm
        self.reporter = reporter
        self.now = now
        self.token_interval_s = token_interval_s
        self.by_index = {s.index: s for s in the_plan.steps}
        self.outputs: dict[int, str] = {}
        self.interactions: dict[int, AgentInteraction] = {}
        self.done = 0
        self._lock = asyncio.Lock()

    async def execute(self) -> None:
        if any(s.agent is AgentName.RAG for s in self.plan.steps):
            self.retrieval = await self.retriever.retrieve(self.request, self.request.query)
        for phase in self.plan.phases:
            if self.reporter.cancelled:
                raise PipelineCancelled("job cancelled", code="cancelled")
            await _all([self._step(s) for s in phase])
        await self.reporter.progress(1.0, f"{self.plan.total} agent steps done", None)

    async def _step(self, step: PlannedStep) -> None:
        total = self.plan.total
        message = step_message(step, total)
        info = step_info(step, total)
        async with self._lock:
            await self.reporter.progress(self.done / total, message, info)
        started = time.monotonic()
        batcher = TokenBatcher(
            self.reporter, step.agent.value, step.index, interval_s=self.token_interval_s
        )
        text, llm_called = await self._answer(step, batcher)
        await batcher.flush()
        self._record(step, text, time.monotonic() - started, llm_called)
        async with self._lock:
            self.done += 1
            await self.reporter.event("agent_output", {**info, "response": text})
            await self.reporter.progress(self.done / total, f"{message}: done", info)

    async def _answer(self, step: PlannedStep, batcher: TokenBatcher) -> tuple[str, bool]:
        """The step's text (streamed through `batcher`), and whether an LLM wrote it."""
        retrieval = self.retrieval if step.agent is AgentName.RAG else None
        if retrieval is not None and not retrieval.found and step.kind not in _CONCLUDING:
            text = nothing_found(retrieval)
            await batcher.add(text)
            return text, False
        prompt = build_prompt(self.request, step, self.by_index, self.outputs, self.retrieval)
        text = await self.llm.complete(system_prompt(step.agent), prompt, batcher.add)
        if retrieval is not None:
            note = sources_note(retrieval) if retrieval.found else nothing_found(retrieval)
            await batcher.add(f"\n\n{note}")
            text = f"{text}\n\n{note}"
        return text, True

    def _record(self, step: PlannedStep, text: str, seconds: float, llm_called: bool) -> None:
        extra: dict[str, Any] = {}
        if step.agent is AgentName.RAG and self.retrieval is not None:
            extra = {"llm_called": llm_called, "retrieval": self.retrieval.summary()}
        self.outputs[step.index] = text
        self.interactions[step.index] = AgentInteraction(
            from_agent=step.from_agent,
            to_agent=step.agent.value,
            query=task(step),
            response=text,
            timestamp=self.now(),
            metadata={
                "index": step.index,
                "round": step.round,
                "rounds": step.rounds,
                "phase": step.phase,
                "kind": step.kind.value,
                "duration_s": round(seconds, 3),
                **extra,
            },
        )

    def response(self, duration_s: float) -> MultiAgentResponse:
        last = self.plan.steps[-1]
        extra = {} if self.retrieval is None else {"retrieval": self.retrieval.summary()}
        return MultiAgentResponse(
            primary_agent=self.plan.primary.value,
            response=self.outputs[last.index],
            agent_interactions=[self.interactions[i] for i in sorted(self.interactions)],
            coordination_mode=self.plan.mode.value,
            metadata={
                "backend": self.llm.name,
                "model": self.llm.model,
                "rounds": self.plan.rounds,
                "steps": self.plan.total,
                "phases": len(self.plan.phases),
                "agents": self.plan.agents,
                "attempt": self.reporter.attempt,
                "duration_s": round(duration_s, 3),
                **extra,
            },
            timestamp=self.now(),
        )


async def _all(coros: list[Coroutine[Any, Any, None]]) -> None:
    """Run steps together; the first failure cancels the rest and is raised as is.

    (A TaskGroup would wrap it in an ExceptionGroup, which the engine would
    not recognise as a RetryableError or PermanentError.)
    """
    if len(coros) == 1:
        await coros[0]
        return
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _until_cancelled(
    work: Coroutine[Any, Any, None], reporter: JobReporter, poll_s: float
) -> None:
    """Await `work`, cancelling it as soon as the job is marked cancelled."""
    task = asyncio.ensure_future(work)
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=poll_s)
            if reporter.cancelled and not task.done():
                raise PipelineCancelled("job cancelled", code="cancelled")
        task.result()
    finally:
        if not task.done():
            task.cancel()
            await asyncio.wait({task})
        if not task.cancelled():
            task.exception()  # retrieved: a cancel racing a failure logs nothing


async def run_pipeline(
    request: MultiAgentRequest,
    llm: LLMBackend,
    reporter: JobReporter,
    *,
    now: Callable[[], datetime] = _now,
    cancel_poll_s: float = CANCEL_POLL_S,
    token_interval_s: float = 0.25,
    retriever: Retriever | None = None,
) -> MultiAgentResponse:
    """Plan the request, run every step against `llm`, report, and answer.

    `retriever` finds the rag agent's passages; by default the documents the
    request carries in its context (see `retrieval.py`).
    """
    retriever = retriever if retriever is not None else default_retriever()
    run = _Run(request, plan(request), llm, reporter, now, token_interval_s, retriever)
    started = time.monotonic()
    await _until_cancelled(run.execute(), reporter, cancel_poll_s)
    return run.response(time.monotonic() - started)
