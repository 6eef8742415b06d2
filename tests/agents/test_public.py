"""The package's public surface is exactly what `__all__` promises."""

from __future__ import annotations

import jobgate.agents as agents


def test_all_names_exist_and_are_exported() -> None:
    assert sorted(agents.__all__) == sorted(set(agents.__all__))
    missing = [name for name in agents.__all__ if not hasattr(agents, name)]
    assert missing == []
    assert {
        "KIND",
        "make_handler",
        "estimate_seconds",
        "MultiAgentRequest",
        "MultiAgentResponse",
        "with_sealed_key",
    } <= set(agents.__all__)
