"""One driver per system, each through the system's own Python API.

`python -m bench.drivers.<system> submit|worker|latency ...` prints one JSON
object on its last line (see `base.py`); the orchestrator runs them pinned
to the system-under-test core, in the venv that has the system installed.
"""
