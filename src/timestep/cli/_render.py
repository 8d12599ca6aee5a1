"""Rich rendering of runs, timelines and approvals for the terminal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

_STATUS_STYLE = {
    "waiting": "yellow",
    "done": "green",
    "failed": "red",
    "running": "cyan",
    "cancelled": "dim",
}


def age(timestamp: str, now: datetime | None = None) -> str:
    """How long ago an ISO-8601 UTC timestamp was, as ``42s``, ``5m``, ``3h`` or ``2d``."""
    try:
        then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "?"
    seconds = max(0.0, ((now or datetime.now(UTC)) - then).total_seconds())
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m"
    if seconds < 86400:
        return f"{seconds // 3600:.0f}h"
    return f"{seconds // 86400:.0f}d"


def _cells(*values: str | Text) -> list[Text]:
    """Table cells shown literally (run ids, arguments and outputs are not Rich markup)."""
    return [v if isinstance(v, Text) else Text(v) for v in values]


def _status(status: str) -> Text:
    return Text(status, style=_STATUS_STYLE.get(status, ""))


def runs_table(runs: list[dict[str, Any]]) -> Table:
    """The ``timestep runs list`` table."""
    from ..runs import abbreviate  # loaded already: the rows came from timestep.runs

    table = Table(box=None, pad_edge=False)
    errors = any(run.get("error") for run in runs)
    columns = ("RUN", "STATUS", "AGENT", "AGE", "UPDATED", "PENDING") + (
        ("ERROR",) if errors else ()
    )
    for column in columns:
        table.add_column(column, no_wrap=column not in ("AGENT", "ERROR"))
    for run in runs:
        extra = (abbreviate(run.get("error") or "", 60),) if errors else ()
        table.add_row(
            *_cells(
                run["run_id"],
                _status(run["status"]),
                run["agent_name"],
                age(run["created_at"]),
                age(run["updated_at"]),
                str(run["pending_approvals"]) if run["pending_approvals"] else "",
                *extra,
            )
        )
    return table


def run_view(detail: dict[str, Any]) -> Group:
    """The ``timestep runs show`` view: header, versions, timeline, approvals, decisions."""
    parts: list[Any] = []
    header = Text.assemble(
        ("run ", "bold"),
        (detail["run_id"], "bold"),
        "  ",
        _status(detail["status"]),
        f"  agent {detail['agent_name']}  version {detail['latest_version']}"
        f"  ({detail['language']})",
    )
    parts.append(header)
    if detail.get("conversation"):
        parts.append(conversation_view(detail["conversation"]))
    versions = Table(title="versions", title_justify="left", box=None, pad_edge=False)
    for column in ("VERSION", "STATUS", "AGENT", "LANG", "SDK", "SAVED", "PENDING"):
        versions.add_column(column)
    for version in detail["versions"]:
        versions.add_row(
            *_cells(
                str(version["version"]),
                _status(version["status"]),
                version["agent_name"],
                version["language"],
                version["sdk_version"],
                version["created_at"],
                ", ".join(version["pending_approvals"]),
            )
        )
    parts.append(versions)
    timeline = Table(title="timeline", title_justify="left", box=None, pad_edge=False)
    for column in ("#", "STEP", "AGENT", "TIME", "TOKENS IN/OUT", "DETAIL"):
        timeline.add_column(column, overflow="fold")
    for step in detail["timeline"]:
        tokens = ""
        if step["kind"] == "model":
            tokens = f"{_num(step['input_tokens'])}/{_num(step['output_tokens'])}"
        name = "model" if step["kind"] == "model" else f"{step['kind']} {step['name']}"
        timeline.add_row(
            *_cells(
                str(step["index"]),
                name,
                step["agent_name"],
                _ms(step["duration_ms"]),
                tokens,
                step["detail"],
            )
        )
    parts.append(timeline)
    if detail["pending_approvals"]:
        pending = Table(title="pending approvals", title_justify="left", box=None, pad_edge=False)
        for column in ("CALL", "TOOL", "AGENT", "ARGUMENTS"):
            pending.add_column(column, overflow="fold")
        for item in detail["pending_approvals"]:
            pending.add_row(
                *_cells(item["call_id"], item["tool_name"], item["agent_name"], item["arguments"])
            )
        parts.append(pending)
    if detail["decisions"]:
        decisions = Table(title="decisions", title_justify="left", box=None, pad_edge=False)
        for column in ("VERSION", "CALL", "TOOL", "DECISION", "BY", "AT", "REASON"):
            decisions.add_column(column, overflow="fold")
        for record in detail["decisions"]:
            decisions.add_row(
                *_cells(
                    str(record["state_version"]),
                    record["call_id"],
                    record["tool_name"],
                    decision_label(record),
                    record["decided_by"] or "",
                    record["decided_at"],
                    record["reason"] or "",
                )
            )
        parts.append(decisions)
        for record in detail["decisions"]:
            if decision_detail(record):
                parts.append(Text(f"  {record['call_id']} {decision_detail(record)}"))
    if detail["durable_steps"]:
        steps = Table(title="durable steps", title_justify="left", box=None, pad_edge=False)
        for column in ("SEGMENT", "ID", "STEP", "TIME", "ERROR"):
            steps.add_column(column, overflow="fold")
        for record in detail["durable_steps"]:
            steps.add_row(
                *_cells(
                    record["segment"],
                    str(record["step_id"]),
                    record["name"],
                    _ms(record["duration_ms"]),
                    record["error"] or "",
                )
            )
        parts.append(steps)
    origin = detail.get("forked_from")
    if origin:
        where = (
            f"step {origin['step']} ({origin.get('segment', '')})"
            if "step" in origin
            else f"version {origin.get('version')}"
        )
        parts.append(Text.assemble(("forked from: ", "bold"), f"{origin['run_id']} at {where}"))
    if detail.get("error"):
        parts.append(Text.assemble(("error: ", "bold red"), detail["error"]))
    if detail["final_output"] is not None:
        parts.append(Text.assemble(("final output: ", "bold"), detail["final_output"]))
    return Group(*parts)


_ROLE_STYLE = {
    "user": "bold cyan",
    "assistant": "bold green",
    "tool_call": "bold",
    "handoff": "bold",
}


def conversation_view(items: list[dict[str, Any]]) -> Table:
    """The conversation: user input, assistant messages, tool calls and outputs, refusals."""
    table = Table(title="conversation", title_justify="left", box=None, pad_edge=False)
    table.add_column("WHO", no_wrap=True)
    table.add_column("", overflow="fold")
    for item in items:
        role = item["role"]
        who = {"tool_call": "tool call", "tool_output": "tool output"}.get(role, role)
        text = item["text"]
        style = _ROLE_STYLE.get(role, "")
        if role in ("tool_call", "handoff"):
            text = f"{item['name']}({item['arguments'] or ''})"
            by = item["decided_by"] or "?"
            edited = item.get("edited_arguments")
            with_edit = f" with edited arguments {edited}" if edited else ""
            note = {
                "pending_approval": "  [waiting for approval]",
                "approved": f"  [approved by {by}{with_edit}; runs on resume]",
                "rejected": f"  [rejected by {by}]",
                "answered": f"  [answered by {by}; the tool did not run]",
            }.get(item["status"] or "", "")
            if item["status"] == "done" and item.get("decided_by"):
                note = f"  [approved by {item['decided_by']}{with_edit}]"
            text += note
        elif role == "tool_output" and item["status"] == "rejected":
            who, style = "rejected", "red"
            text = f"not run; the model was told: {text}"
        elif role == "tool_output" and item["status"] == "answered":
            who, style = "answered", "yellow"
            text = f"not run; the model was given: {text}"
        table.add_row(Text(who, style=style), Text(text))
    return table


def decision_label(record: dict[str, Any]) -> str:
    """A decision as a word: approve, approve (edited), reject, answer."""
    if record["decision"] == "approve" and record.get("arguments") is not None:
        return "approve (edited)"
    return str(record["decision"])


def decision_detail(record: dict[str, Any]) -> str:
    """What an edited approval changed (model's -> edited), or the answer given to the model."""
    if record.get("arguments") is not None:
        return f"arguments edited: {record.get('original_arguments')} -> {record['arguments']}"
    if record.get("output") is not None:
        return f"answered, the model was given: {record['output']}"
    return ""


def _ms(value: int | None) -> str:
    return "" if value is None else f"{value} ms"


def _num(value: int | None) -> str:
    return "?" if value is None else str(value)


def print_pending(console: Console, run_id: str, pending: list[Any]) -> None:
    """Tell the user which calls wait for a decision and how to give it."""
    console.print(f"run {run_id} is waiting for {len(pending)} approval(s):")
    for item in pending:
        console.print(f"  {item.call_id}  {item.tool_name}({item.arguments})", markup=False)
    console.print(
        f"decide with: timestep approve {run_id} CALL_ID [--arguments JSON]  |  "
        f"timestep reject {run_id} CALL_ID --reason TEXT  |  "
        f"timestep answer {run_id} CALL_ID --output TEXT",
        markup=False,
    )
