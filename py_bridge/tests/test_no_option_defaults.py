"""No option default lives in Python: TypeScript resolves every option and sends complete objects.

An AST scan of py_bridge (tests excluded) fails on the ways a default creeps back in:

* ``<name>.get(key, default)`` where ``<name>`` holds a message from TypeScript (options, payload,
  config, spec, side, obj…): a default for a key that TypeScript always sends hides a drifted contract;
* ``payload.get(`` / ``options.get(`` / ``config.get(`` at all: read options as required keys;
* ``options["key"] or default``: the same default, spelled differently.

A read that is not an option (an optional field of the message envelope or of a tensor descriptor)
goes on ``ALLOWED`` with its reason.
"""

import ast
from pathlib import Path

PY_BRIDGE = Path(__file__).resolve().parents[1]

# names that hold (parts of) messages from TypeScript
MESSAGE_NAMES = {"options", "payload", "config", "spec", "side", "obj", "opts", "fit_options", "embed_options"}
# names on which any .get( is refused, default or not
STRICT_NAMES = {"options", "payload", "config", "opts"}

# (file relative to py_bridge, key) → why this read may have a default
ALLOWED: dict[tuple[str, str], str] = {
    ("bridge/shm.py", "transient"): "a tensor descriptor's flag, set by TypeScript only on transient regions: "
    "descriptor metadata, not an option",
}


def _receiver(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Subscript):  # payload["options"].get(...)
        return _receiver(node.value)
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _key(call: ast.Call) -> str:
    first = call.args[0] if call.args else None
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else "?"


def violations() -> list[str]:
    found = []
    files = [p for p in PY_BRIDGE.rglob("*.py") if "tests" not in p.relative_to(PY_BRIDGE).parts]
    assert len(files) > 20, "the scan must see the worker's sources"
    for path in files:
        rel = path.relative_to(PY_BRIDGE).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
                name = _receiver(node.func.value)
                has_default = len(node.args) > 1 or bool(node.keywords)
                flagged = name in STRICT_NAMES or (name in MESSAGE_NAMES and has_default)
                if flagged and (rel, _key(node)) not in ALLOWED:
                    found.append(f"{rel}:{node.lineno}: {name}.get({_key(node)!r}…)")
            if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
                first = node.values[0]
                if isinstance(first, ast.Subscript) and _receiver(first) in MESSAGE_NAMES:
                    found.append(f"{rel}:{node.lineno}: `{ast.unparse(node)}`")
    return found


def test_no_python_option_defaults():
    assert violations() == [], "read options as required keys (TypeScript resolves every default)"


def test_the_scan_catches_each_pattern():
    bad = PY_BRIDGE / "_scan_probe.py"
    bad.write_text(
        "def f(payload, options, side):\n"
        "    a = options.get('k', 5)\n"
        "    b = payload.get('x')\n"
        "    c = options['batchSize'] or 64\n"
        "    d = side.get('labels', [])\n"
        "    return a, b, c, d\n"
    )
    try:
        found = [v for v in violations() if v.startswith("_scan_probe.py")]
    finally:
        bad.unlink()
    assert len(found) == 4, found
