"""The inbox's OpenAPI 3.1 document (hand-written; a test checks it against the routes)."""

from __future__ import annotations

from typing import Any

from ..state import RUN_STATUSES


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": list(props) if required is None else required,
        "additionalProperties": False,
    }


_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_INT = {"type": "integer"}
_NINT = {"type": ["integer", "null"]}
_TIME = {"type": "string", "format": "date-time"}
_RUN_ERROR = {"type": ["string", "null"], "description": "why a failed or cancelled run ended"}
_STATUS = {"type": "string", "enum": list(RUN_STATUSES)}

_SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": _STR, "message": _STR}),
    "PendingApproval": _obj(
        {
            "run_id": _STR,
            "call_id": _STR,
            "agent_name": _STR,
            "tool_name": _STR,
            "arguments": {"type": "string", "description": "raw JSON text of the arguments"},
            "arguments_pretty": _STR,
            "waiting_since": _TIME,
            "state_version": _INT,
        }
    ),
    "RunSummary": _obj(
        {
            "run_id": _STR,
            "agent_name": _STR,
            "status": _STATUS,
            "latest_version": _INT,
            "language": {"type": "string", "enum": ["python", "typescript"]},
            "pending_approvals": {"type": "integer", "description": "undecided approvals"},
            "created_at": _TIME,
            "updated_at": _TIME,
            "error": _RUN_ERROR,
            "unreadable": {
                "type": ["string", "null"],
                "description": "why this run's stored row cannot be read (it is listed anyway)",
            },
        }
    ),
    "Version": _obj(
        {
            "version": _INT,
            "status": _STATUS,
            "agent_name": _STR,
            "language": _STR,
            "sdk_version": _STR,
            "schema_version": _STR,
            "pending_approvals": {"type": "array", "items": _STR},
            "created_at": _TIME,
        }
    ),
    "TimelineStep": _obj(
        {
            "index": _INT,
            "kind": {"type": "string", "enum": ["model", "tool", "handoff"]},
            "agent_name": _STR,
            "name": _STR,
            "detail": _STR,
            "input_tokens": _NINT,
            "output_tokens": _NINT,
            "call_id": _NSTR,
            "arguments": _NSTR,
            "output": _NSTR,
            "duration_ms": {
                "type": ["integer", "null"],
                "description": "from the durable step record, when the run ran durably",
            },
            "status": {
                "type": ["string", "null"],
                "enum": ["done", "pending_approval", "not_run", None],
            },
        }
    ),
    "ConversationItem": _obj(
        {
            "role": {
                "type": "string",
                "enum": ["user", "assistant", "tool_call", "tool_output", "handoff", "other"],
            },
            "text": _STR,
            "agent_name": _NSTR,
            "name": _NSTR,
            "call_id": _NSTR,
            "arguments": _NSTR,
            "status": {
                "type": ["string", "null"],
                "enum": ["done", "pending_approval", "approved", "rejected", "not_run", None],
                "description": "approved: decided, not run yet (the run resumes)",
            },
            "decided_by": _NSTR,
            "reason": _NSTR,
        }
    ),
    "Decision": _obj(
        {
            "run_id": _STR,
            "call_id": _STR,
            "tool_name": _STR,
            "decision": {"type": "string", "enum": ["approve", "reject"]},
            "always": {"type": "boolean"},
            "reason": _NSTR,
            "decided_by": _NSTR,
            "decided_at": _TIME,
            "state_version": _INT,
        }
    ),
    "Worker": _obj(
        {
            "executor_id": _STR,
            "language": {"type": "string", "enum": ["python", "typescript"]},
            "worker": {
                "type": "boolean",
                "description": "dequeues segments (else a process "
                "that runs only the segments it starts)",
            },
            "host": _STR,
            "pid": _INT,
            "started_at": _TIME,
            "heartbeat_at": _TIME,
            "seconds_since_heartbeat": {"type": "number"},
            "lease_seconds": {"type": "number"},
            "alive": {
                "type": "boolean",
                "description": "heartbeat within its lease (and, on "
                "SQLite, its process still runs)",
            },
            "taken_over_by": {
                "type": ["string", "null"],
                "description": "the worker that took over its segments",
            },
            "segments": {"type": "integer", "description": "segments PENDING on it"},
        }
    ),
    "QueuedSegment": _obj(
        {
            "segment": _STR,
            "run_id": _STR,
            "version": _INT,
            "status": {"type": "string", "enum": ["queued"]},
            "language": {"type": "string", "enum": ["python", "typescript"]},
            "agent_name": _NSTR,
            "queue": {"type": ["string", "null"], "description": "timestep or timestep-ts"},
            "executor_id": {"type": "null"},
            "created_at": {"type": ["string", "null"], "format": "date-time"},
            "dequeued_at": {"type": ["string", "null"], "format": "date-time"},
        }
    ),
    "Activity": _obj(
        {
            "running": {"type": "array", "items": _ref("RunningRun")},
            "queued": {"type": "array", "items": _ref("QueuedSegment")},
            "workers": {"type": "array", "items": _ref("Worker")},
        }
    ),
    "DurableStep": _obj(
        {
            "segment": {"type": "string", "description": "DBOS workflow id, run_id@version"},
            "step_id": _INT,
            "name": _STR,
            "started_at_ms": _NINT,
            "duration_ms": _NINT,
            "error": _NSTR,
        }
    ),
    "RunDetail": _obj(
        {
            "run_id": _STR,
            "agent_name": _STR,
            "status": _STATUS,
            "latest_version": _INT,
            "language": _STR,
            "versions": {"type": "array", "items": _ref("Version")},
            "conversation": {"type": "array", "items": _ref("ConversationItem")},
            "timeline": {"type": "array", "items": _ref("TimelineStep")},
            "pending_approvals": {
                "type": "array",
                "items": _obj(
                    {
                        "call_id": _STR,
                        "tool_name": _STR,
                        "agent_name": _STR,
                        "arguments": _STR,
                        "arguments_pretty": _STR,
                    }
                ),
            },
            "decisions": {"type": "array", "items": _ref("Decision")},
            "durable_steps": {"type": "array", "items": _ref("DurableStep")},
            "forked_from": {
                "oneOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "description": "the run and durable step (or version) it was forked from",
                        "properties": {
                            "run_id": _STR,
                            "segment": _STR,
                            "step": _INT,
                            "version": _INT,
                        },
                        "required": ["run_id"],
                    },
                ]
            },
            "final_output": _NSTR,
            "error": _RUN_ERROR,
            "metadata": {
                "type": "object",
                "description": "the run's metadata (error, forked_from, cancelled_by, ...)",
            },
            "unreadable": {"type": ["string", "null"]},
        }
    ),
    "ForkRequest": _obj(
        {
            "step": {"type": "integer", "minimum": 0},
            "rerun_approved": {
                "type": "boolean",
                "default": False,
                "description": "allow running human-approved tool calls again",
            },
        },
        required=["step"],
    ),
    "Me": _obj({"name": _STR, "named": {"type": "boolean"}}),
    "DecisionRequest": {
        "type": "object",
        "properties": {
            "reason": {"type": ["string", "null"], "description": "required to reject"},
            "decided_by": {"type": ["string", "null"], "description": "who decides (audit)"},
            "always": {"type": "boolean", "default": False},
        },
        "required": [],
    },
    "DecisionResult": _obj(
        {
            "decision": _ref("Decision"),
            "resuming": {
                "type": "boolean",
                "description": "the server started resuming the run (all its calls decided)",
            },
        }
    ),
}

