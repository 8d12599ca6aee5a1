"""Run the inbox with uvicorn."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import uvicorn

from ._app import create_app

if TYPE_CHECKING:
    from agents import Agent

    from ..state import RunStateStore


def serve(
    store: RunStateStore,
    *,
    token: str,
    host: str = "127.0.0.1",
    port: int = 8765,
    agents: list[Agent[Any]] | None = None,
    on_ready: Callable[[str], None] | None = None,
    log_level: str = "warning",
) -> None:
    """Serve the inbox until interrupted; ``on_ready`` gets the login URL once listening."""
    app = create_app(store, token=token, agents=agents)
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)

    if on_ready is not None:
        callback = on_ready
        original_startup = server.startup

        async def startup(sockets: Any = None) -> None:
            await original_startup(sockets=sockets)
            if server.started:
                bound = port
                for srv in server.servers:
                    for sock in srv.sockets:
                        bound = sock.getsockname()[1]
                shown = f"[{host}]" if ":" in host else host
                callback(f"http://{shown}:{bound}/?token={token}")

        server.startup = startup  # type: ignore[method-assign]
    server.run()
