"""jobgate: an async-job gateway for long-running AI requests."""

__version__ = "0.1.0"
