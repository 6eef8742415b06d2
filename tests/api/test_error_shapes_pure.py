"""Pure parts of the error shapes: a job's error as text, the 422 summary,
the JSON media-type rule. No server, no Redis."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from jobgate.agents.models import AgentName, MultiAgentRequest
from jobgate.api.deps import is_json
from jobgate.api.errors import response_for
from jobgate.api.messages import validation_message
from jobgate.api.multi_agent import prepare
from jobgate.api.views import error_text
from jobgate.errors import (
    AuthError,
    AuthUnavailable,
    InvalidRequest,
    JobCancelled,
    JobEnded,
    JobFailed,
    JobGateError,
    JobNotFound,
    RequestTooLarge,
    StoreUnavailable,
    TooManyActiveJobs,
    UnsupportedMediaType,
)
from jobgate.job import JobState


def test_a_failed_job_reads_as_the_old_apps_string_with_its_parts() -> None:
    text = error_text(JobState.FAILED, {"code": "llm_auth", "message": "invalid API key"},
                      "failed: invalid API key")
    assert text.error == "Job failed: invalid API key"
    assert (text.error_code, text.error_detail) == ("llm_auth", "invalid API key")


def test_a_failed_job_without_an_error_record_still_says_what_happened() -> None:
    text = error_text(JobState.FAILED, None, "worker lost")
    assert text == ("Job failed: worker lost", "failed", "worker lost")
    bare = error_text(JobState.FAILED, {}, "")
    assert bare.error == "Job failed: the job failed" and bare.error_code == "failed"


def test_a_cancelled_job_reads_as_cancelled_with_its_reason() -> None:
    text = error_text(JobState.CANCELLED, None, "cancelled by user")
    assert text == ("Job cancelled: cancelled by user", "cancelled", "cancelled by user")


@pytest.mark.parametrize("state", [JobState.PENDING, JobState.PROCESSING, JobState.COMPLETED])
def test_no_error_unless_failed_or_cancelled(state: JobState) -> None:
    # a retried job keeps its last error in the record; it is not the job's error yet
    assert error_text(state, {"code": "upstream", "message": "x"}, "retrying") == (
        None, None, None)


@pytest.mark.parametrize("state", [JobState.FAILED, JobState.CANCELLED])
def test_the_string_is_always_a_prefix_and_the_detail(state: JobState) -> None:
    text = error_text(state, {"code": "timeout", "message": "too slow"}, "m")
    assert text.error is not None and text.error_detail is not None
    prefix = text.error.removesuffix(text.error_detail)
    assert prefix in ("Job failed: ", "Job cancelled: ")
    # the old app's client ends its polling only on text containing "failed"
    assert ("failed" in text.error) is (state is JobState.FAILED)


def _errors(model: type[BaseModel], data: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
    raise AssertionError("expected a validation error")


class Body(BaseModel):
    request: MultiAgentRequest


def test_an_unknown_agent_names_the_field_the_value_and_every_allowed_agent() -> None:
    message = validation_message(_errors(Body, {"request": {"query": "q",
                                                            "primary_agent": "astrologer"}}))
    assert message.startswith("request.primary_agent: ")
    assert message.endswith("(got 'astrologer')")
    for agent in AgentName:  # from the model: the roster may grow
        assert f"'{agent.value}'" in message


def test_a_list_item_is_named_by_its_index() -> None:
    message = validation_message(_errors(Body, {"request": {
        "query": "q", "supporting_agents": [AgentName.RESEARCH.value, "astrologer"]}}))
    assert message.startswith("request.supporting_agents.1: ")


def test_missing_and_unknown_fields_name_the_field_without_echoing_the_object() -> None:
    message = validation_message(_errors(Body, {"request": {"admin": True}}))
    assert "request.query: Field required" in message
    assert "request.admin: Extra inputs are not permitted" in message
    assert "got" not in message


def test_only_the_first_problems_are_spelled_out() -> None:
    errors = [{"loc": ("body", f"f{i}"), "msg": "bad", "type": "x", "input": i}
              for i in range(5)]
    assert validation_message(errors) == "f0: bad (got 0); f1: bad (got 1); f2: bad (got 2); " \
                                         "and 2 more problems"


@pytest.mark.parametrize(("error", "want"), [
    ({"loc": ("query", "wait"), "msg": "Input should be less than or equal to 50",
      "type": "less_than_equal", "input": "51"},
     "wait (query): Input should be less than or equal to 50 (got '51')"),
    ({"loc": ("body",), "msg": "Field required", "type": "missing", "input": None},
     "the request has no body: send a JSON object with the header "
     "Content-Type: application/json"),
    ({"loc": ("body", 11), "msg": "JSON decode error", "type": "json_invalid",
      "ctx": {"error": "Expecting value"}},
     "body is not valid JSON: Expecting value at character 11"),
    ({"loc": ("body",), "msg": "Input should be a valid dictionary", "type": "dict_type",
      "input": [1, 2]},
     "body: Input should be a valid dictionary (got an array)"),
    ({"loc": ("body", "request", "query"), "msg": "too long", "type": "string_too_long",
      "input": "q" * 500},
     "request.query: too long (got '" + "q" * 60 + "…')"),
])
def test_one_problem_reads_plainly(error: dict[str, Any], want: str) -> None:
    assert validation_message([error]) == want


@pytest.mark.parametrize(("content_type", "want"), [
    ("application/json", True), ("application/json; charset=utf-8", True),
    ("Application/JSON", True), ("application/problem+json", True),
    (None, False), ("", False), ("text/plain", False), ("text/json", False),
    ("application/x-www-form-urlencoded", False), ("multipart/form-data; boundary=x", False),
    ("application/jsonp", False), ("json", False), (";;;", False),
])
def test_which_bodies_count_as_json(content_type: str | None, want: bool) -> None:
    assert is_json(content_type) is want


@pytest.mark.parametrize(("exc", "status", "headers"), [
    (AuthError("invalid token"), 401, {"www-authenticate": "Bearer"}),
    (JobNotFound("some-id"), 404, {}),
    (RequestTooLarge("request body over 10 bytes"), 413, {"connection": "close"}),
    (UnsupportedMediaType("send JSON"), 415, {}),
    (InvalidRequest("bad header"), 422, {}),
    (TooManyActiveJobs("at most 3"), 429, {"retry-after": "5"}),
    (JobFailed("Job failed: boom", job_id="j1", code="timeout"), 502, {}),
    (JobCancelled("Job cancelled: by user", job_id="j2"), 409, {}),
    (StoreUnavailable("down"), 503, {"retry-after": "2"}),
    (AuthUnavailable("the sign-in service is down"), 503, {"retry-after": "2"}),
])
def test_each_exception_maps_to_one_status_and_the_shared_body(
    exc: JobGateError, status: int, headers: dict[str, str]
) -> None:
    r = response_for(exc)
    assert r.status_code == status
    assert {k: r.headers[k] for k in headers} == headers
    body = json.loads(r.body)
    assert body["code"] == exc.code and isinstance(body["message"], str) and body["message"]
    if isinstance(exc, JobNotFound):  # never echoes the id: the same body for every miss
        assert body["detail"] == body["message"] == "job not found"
    elif isinstance(exc, JobEnded):
        assert body == {"detail": str(exc), "code": exc.code, "message": str(exc),
                        "job_id": exc.job_id}
    else:
        assert body["detail"] == body["message"] == str(exc)


def test_an_error_quoting_a_lone_surrogate_still_renders() -> None:
    r = response_for(InvalidRequest("bad value '\udfff'"))
    assert json.loads(r.body)["message"] == "bad value '\udfff'"


def test_an_llm_key_the_server_cannot_seal_is_a_422_not_a_sign_out() -> None:
    app = SimpleNamespace(state=SimpleNamespace(settings=SimpleNamespace(auth_secret=None)))
    request = Request({"type": "http", "headers": [(b"x-llm-api-key", b"sk-1")], "app": app})
    with pytest.raises(InvalidRequest, match="X-LLM-API-Key"):
        prepare(MultiAgentRequest(query="q"), "alice", request)
