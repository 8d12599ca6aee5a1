"""The TypeScript examples of the docs as a user runs them: type-checked with ``strict`` and
compiled next to a ``node_modules`` holding the package (``ts/``), the SDK, zod and Node's types."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from .node import TS

EXAMPLES = TS.parent / "docs" / "examples"


def compile_examples(workdir: Path, node: str) -> Path:
    """Copy every ``docs/examples/*.ts`` into ``workdir``, type-check them all with ``strict``
    and emit ``.js`` beside them; returns ``workdir``. A type error fails with tsc's output."""
    modules = workdir / "node_modules"
    (modules / "@timestep-ai").mkdir(parents=True, exist_ok=True)
    links = {
        modules / "@timestep-ai" / "timestep": TS,  # as if installed from npm
        modules / "@openai": TS / "node_modules" / "@openai",
        modules / "@types": TS / "node_modules" / "@types",
        modules / "zod": TS / "node_modules" / "zod",
    }
    for link, target in links.items():
        if not link.exists():
            link.symlink_to(target)
    sources = sorted(EXAMPLES.glob("*.ts"))
    for source in sources:
        shutil.copy(source, workdir / source.name)
    config = {
        "compilerOptions": {
            "strict": True,
            "target": "ES2022",
            "module": "NodeNext",
            "moduleResolution": "NodeNext",
            "types": ["node"],
            "skipLibCheck": True,
            "rootDir": ".",
            "outDir": ".",
        },
        "files": [source.name for source in sources],
    }
    (workdir / "tsconfig.json").write_text(json.dumps(config))
    (workdir / "package.json").write_text('{"type": "module"}')
    tsc = TS / "node_modules" / "typescript" / "bin" / "tsc"
    done = subprocess.run(
        [node, str(tsc), "-p", "tsconfig.json"], cwd=workdir, capture_output=True, text=True
    )
    assert done.returncode == 0, f"docs/examples/*.ts do not type-check:\n{done.stdout}"
    return workdir
