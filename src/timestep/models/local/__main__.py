"""`python -m timestep.models.local setup`: build and download the offline local model."""

from __future__ import annotations

import argparse
import sys
import time

from timestep._errors import LocalModelError
from timestep.models.local._paths import LocalModelPaths
from timestep.models.local._setup import ensure_local_model, is_ready


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m timestep.models.local")
    sub = parser.add_subparsers(dest="command", required=True)
    setup = sub.add_parser("setup", help="build llama-server and fetch the weights (once)")
    setup.add_argument("--quiet", action="store_true", help="no progress output")
    sub.add_parser("status", help="print the cache paths and whether they are ready")
    args = parser.parse_args(argv)
    if args.command == "status":
        paths = LocalModelPaths.in_cache()
        print(f"ready: {is_ready(paths)}")
        print(f"server: {paths.server_binary}\nweights: {paths.weights}")
        return 0 if is_ready(paths) else 1
    started = time.monotonic()
    try:
        paths = ensure_local_model(progress=not args.quiet)
    except LocalModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"local model ready in {time.monotonic() - started:.1f} s")
    print(f"server: {paths.server_binary}\nweights: {paths.weights}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
