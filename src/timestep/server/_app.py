"""The approvals inbox: a Starlette app serving the JSON API, live events and the web pages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from html import escape
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from .._errors import (
    ApprovalAlreadyDecidedError,
    ApprovalError,
    ConfigurationError,
    CorruptStateError,
    RunNotFoundError,
    RunNotStreamedError,
    TimestepError,
    UnknownCallError,
)
from ..runs import (
    AgentRegistry,
    activity,
    list_summaries,
    pending_approvals,
    resume_run,
    run_detail,
    summaries_page,
)
from ..state import RUN_STATUSES, DecisionKind, undecided
from ._auth import COOKIE_NAME, TokenAuthMiddleware, User, Users, csrf_token
from ._openapi import openapi_schema

if TYPE_CHECKING:
    from agents import Agent

    from ..state import RunStateStore

logger = logging.getLogger("timestep.server")
_KEEPALIVE_SECONDS = 15.0
_MAX_LIMIT = 1000
#: Runs in a live ``runs`` event: the newest page; the page shown is read from ``/api/runs``.
_EVENT_RUNS = 50
_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
}


class _Changes:
    """Wakes event streams when this process changes something (others are seen by polling)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)


def _error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


def _static(name: str) -> str:
    return resources.files(__package__).joinpath(f"static/{name}").read_text("utf-8")


def _page(user: User) -> str:
    html = _static("index.html")
    return html.replace("{{CSRF_TOKEN}}", csrf_token(user.token)).replace(
        "{{USER}}", escape(user.name if user.named else "")
    )


