"""RunState translation cost: a real 1,000-item Python state, translated each direction.

The state comes from the real Python SDK (openai-agents, scripted model): one model turn calls the
non-approval ``lookup`` tool 499 times, the next calls the approval-gated ``refund`` tool, so the
paused state holds 1,000 generated items (499 calls + 499 outputs + 1 call + 1 approval request).
The JS document is its translation (the JS SDK loads it; see tests/crosslang/test_translate.py).
Reports the median of ``--repeat`` timings of ``to_typescript`` and ``to_python`` (pure functions on
parsed JSON; parsing/serialising the text is reported separately) and the document sizes.

    .venv/bin/python bench/bench_translate.py            # prints, and updates bench/README.md
    .venv/bin/python bench/bench_translate.py --no-readme
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from agents import RunConfig, Runner  # noqa: E402

from timestep.state.translate import _js_identity, _py_identity, to_python, to_typescript  # noqa: E402
from vectors.scenarios import lookup_call, refund_call, scripted, support_agent  # noqa: E402

LOOKUPS = 499
HEADING = "## RunState translation (bench_translate.py)"


async def big_state() -> dict[str, Any]:
    """A real paused Python state with 1,000 generated items."""
    model = scripted(
        [lookup_call(f"call_{i}", str(i)) for i in range(LOOKUPS)],
        [refund_call("call_refund")],
    )
    agent = support_agent(model)
    result = await Runner.run(
        agent, "Look up everything", run_config=RunConfig(tracing_disabled=True), max_turns=5
    )
    assert result.interruptions, "expected the refund approval"
    state: dict[str, Any] = result.to_state().to_json()
    assert len(state["generated_items"]) == 2 * LOOKUPS + 2
    return state


def _cold() -> None:
    """Forget memoised hashes, so every timing pays for every call's fingerprint."""
    _js_identity.function_call_fingerprint.cache_clear()
    _py_identity.python_fingerprint.cache_clear()


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up (imports, code paths)
    samples = []
    for _ in range(repeat):
        _cold()
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


Row = tuple[str, float, float, float, int, int]


def measure(repeat: int) -> list[Row]:
    python = asyncio.run(big_state())
    typescript = to_typescript(python)
    py_text = json.dumps(python)
    ts_text = json.dumps(typescript)
    rows = [
        (
            "Python -> TypeScript",
            median_ms(lambda: to_typescript(python), repeat),
            median_ms(lambda: json.dumps(to_typescript(json.loads(py_text))), repeat),
            median_ms(lambda: json.loads(py_text), repeat),
            len(py_text.encode()),
            len(ts_text.encode()),
        ),
        (
            "TypeScript -> Python",
            median_ms(lambda: to_python(typescript), repeat),
            median_ms(lambda: json.dumps(to_python(json.loads(ts_text))), repeat),
            median_ms(lambda: json.loads(ts_text), repeat),
            len(ts_text.encode()),
            len(json.dumps(to_python(typescript)).encode()),
        ),
    ]
    return rows


def table(rows: list[Row], repeat: int) -> str:
    lines = [
        f"Translation of a 1,000-item paused RunState (median of {repeat}; target <= 10 ms).",
        "`json.loads` of the input is shown as a yardstick of the machine's speed at the time.",
        "",
        "| direction | translate (ms) | parse + translate + dump (ms) | json.loads of input (ms) "
        "| input bytes | output bytes |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, pure, text, parse, size_in, size_out in rows:
        lines.append(
            f"| {name} | {pure:.2f} | {text:.2f} | {parse:.2f} | {size_in:,} | {size_out:,} |"
        )
    return "\n".join(lines)


def update_readme(section: str) -> None:
    """Replace (or append) this benchmark's ``## RunState translation`` section."""
    readme = HERE / "README.md"
    text = readme.read_text() if readme.exists() else "# Benchmarks\n"
    block = f"{HEADING}\n\n{section}\n"
    start = text.find(HEADING)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + block
    else:
        end = text.find("\n## ", start + 1)
        tail = text[end + 1 :] if end != -1 else ""
        text = text[:start] + block + ("\n" + tail if tail else "")
    readme.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    section = table(measure(args.repeat), args.repeat)
    print(section)
    if not args.no_readme:
        update_readme(section)


if __name__ == "__main__":
    main()
