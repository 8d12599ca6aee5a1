"""A tiny MCP server over stdio for durable tests: ``add`` logs every execution to a file.

Run as ``python tests/harness/mcp_counter.py``; each call of ``add`` appends one JSON line
(``call`` arguments and the ``_meta`` idempotency key it received) to ``$TIMESTEP_MCP_LOG``.
With ``$TIMESTEP_MCP_RENAMED=1`` the tool is listed as ``add_v2`` (a server upgraded between a
crash and the recovery).
"""

from __future__ import annotations

import json
import os
from typing import Any

from mcp.server.mcpserver import Context, MCPServer

server: MCPServer[Any] = MCPServer("counter")


@server.tool(name="add_v2" if os.environ.get("TIMESTEP_MCP_RENAMED") == "1" else "add")
def add(a: int, b: int, ctx: Context) -> str:
    """Add two numbers (each execution is logged)."""
    meta = ctx.request_context.meta or {}
    key = dict(meta).get("timestep/idempotency-key")
    path = os.environ.get("TIMESTEP_MCP_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps({"a": a, "b": b, "key": key, "pid": os.getpid()}) + "\n")
            log.flush()
            os.fsync(log.fileno())
    return str(a + b)


if __name__ == "__main__":
    server.run()