_ERRORS = {
    "401": _json(_ref("Error"), "missing or wrong token"),
    "405": _json(_ref("Error"), "method not allowed on this path"),
    "500": _json(
        _ref("Error"),
        "unexpected server error ('internal'), or a stored row that cannot be read "
        "('corrupt_state', 'unreadable')",
    ),
}
_POST_ERRORS = {
    **_ERRORS,
    "400": _json(_ref("Error"), "malformed body, or a rejection without a reason"),
    "403": _json(_ref("Error"), "cross-site request, or cookie auth without the CSRF header"),
    "404": _json(_ref("Error"), "unknown run or call"),
    "409": _json(
        _ref("Error"),
        "already decided, or the run is not waiting; for a fork: no such step, or it would "
        "run approved tool calls again ('invalid_fork')",
    ),
}
_SCHEMAS["RunningRun"] = _obj(
    {
        **_SCHEMAS["RunSummary"]["properties"],
        "segment": {"type": ["string", "null"], "description": "the segment running it"},
        "executor_id": _NSTR,
        "executor_alive": {
            "type": ["boolean", "null"],
            "description": "false: its process died; a live worker takes it over",
        },
    }
)
_RUN_ID = {
    "name": "run_id",
    "in": "path",
    "required": True,
    "schema": _STR,
    "description": "URL-encoded; may contain '/' (sent as %2F or as a plain '/')",
}
_CALL_ID = {"name": "call_id", "in": "path", "required": True, "schema": _STR}