def _login_page(message: str, next_path: str, status: int = 200) -> HTMLResponse:
    html = _static("login.html")
    html = html.replace("{{MESSAGE}}", escape(message)).replace("{{NEXT}}", escape(next_path))
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _safe_next(value: str | None) -> str:
    """A local path to return to after signing in (never another site)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _user(request: Request) -> User:
    user: User = request.state.user
    return user


def _cause(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if exc.detail else code.replace("_", " ")
    if exc.status_code == 404:
        detail = f"no route {request.url.path!r}"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path!r}"
    return _error(exc.status_code, code, detail, exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    code = "corrupt_state" if isinstance(exc, CorruptStateError) else "internal"
    return _error(500, code, f"{type(exc).__name__}: {_cause(exc)}")


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HTTPException(400, f"{name} must be an integer") from None
    if not low <= value <= high:
        raise HTTPException(400, f"{name} must be between {low} and {high}")
    return value


class _Inbox:
    def __init__(
        self,
        store: RunStateStore,
        users: Users,
        registry: AgentRegistry,
        poll_interval: float,
    ) -> None:
        self.store = store
        self.users = users
        self.registry = registry
        self.poll_interval = poll_interval
        self.changes = _Changes()
        self.tasks: set[asyncio.Task[None]] = set()
        self.resuming: set[str] = set()

    # pages

    async def index(self, request: Request) -> Response:
        user = _user(request)
        if request.state.auth_via == "query":
            response: Response = RedirectResponse("/", status_code=303)
            response.set_cookie(COOKIE_NAME, user.token, httponly=True, samesite="strict", path="/")
            return response
        return HTMLResponse(_page(user), headers={"Cache-Control": "no-store"})

    async def login_form(self, request: Request) -> Response:
        return _login_page("", _safe_next(request.query_params.get("next")))

    async def login(self, request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        token = (form.get("token") or [""])[0].strip()
        next_path = _safe_next((form.get("next") or ["/"])[0])
        user = self.users.find(token)
        if user is None:
            return _login_page("That token is not valid.", next_path, status=401)
        response = RedirectResponse(next_path, status_code=303)
        response.set_cookie(COOKIE_NAME, user.token, httponly=True, samesite="strict", path="/")
        return response

    async def logout(self, request: Request) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE_NAME, path="/")
        return response

    # API: reads

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_schema())

    async def me(self, request: Request) -> Response:
        user = _user(request)
        return JSONResponse({"name": user.name, "named": user.named})

    async def approvals(self, request: Request) -> Response:
        return JSONResponse({"approvals": await pending_approvals(self.store)})

    async def activity(self, request: Request) -> Response:
        return JSONResponse(await activity(self.store))

    async def runs(self, request: Request) -> Response:
        status = request.query_params.get("status") or None
        if status is not None and status not in RUN_STATUSES:
            raise HTTPException(400, f"status must be one of {', '.join(RUN_STATUSES)}")
        agent = request.query_params.get("agent") or None
        search = request.query_params.get("q") or None
        limit = _int_param(request, "limit", _MAX_LIMIT, 1, _MAX_LIMIT)
        offset = _int_param(request, "offset", 0, 0, 10**9)

        page, total = await summaries_page(
            self.store, status, limit=limit, offset=offset, agent=agent, search=search
        )
        return JSONResponse({"runs": page, "total": total})

    async def run(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        try:
            return JSONResponse(await run_detail(self.store, run_id))
        except RunNotFoundError as error:
            return _error(404, "not_found", str(error))
        except (TimestepError, ValueError, TypeError, KeyError) as error:
            return _error(
                500,
                "unreadable",
                f"run {run_id!r} cannot be read: {type(error).__name__}: {_cause(error)}",
            )

    # API: decisions and actions

    async def _body(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise HTTPException(400, "request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise HTTPException(400, "request body must be a JSON object")
        return body

    async def _decide(self, request: Request, decision: DecisionKind) -> Response:
        run_id = request.path_params["run_id"]
        call_id = request.path_params["call_id"]
        body = await self._body(request)
        reason = body.get("reason")
        decided_by = body.get("decided_by")
        always = body.get("always", False)
        if not isinstance(reason, str | None) or not isinstance(decided_by, str | None):
            return _error(400, "bad_request", "'reason' and 'decided_by' must be strings")
        if not isinstance(always, bool):
            return _error(400, "bad_request", "'always' must be a boolean")
        if decision == "reject" and not (reason and reason.strip()):
            return _error(400, "bad_request", "a rejection needs a non-empty 'reason'")
        arguments = body.get("arguments") if decision == "approve" else None
        output = body.get("output") if decision == "answer" else None
        if not isinstance(arguments, dict | str | None):
            return _error(400, "bad_request", "'arguments' must be a JSON object (or its text)")
        if decision == "answer" and not isinstance(output, str):
            return _error(400, "bad_request", "an answer needs 'output': the text the model gets")
        user = _user(request)
        who = user.name if user.named else (decided_by or user.name)
        try:
            outcome = await self.store.decide(
                run_id,
                call_id,
                decision,
                reason=reason,
                decided_by=who,
                always=always,
                arguments=arguments,
                output=output,
            )
        except ConfigurationError as error:  # edited arguments that are not a JSON object
            return _error(400, "bad_request", str(error))
        except (RunNotFoundError, UnknownCallError) as error:
            return _error(404, "not_found", str(error))
        except ApprovalAlreadyDecidedError as error:
            return _error(409, "already_decided", str(error))
        except ApprovalError as error:
            return _error(409, "not_waiting", str(error))
        self.changes.notify()
        resuming = await self._maybe_resume(run_id)
        return JSONResponse({"decision": outcome.record.to_dict(), "resuming": resuming})

    async def approve(self, request: Request) -> Response:
        return await self._decide(request, "approve")

    async def reject(self, request: Request) -> Response:
        return await self._decide(request, "reject")

    async def answer(self, request: Request) -> Response:
        return await self._decide(request, "answer")

    async def cancel(self, request: Request) -> Response:
        from ..durable import cancel_run

        run_id = request.path_params["run_id"]
        try:
            summary = await self.store.run(run_id)
        except RunNotFoundError as error:
            return _error(404, "not_found", str(error))
        if summary.status in ("done", "failed", "cancelled"):
            return _error(409, "finished", f"run {run_id!r} is already {summary.status}")
        try:
            stopped = await cancel_run(run_id, store=self.store, by=_user(request).name)
        except ConfigurationError as error:  # running in TypeScript, on a SQLite or file store
            return _error(409, "other_language", str(error))
        self.changes.notify()
        return JSONResponse({"run_id": run_id, "status": "cancelled", "stopped": stopped})

    async def fork(self, request: Request) -> Response:
        body = await self._body(request)
        step = body.get("step")
        if not isinstance(step, int) or isinstance(step, bool) or step < 0:
            return _error(400, "bad_request", "'step' must be a non-negative integer")
        rerun = body.get("rerun_approved", False)
        if not isinstance(rerun, bool):
            return _error(400, "bad_request", "'rerun_approved' must be true or false")
        return await self._fork(request, step, "fork", rerun_approved=rerun)

    async def retry(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        try:
            detail = await run_detail(self.store, run_id)
        except RunNotFoundError as error:
            return _error(404, "not_found", str(error))
        if detail["status"] not in ("failed", "cancelled"):
            return _error(409, "not_failed", f"run {run_id!r} is {detail['status']}, not failed")
        steps = detail["durable_steps"]
        if not steps:
            return _error(409, "no_steps", f"run {run_id!r} has no durable steps to retry from")
        failing = [s["step_id"] for s in steps if s["error"]]
        step = failing[0] if failing else steps[-1]["step_id"]
        return await self._fork(request, int(step), "retry")

    async def _fork(
        self, request: Request, step: int, kind: str, *, rerun_approved: bool = False
    ) -> Response:
        from ..durable import fork_run

        run_id = request.path_params["run_id"]
        try:
            await self.store.run(run_id)
        except RunNotFoundError as error:
            return _error(404, "not_found", str(error))
        new_run_id = f"{run_id}-{kind}-{uuid.uuid4().hex[:6]}"
        try:
            segment = await fork_run(
                run_id,
                new_run_id,
                from_step=step,
                store=self.store,
                rerun_approved=rerun_approved,
            )
        except RunNotFoundError as error:
            return _error(409, "no_segment", str(error))
        except ConfigurationError as error:  # no such step, or it would re-run approved calls
            return _error(409, "invalid_fork", str(error))
        self.changes.notify()
        return JSONResponse(
            {"run_id": run_id, "new_run_id": new_run_id, "step": step, "segment": segment}
        )

    async def _maybe_resume(self, run_id: str) -> bool:
        """Resume the run in the background once all its approvals are decided."""
        if not self.registry or run_id in self.resuming:
            return False
        latest = await self.store.get(run_id)
        if undecided(latest, await self.store.decisions(run_id)):
            return False
        agent = self.registry.find(latest.agent_name)
        if agent is None:
            return False
        self.resuming.add(run_id)
        task = asyncio.create_task(self._resume(run_id, agent))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return True

    async def _resume(self, run_id: str, agent: Agent[Any]) -> None:
        try:
            await resume_run(self.store, run_id, agent)
        except Exception:
            logger.exception("resuming run %s failed", run_id)
        finally:
            self.resuming.discard(run_id)
            self.changes.notify()

    # live events

    async def stream(self, request: Request) -> Response:
        """The text of a streamed run, rebuilt from its durable log, as server-sent events."""
        from ..durable import attach_stream

        run_id = request.path_params["run_id"]
        events = attach_stream(run_id, store=self.store)
        try:  # an unknown or non-streamed run is answered at once, before any event
            first: dict[str, Any] | None = await anext(events)
        except StopAsyncIteration:
            first = None
        except RunNotFoundError as error:
            return _error(404, "not_found", str(error))
        except RunNotStreamedError as error:
            return _error(409, "not_streamed", str(error))
        return StreamingResponse(
            self._text_stream(request, events, first),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def _text_stream(
        self,
        request: Request,
        events: AsyncGenerator[dict[str, Any], None],
        first: dict[str, Any] | None,
    ) -> AsyncIterator[str]:
        from ..durable import StreamText

        text = StreamText()
        retried: list[dict[str, Any]] = []
        status: str | None = None

        def message(event: dict[str, Any]) -> str | None:
            nonlocal status
            if event.get("type") == "segment_end":
                status = str(event.get("status"))
            change = text.add(event)
            if change is None:
                return None
            if change.kind == "retract":
                retried.append(
                    {"step": change.step, "attempt": change.attempt, "reason": event.get("reason")}
                )
            data = {"text": text.text, "retried": retried, "last_id": event.get("id")}
            return f"event: text\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"

        yield "retry: 2000\n\n"
        try:
            if first is not None:
                sent = message(first)
                if sent is not None:
                    yield sent
                async for event in events:
                    sent = message(event)
                    if sent is not None:
                        yield sent
                    if await request.is_disconnected():
                        return
        finally:
            await events.aclose()
        yield f"event: end\ndata: {json.dumps({'status': status})}\n\n"

    async def events(self, request: Request) -> Response:
        return StreamingResponse(
            self._event_stream(request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def _event_stream(self, request: Request) -> AsyncIterator[str]:
        last: dict[str, str] = {}
        yield "retry: 2000\n\n"
        quiet = 0.0
        seen: object = None
        while True:
            current = await self.store.change_marker()
            snapshot = {}
            if current != seen:
                seen = current
                snapshot = {
                    "approvals": {"approvals": await pending_approvals(self.store)},
                    "runs": {
                        "runs": await list_summaries(self.store, limit=_EVENT_RUNS),
                        "total": await self.store.count_runs(),
                    },
                }
            for name, payload in snapshot.items():
                text = json.dumps(payload, separators=(",", ":"))
                if last.get(name) != text:
                    last[name] = text
                    quiet = 0.0
                    yield f"event: {name}\ndata: {text}\n\n"
            if quiet >= _KEEPALIVE_SECONDS:
                quiet = 0.0
                yield ": keep-alive\n\n"  # a comment line: keeps proxies from closing the stream
            if await request.is_disconnected():
                return
            await self.changes.wait(self.poll_interval)
            quiet += self.poll_interval


def create_app(
    store: RunStateStore,
    *,
    token: str | None = None,
    users: Mapping[str, str] | None = None,
    agents: list[Agent[Any]] | None = None,
    poll_interval: float = 1.0,
) -> Starlette:
    """The inbox app for ``store``; every request must carry a user's token.

    ``users`` maps names to tokens (decisions are recorded as made by that name); ``token`` is one
    more, anonymous user (decisions take the request's ``decided_by``, else ``inbox``). With
    ``agents``, a run whose approvals are all decided is resumed in the background.
    """
    inbox = _Inbox(store, Users(users, token), AgentRegistry(agents or []), poll_interval)
    run = "/api/runs/{run_id:path}"
    routes = [
        Route("/", inbox.index, methods=["GET"]),
        Route("/runs/{run_id:path}", inbox.index, methods=["GET"]),
        Route("/login", inbox.login_form, methods=["GET"]),
        Route("/login", inbox.login, methods=["POST"]),
        Route("/logout", inbox.logout, methods=["POST"]),
        Route("/openapi.json", inbox.openapi, methods=["GET"]),
        Route("/api/me", inbox.me, methods=["GET"]),
        Route("/api/approvals", inbox.approvals, methods=["GET"]),
        Route("/api/events", inbox.events, methods=["GET"]),
        Route("/api/activity", inbox.activity, methods=["GET"]),
        Route("/api/runs", inbox.runs, methods=["GET"]),
        Route(f"{run}/approvals/{{call_id}}/approve", inbox.approve, methods=["POST"]),
        Route(f"{run}/approvals/{{call_id}}/reject", inbox.reject, methods=["POST"]),
        Route(f"{run}/approvals/{{call_id}}/answer", inbox.answer, methods=["POST"]),
        Route(f"{run}/cancel", inbox.cancel, methods=["POST"]),
        Route(f"{run}/fork", inbox.fork, methods=["POST"]),
        Route(f"{run}/retry", inbox.retry, methods=["POST"]),
        Route(f"{run}/stream", inbox.stream, methods=["GET"]),
        Route(run, inbox.run, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(TokenAuthMiddleware, users=inbox.users)],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app.state.inbox = inbox
    return app
