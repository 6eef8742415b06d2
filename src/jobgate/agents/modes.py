"""The coordination modes, as pure plans: request → the list of steps.

Planning everything up front is what makes progress honest: the job knows
from its first second how many agent calls it will make, so progress is
completed steps / planned steps and the estimate is phases × step time.

A step names its agent, what it is asked to do (`kind`), which earlier steps'
outputs it reads, and its `phase`: steps of one phase run concurrently, the
phases one after another. Who takes part:

- the *primary* agent writes the final response in every mode;
- the *supporting* agents are the others. Any agent of the roster may be
  either. When the request does not name them, they are the seven default
  agents (`DEFAULT_AGENTS`) except the primary and `summary` (the
  synthesiser role), except in a debate, whose default debaters are
  `strategy` and `validation`. The specialists (requirements, scoring,
  export, rag, v0, lovable) take part only when named.

Modes:

- sequential: supporters then the primary, one after another, each reading
  the previous output. Default: the seven default agents, ending with
  `summary`. When only supporters are named, exactly those run and the last
  one concludes.
- parallel: all supporters at once, then the primary (default `summary`)
  summarises them.
- collaborative: the primary (default `strategy`) consults each supporter in
  turn (each sees the earlier answers), then synthesises.
- debate: the debaters argue (round 1), rebut each other (round 2), and the
  primary (default `summary`) judges with a verdict.
- enhanced_collaborative: three rounds in which every participant reads the
  others' outputs of the previous round, then the primary synthesises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from jobgate.agents.models import (
    DEFAULT_AGENTS,
    AgentName,
    CoordinationMode,
    MultiAgentRequest,
)

DEBATE_ROUNDS = 2
ENHANCED_ROUNDS = 3
USER = "user"
_DEBATE_DEFAULTS = (AgentName.STRATEGY, AgentName.VALIDATION, AgentName.IDEATION)


class StepKind(StrEnum):
    CONTRIBUTION = "contribution"
    CONSULTATION = "consultation"
    ARGUMENT = "argument"
    REBUTTAL = "rebuttal"
    REFINEMENT = "refinement"
    SYNTHESIS = "synthesis"
    VERDICT = "verdict"


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """One agent call. `index` counts from 1 over the whole plan."""

    index: int
    agent: AgentName
    kind: StepKind
    phase: int
    reads: tuple[int, ...] = ()
    from_agent: str = USER
    round: int = 1
    rounds: int = 1


@dataclass(frozen=True, slots=True)
class Plan:
    mode: CoordinationMode
    primary: AgentName
    steps: tuple[PlannedStep, ...]

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def phases(self) -> list[list[PlannedStep]]:
        """The steps grouped by phase, in order; a phase's steps run together."""
        out: dict[int, list[PlannedStep]] = {}
        for s in self.steps:
            out.setdefault(s.phase, []).append(s)
        return [out[p] for p in sorted(out)]

    @property
    def rounds(self) -> int:
        return max((s.rounds for s in self.steps), default=0)

    @property
    def agents(self) -> list[str]:
        """Every agent taking part, in order of first appearance."""
        return [a.value for a in _unique(s.agent for s in self.steps)]


class _Builder:
    """Appends steps with consecutive indices; keeps the planners short."""

    def __init__(self) -> None:
        self.steps: list[PlannedStep] = []

    def add(
        self,
        agent: AgentName,
        kind: StepKind,
        phase: int,
        reads: Iterable[int] = (),
        from_agent: str = USER,
        round: int = 1,
        rounds: int = 1,
    ) -> int:
        index = len(self.steps) + 1
        self.steps.append(
            PlannedStep(index, agent, kind, phase, tuple(reads), from_agent, round, rounds)
        )
        return index


def _unique(agents: Iterable[AgentName]) -> list[AgentName]:
    seen: dict[AgentName, None] = {}
    for a in agents:
        seen.setdefault(a, None)
    return list(seen)


def _cast(
    request: MultiAgentRequest,
    default_primary: AgentName,
    default_supporters: Sequence[AgentName] | None = None,
) -> tuple[AgentName, list[AgentName]]:
    """(primary, supporters) after defaults; the primary never supports itself."""
    primary = request.primary_agent or default_primary
    if request.supporting_agents is not None:
        chosen: Iterable[AgentName] = request.supporting_agents
    elif default_supporters is not None:
        chosen = default_supporters
    else:
        chosen = [a for a in DEFAULT_AGENTS if a is not AgentName.SUMMARY]
    return primary, [a for a in _unique(chosen) if a is not primary]


