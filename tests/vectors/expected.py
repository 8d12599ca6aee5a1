"""Write the expected translations of every vector with timestep's Python translator.

``<shape>/python.to_typescript.json`` = ``to_typescript(python.json)`` and
``<shape>/typescript.to_python.json`` = ``to_python(typescript.json)``. Both test suites check
that their translator reproduces these files exactly and that the other SDK loads and resumes
them. Run after ``generate.py`` / ``npm --prefix ts run vectors``:
``.venv/bin/python tests/vectors/expected.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from timestep.state.translate import to_python, to_typescript

VECTORS = Path(__file__).resolve().parent


def main() -> None:
    for shape in sorted(p for p in VECTORS.iterdir() if (p / "python.json").exists()):
        python = json.loads((shape / "python.json").read_text())
        out = shape / "python.to_typescript.json"
        out.write_text(json.dumps(to_typescript(python), indent=2, ensure_ascii=False) + "\n")
        typescript_path = shape / "typescript.json"
        if typescript_path.exists():
            typescript = json.loads(typescript_path.read_text())
            out = shape / "typescript.to_python.json"
            out.write_text(json.dumps(to_python(typescript), indent=2, ensure_ascii=False) + "\n")
        print(f"wrote expected translations for {shape.name}")


if __name__ == "__main__":
    main()
