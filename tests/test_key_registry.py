"""Every Redis key is spelled in ``state/keys.py``: no other module builds one from the prefix.

Read from the source (AST): a key is an f-string or a ``+`` that starts with something named
``…prefix`` and goes on with a ``:``-separated name (``f"{prefix}upload:{ref}"``).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = ROOT / "state" / "keys.py"


def _named_prefix(node: ast.expr) -> bool:
    name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")
    return isinstance(name, str) and name.lower().endswith("prefix")


def _key_spelling(node: ast.AST) -> bool:
    if isinstance(node, ast.JoinedStr) and len(node.values) >= 2:
        first, rest = node.values[0], node.values[1]
        return (
            isinstance(first, ast.FormattedValue)
            and _named_prefix(first.value)
            and isinstance(rest, ast.Constant)
            and ":" in str(rest.value)
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return (
            _named_prefix(node.left)
            and isinstance(node.right, ast.Constant)
            and ":" in str(node.right.value)
        )
    return False


def keys_spelled_in(source: str) -> list[int]:
    """The lines of ``source`` that build a Redis key from a prefix."""
    return sorted({node.lineno for node in ast.walk(ast.parse(source)) if _key_spelling(node)})


def test_no_module_but_the_registry_builds_a_key_from_the_prefix() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in ("bot", "commands", "dialer", "state")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != REGISTRY
        for line in keys_spelled_in(path.read_text())
    ]
    assert found == [], "spell these keys in state/keys.py: " + ", ".join(found)


def test_the_check_sees_a_key_spelled_as_an_f_string_or_a_sum() -> None:
    source = (
        'a = f"{self.prefix}upload:{ref}"\n'
        'b = key_prefix + "livevox:poller"\n'
        'c = f"{prefix}/text"\n'
        'd = f"{name}:{ref}"\n'
    )
    assert keys_spelled_in(source) == [1, 2]


def test_the_registry_itself_spells_keys() -> None:
    assert keys_spelled_in(REGISTRY.read_text())