def _sequential(request: MultiAgentRequest) -> tuple[AgentName, _Builder]:
    if request.primary_agent is None and request.supporting_agents:
        chain = _unique(request.supporting_agents)
    else:
        primary, supporters = _cast(request, AgentName.SUMMARY)
        chain = [*supporters, primary]
    b = _Builder()
    previous: int | None = None
    for phase, agent in enumerate(chain):
        reads = () if previous is None else (previous,)
        sender = USER if previous is None else chain[phase - 1].value
        previous = b.add(agent, StepKind.CONTRIBUTION, phase, reads, sender)
    return chain[-1], b


def _parallel(request: MultiAgentRequest) -> tuple[AgentName, _Builder]:
    primary, supporters = _cast(request, AgentName.SUMMARY)
    b = _Builder()
    done = [b.add(a, StepKind.CONTRIBUTION, 0, (), primary.value) for a in supporters]
    b.add(primary, StepKind.SYNTHESIS, 1, done)
    return primary, b


def _collaborative(request: MultiAgentRequest) -> tuple[AgentName, _Builder]:
    primary, supporters = _cast(request, AgentName.STRATEGY)
    b = _Builder()
    done: list[int] = []
    for phase, agent in enumerate(supporters):
        done.append(b.add(agent, StepKind.CONSULTATION, phase, done, primary.value))
    b.add(primary, StepKind.SYNTHESIS, len(supporters), done)
    return primary, b


def _debate(request: MultiAgentRequest) -> tuple[AgentName, _Builder]:
    judge = request.primary_agent or AgentName.SUMMARY
    defaults = [a for a in _DEBATE_DEFAULTS if a is not judge][:2]
    judge, debaters = _cast(request, AgentName.SUMMARY, defaults)
    b = _Builder()
    previous: list[int] = []
    for rnd in range(1, DEBATE_ROUNDS + 1):
        kind = StepKind.ARGUMENT if rnd == 1 else StepKind.REBUTTAL
        previous = [
            b.add(a, kind, rnd - 1, previous, judge.value, rnd, DEBATE_ROUNDS) for a in debaters
        ]
    all_arguments = [s.index for s in b.steps]
    b.add(judge, StepKind.VERDICT, DEBATE_ROUNDS, all_arguments)
    return judge, b


def _enhanced(request: MultiAgentRequest) -> tuple[AgentName, _Builder]:
    primary, supporters = _cast(request, AgentName.STRATEGY)
    members = [*supporters, primary]
    b = _Builder()
    previous: dict[AgentName, int] = {}
    for rnd in range(1, ENHANCED_ROUNDS + 1):
        kind = StepKind.CONTRIBUTION if rnd == 1 else StepKind.REFINEMENT
        current: dict[AgentName, int] = {}
        for a in members:
            others = [i for other, i in previous.items() if other is not a]
            sender = USER if a is primary else primary.value
            current[a] = b.add(a, kind, rnd - 1, others, sender, rnd, ENHANCED_ROUNDS)
        previous = current
    b.add(primary, StepKind.SYNTHESIS, ENHANCED_ROUNDS, previous.values())
    return primary, b


_PLANNERS: dict[CoordinationMode, Callable[[MultiAgentRequest], tuple[AgentName, _Builder]]] = {
    CoordinationMode.SEQUENTIAL: _sequential,
    CoordinationMode.PARALLEL: _parallel,
    CoordinationMode.COLLABORATIVE: _collaborative,
    CoordinationMode.DEBATE: _debate,
    CoordinationMode.ENHANCED_COLLABORATIVE: _enhanced,
}


def plan(request: MultiAgentRequest) -> Plan:
    """The whole run of a request, decided before any agent is called."""
    primary, builder = _PLANNERS[request.coordination_mode](request)
    return Plan(request.coordination_mode, primary, tuple(builder.steps))


def plan_steps(request: MultiAgentRequest) -> list[PlannedStep]:
    return list(plan(request).steps)
