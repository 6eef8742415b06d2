"""The user prompt of each planned step: the request, the task, the inputs.

Pure functions of (request, step, earlier outputs, retrieval), so a test
can read the exact prompt an agent got. Earlier outputs are cut to a
bounded length so a long run's later prompts stay within a model's context.

The passages the rag agent retrieved go, in full and numbered, to the rag
agent itself and to every step that reads one of its outputs: downstream
agents get the evidence, not only rag's account of it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from jobgate.agents.models import AgentName, MultiAgentRequest
from jobgate.agents.modes import PlannedStep, StepKind
from jobgate.agents.retrieval import Retrieval, passages_block

MAX_INPUT_CHARS = 4_000

_TASKS: dict[StepKind, str] = {
    StepKind.CONTRIBUTION: "Give your contribution to the request from your role.",
    StepKind.CONSULTATION: (
        "The {sender} agent is consulting you on the request. Answer from your role."
    ),
    StepKind.ARGUMENT: "State and defend your position on the request (debate round {round}).",
    StepKind.REBUTTAL: (
        "Rebut the other debaters' arguments below and strengthen your own position "
        "(debate round {round})."
    ),
    StepKind.REFINEMENT: (
        "Read the other agents' outputs from the previous round and refine your own "
        "contribution (round {round} of {rounds})."
    ),
    StepKind.SYNTHESIS: (
        "Synthesise the team's outputs below into the final answer to the request."
    ),
    StepKind.VERDICT: (
        "Judge the debate below: weigh the arguments and give a verdict with reasons."
    ),
}


def task(step: PlannedStep) -> str:
    """What the step is asked to do, in one or two sentences.

    This is also the `query` of the step's entry in `agent_interactions`.
    """
    return _TASKS[step.kind].format(sender=step.from_agent, round=step.round, rounds=step.rounds)


def _clip(text: str, limit: int = MAX_INPUT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + " […]"


def build_prompt(
    request: MultiAgentRequest,
    step: PlannedStep,
    steps: Mapping[int, PlannedStep],
    outputs: Mapping[int, str],
    retrieval: Retrieval | None = None,
) -> str:
    """The prompt of `step`: the request first (line one is the query), then
    the task, the retrieved passages if it sees them, then the outputs of the
    steps it reads, labelled by agent."""
    parts = [f"Request: {request.query}"]
    if request.product_id:
        parts.append(f"Product: {request.product_id}")
    if request.context:
        parts.append("Context (JSON): " + json.dumps(request.context, ensure_ascii=False))
    parts.append(f"Task: {task(step)}")
    if retrieval is not None and sees_passages(step, steps, retrieval):
        heading = (
            "Retrieved passages (cite them as [n]):"
            if step.agent is AgentName.RAG
            else "Passages retrieved by the rag agent (cite them as [n] when you use them):"
        )
        parts.append(passages_block(retrieval, heading))
    for index in step.reads:
        source = steps[index]
        label = f"{source.agent.value} agent"
        if source.rounds > 1:
            label += f", round {source.round}"
        parts.append(f"--- Output of the {label} ---\n{_clip(outputs[index])}")
    return "\n\n".join(parts)


def sees_passages(
    step: PlannedStep, steps: Mapping[int, PlannedStep], retrieval: Retrieval
) -> bool:
    """Whether `step` is the rag agent's, or reads one of its outputs and there
    are passages to pass on (an empty search is already in rag's output)."""
    if step.agent is AgentName.RAG:
        return True
    return retrieval.found and any(steps[i].agent is AgentName.RAG for i in step.reads)
