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
from timestep.state.translate._js_identity import bare_state_key, function_call_fingerprint
from timestep.state.translate._py_identity import python_fingerprint, python_scope

VECTORS = Path(__file__).resolve().parent

#: Tool-call arguments whose ledger hashes both translators must compute like the SDKs do.
TRICKY_ARGUMENTS = [
    '{"order_id":"42","amount":5}',
    '{"amount": 5.0, "order_id": "x"}',
    '{"a":[1,2.50,-0,1e3,{"b":null,"c":true}],"d":"\\u00e9\\u0000"}',
    '{"z":1,"a":{"y":2,"b":3}}',
    '{"price": 0.1, "big": 1e21, "small": 1e-7, "neg": -12.5e-3}',
    "not json",
    '{"n": 12345678901234567890}',
    "",
]


def fingerprints() -> dict[str, object]:
    """Ledger hashes of ``refund`` calls, as computed by the Python SDK's own functions."""
    scope = python_scope("refund")
    return {
        "tool": "refund",
        "python_scope": scope,
        "cases": [
            {
                "arguments": arguments,
                "python_fingerprint": python_fingerprint(scope, arguments),
                "js_fingerprint": function_call_fingerprint(bare_state_key("refund"), arguments),
            }
            for arguments in TRICKY_ARGUMENTS
        ],
    }


def main() -> None:
    (VECTORS / "fingerprints.json").write_text(json.dumps(fingerprints(), indent=2) + "\n")
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
