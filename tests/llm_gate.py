"""A chat-completions endpoint whose answers wait for the test: a gate for real jobs.

A test that needs a multi-agent job to hold still (running, mid-job, with
some progress made) points real `jobgate worker` processes at an `LLMGate`
(`JOBGATE_LLM_BACKEND=openai` and its URL: the production code path). Every
agent call then reaches the gate and waits there until the test lets it
through: `allow(n)` lets n more calls answer, `open()` lets every call through
from then on. `calls_for(text)` counts the calls whose prompt holds `text`
(a job's query): a job is held still once its call is at the gate. The job's
worker sees a model that is thinking; nothing depends on the machine's speed.

While a call waits, the gate sends SSE comments (which a client ignores), so
it notices a caller that went away (a killed worker, a cancelled job) and
gives back any permit it could not use.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = ("A gated ", "answer.")


class LLMGate(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # many workers' calls connect at once: none waits for a SYN retry

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _GateHandler)
        self.cond = threading.Condition()
        self.arrived = 0  # calls that reached the gate
        self.answered = 0  # calls answered in full
        self.waiting = 0  # calls at the gate now, their caller still there
        self.permits = 0
        self.prompts: list[str] = []  # the user message of every call, in order
        self.is_open = False
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def env(self) -> dict[str, str]:
        """The environment of a worker whose agent calls go through this gate."""
        return {"JOBGATE_LLM_BACKEND": "openai", "JOBGATE_LLM_BASE_URL": self.url,
                "JOBGATE_LLM_API_KEY": "gate-test-key", "JOBGATE_LLM_TIMEOUT_S": "600"}

    def start(self) -> LLMGate:
        self._thread.start()
        return self

    def calls_for(self, text: str) -> int:
        """How many calls have reached the gate with `text` in their prompt."""
        with self.cond:
            return sum(text in p for p in self.prompts)

    def allow(self, n: int = 1) -> None:
        """Let `n` more calls (waiting now or arriving later) answer."""
        with self.cond:
            self.permits += n
            self.cond.notify_all()

    def open(self) -> None:
        """Let every call through, now and from now on."""
        with self.cond:
            self.is_open = True
            self.cond.notify_all()

    def close(self) -> None:
        self.open()
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A caller hanging up mid-answer is expected here; stay quiet."""


class _GateHandler(BaseHTTPRequestHandler):
    server: LLMGate
    protocol_version = "HTTP/1.0"  # the answer ends when the connection closes

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        prompt = " ".join(str(m.get("content", "")) for m in body.get("messages", [])
                          if m.get("role") == "user")
        gate = self.server
        with gate.cond:
            gate.prompts.append(prompt)
            gate.arrived += 1
            gate.waiting += 1
            gate.cond.notify_all()
        permit = False
        try:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            permit = self._wait_for_permit()
            for text in ANSWER:
                self._send(json.dumps({"choices": [{"index": 0, "delta": {"content": text}}]}))
            self._send("[DONE]")
        except OSError:  # the caller left: a permit it took goes to the next call
            with gate.cond:
                gate.waiting -= 1
                if permit and not gate.is_open:
                    gate.permits += 1
                gate.cond.notify_all()
            return
        with gate.cond:
            gate.waiting -= 1
            gate.answered += 1
            gate.cond.notify_all()

    def _wait_for_permit(self) -> bool:
        gate = self.server
        while True:
            with gate.cond:
                if gate.cond.wait_for(lambda: gate.is_open or gate.permits > 0, timeout=0.2):
                    if not gate.is_open:
                        gate.permits -= 1
                    return True
            self.wfile.write(b": held at the gate\n\n")  # raises once the caller is gone
            self.wfile.flush()

    def _send(self, payload: str) -> None:
        self.wfile.write(f"data: {payload}\n\n".encode())
        self.wfile.flush()
