"""Run the inbox with uvicorn."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import uvicorn

from ._app import create_app

if TYPE_CHECKING:
    from agents import Agent

    from ..state import RunStateStore


def serve(
    store: RunStateStore,
    *,
    token: str | None = None,
    users: Mapping[str, str] | None = None,
    host: str = "127.0.0.1",
    port: int = 8765,
    agents: list[Agent[Any]] | None = None,
    on_ready: Callable[[str], None] | None = None,
    log_level: str = "warning",
) -> None:
    """Serve the inbox until interrupted; ``on_ready`` gets its URL once listening.

    The URL carries ``token`` (signing the browser in) when there is one; with named users only,
    it is the sign-in page's.
    """
    app = create_app(store, token=token, users=users, agents=agents)
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
                base = f"http://{shown}:{bound}"
                callback(f"{base}/?token={token}" if token else f"{base}/login")

        server.startup = startup  # type: ignore[method-assign]
    server.run()