def _decision_op(verb: str) -> dict[str, Any]:
    return {
        "post": {
            "operationId": f"{verb}Call",
            "summary": f"{verb.capitalize()} a pending tool call",
            "parameters": [_RUN_ID, _CALL_ID],
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": _ref("DecisionRequest")}},
            },
            "responses": {
                "200": _json(_ref("DecisionResult"), "decision recorded"),
                **_POST_ERRORS,
            },
        }
    }


def _action_op(name: str, summary: str, result: dict[str, Any], body: bool) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": name,
        "summary": summary,
        "parameters": [_RUN_ID],
        "responses": {"200": _json(result, "done"), **_POST_ERRORS},
    }
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref("ForkRequest")}},
        }
    return {"post": op}


_FORKED = _obj({"run_id": _STR, "new_run_id": _STR, "step": _INT, "segment": _STR})


def _list_of(key: str, name: str) -> dict[str, Any]:
    return _obj({key: {"type": "array", "items": _ref(name)}})


def openapi_schema() -> dict[str, Any]:
    """The OpenAPI document served at ``/openapi.json``."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "timestep approvals inbox",
            "version": "1",
            "description": (
                "Pending tool approvals of timestep runs. Authenticate with "
                "'Authorization: Bearer <token>' (or the cookie set by POST /login or "
                "GET /?token=...; cookie-authenticated POSTs need the X-CSRF-Token header). "
                "Every error is JSON: {'error': code, 'message': text}."
            ),
        },
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "timestep_inbox_token"},
            },
        },
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": {
            "/": {
                "get": {
                    "operationId": "inboxPage",
                    "summary": "The inbox web page; ?token=... sets the auth cookie",
                    "parameters": [
                        {"name": "token", "in": "query", "required": False, "schema": _STR}
                    ],
                    "responses": {
                        "200": {"description": "HTML page", "content": {"text/html": {}}},
                        "303": {"description": "cookie set, redirect to /"},
                        **_ERRORS,
                    },
                }
            },
            "/runs/{run_id}": {
                "get": {
                    "operationId": "runPage",
                    "summary": "The inbox page opened on one run (a deep link)",
                    "parameters": [_RUN_ID],
                    "responses": {
                        "200": {"description": "HTML page", "content": {"text/html": {}}},
                        "303": {"description": "not signed in: redirect to /login"},
                        **_ERRORS,
                    },
                }
            },
            "/login": {
                "get": {
                    "operationId": "loginPage",
                    "summary": "The sign-in form (no token needed)",
                    "security": [],
                    "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}},
                },
                "post": {
                    "operationId": "login",
                    "summary": "Sign in with a token (form field 'token'); sets the cookie",
                    "security": [],
                    "requestBody": {
                        "required": True,
                        "content": {"application/x-www-form-urlencoded": {}},
                    },
                    "responses": {
                        "303": {"description": "signed in: redirect to 'next'"},
                        "401": {"description": "wrong token", "content": {"text/html": {}}},
                        "403": _json(_ref("Error"), "cross-site request"),
                    },
                },
            },
            "/logout": {
                "post": {
                    "operationId": "logout",
                    "summary": "Forget the cookie; redirect to /login",
                    "responses": {"303": {"description": "signed out"}, **_POST_ERRORS},
                }
            },
            "/api/me": {
                "get": {
                    "operationId": "me",
                    "summary": "Who this token belongs to (decisions are recorded under 'name')",
                    "responses": {"200": _json(_ref("Me"), "the user"), **_ERRORS},
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1"), **_ERRORS},
                }
            },
            "/api/approvals": {
                "get": {
                    "operationId": "listApprovals",
                    "summary": "Undecided approvals across all waiting runs, oldest first",
                    "responses": {
                        "200": _json(_list_of("approvals", "PendingApproval"), "pending approvals"),
                        **_ERRORS,
                    },
                }
            },
            "/api/activity": {
                "get": {
                    "operationId": "activity",
                    "summary": (
                        "Running runs (with the segment and executor holding each), segments "
                        "queued for the Python and TypeScript workers, and the executors with "
                        "their last heartbeat and whether they are alive"
                    ),
                    "responses": {"200": _json(_ref("Activity"), "what runs now"), **_ERRORS},
                }
            },
            "/api/events": {
                "get": {
                    "operationId": "events",
                    "summary": (
                        "Server-sent events: 'approvals' (body as GET /api/approvals) and 'runs' "
                        "(body as GET /api/runs), sent at connect and on every change"
                    ),
                    "responses": {
                        "200": {
                            "description": "event stream",
                            "content": {"text/event-stream": {}},
                        },
                        **_ERRORS,
                    },
                }
            },
            "/api/runs": {
                "get": {
                    "operationId": "listRuns",
                    "summary": "Stored runs, most recently updated first",
                    "parameters": [
                        {"name": "status", "in": "query", "required": False, "schema": _STATUS},
                        {"name": "agent", "in": "query", "required": False, "schema": _STR},
                        {
                            "name": "q",
                            "in": "query",
                            "required": False,
                            "schema": _STR,
                            "description": "part of the run id",
                        },
                        {"name": "limit", "in": "query", "required": False, "schema": _INT},
                        {"name": "offset", "in": "query", "required": False, "schema": _INT},
                    ],
                    "responses": {
                        "200": _json(
                            _obj(
                                {
                                    "runs": {"type": "array", "items": _ref("RunSummary")},
                                    "total": {
                                        "type": "integer",
                                        "description": "matching runs before limit/offset",
                                    },
                                }
                            ),
                            "runs",
                        ),
                        "400": _json(_ref("Error"), "unknown status, bad limit or offset"),
                        **_ERRORS,
                    },
                }
            },
            "/api/runs/{run_id}": {
                "get": {
                    "operationId": "getRun",
                    "summary": "One run: versions, timeline, pending approvals, decisions",
                    "parameters": [_RUN_ID],
                    "responses": {
                        "200": _json(_ref("RunDetail"), "the run"),
                        "404": _json(_ref("Error"), "unknown run"),
                        **_ERRORS,
                    },
                }
            },
            "/api/runs/{run_id}/cancel": _action_op(
                "cancelRun",
                "Cancel an unfinished run (recorded with who)",
                _obj({"run_id": _STR, "status": _STR, "stopped": {"type": "boolean"}}),
                body=False,
            ),
            "/api/runs/{run_id}/fork": _action_op(
                "forkRun",
                "Start a new run from a durable step of this one (earlier steps replay)",
                _FORKED,
                body=True,
            ),
            "/api/runs/{run_id}/retry": _action_op(
                "retryRun",
                "Retry a failed or cancelled run from its failing step, as a new run",
                _FORKED,
                body=False,
            ),
            "/api/runs/{run_id}/stream": {
                "get": {
                    "operationId": "streamRun",
                    "summary": (
                        "Server-sent events with a streamed run's text rebuilt from its durable "
                        "log (timestep.durable.StreamText): 'text' ({text, retried: [{step, "
                        "attempt, reason}], last_id}) whenever the text changes, including when "
                        "a model call's abandoned attempt is taken back; 'end' ({status}) last"
                    ),
                    "parameters": [_RUN_ID],
                    "responses": {
                        "200": {
                            "description": "event stream",
                            "content": {"text/event-stream": {}},
                        },
                        "404": _json(_ref("Error"), "unknown run"),
                        "409": _json(_ref("Error"), "the run was not streamed ('not_streamed')"),
                        **_ERRORS,
                    },
                }
            },
            "/api/runs/{run_id}/approvals/{call_id}/approve": _decision_op("approve"),
            "/api/runs/{run_id}/approvals/{call_id}/reject": _decision_op("reject"),
        },
    }
