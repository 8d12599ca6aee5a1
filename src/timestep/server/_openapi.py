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
            "final_output": _NSTR,
            "error": _RUN_ERROR,
        }
    ),
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
}
_POST_ERRORS = {
    **_ERRORS,
    "400": _json(_ref("Error"), "malformed body, or a rejection without a reason"),
    "403": _json(_ref("Error"), "cross-site request, or cookie auth without the CSRF header"),
    "404": _json(_ref("Error"), "unknown run or call"),
    "409": _json(_ref("Error"), "already decided, or the run is not waiting"),
}
_RUN_ID = {"name": "run_id", "in": "path", "required": True, "schema": _STR}
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
                "'Authorization: Bearer <token>' (or the cookie set by GET /?token=...; "
                "cookie-authenticated POSTs need the X-CSRF-Token header)."
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
                        {"name": "status", "in": "query", "required": False, "schema": _STATUS}
                    ],
                    "responses": {
                        "200": _json(_list_of("runs", "RunSummary"), "runs"),
                        "400": _json(_ref("Error"), "unknown status"),
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
            "/api/runs/{run_id}/approvals/{call_id}/approve": _decision_op("approve"),
            "/api/runs/{run_id}/approvals/{call_id}/reject": _decision_op("reject"),
        },
    }
