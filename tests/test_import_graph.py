"""The layers stay layered: ``state/`` stands alone, and no module imports itself round a circle.

Read from the source (AST), so a test never imports the code it checks.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "commands", "dialer", "state")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    }


def _imported(node: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".")
            base = base[: len(base) - node.level + (1 if is_package else 0)]
            target = ".".join([*base, node.module] if node.module else base)
        else:
            target = node.module or ""
        yield target
        yield from (f"{target}.{alias.name}" for alias in node.names)


def _all_imports(module: str, path: Path) -> set[str]:
    """Every import in the file: at the top, in functions, under ``TYPE_CHECKING``."""
    tree = ast.parse(path.read_text())
    is_package = path.name == "__init__.py"
    return {name for node in ast.walk(tree) for name in _imported(node, module, is_package)}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _load_time_imports(module: str, path: Path) -> set[str]:
    """The imports run when the module is loaded: top level, not inside a function or a
    ``TYPE_CHECKING`` block. Only these can make an import fail half way round a circle."""
    tree = ast.parse(path.read_text())
    is_package = path.name == "__init__.py"
    names: set[str] = set()
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If):
            if not _is_type_checking(node):
                pending.extend(node.body)
            pending.extend(node.orelse)
        elif isinstance(node, ast.Try):
            pending.extend([*node.body, *node.orelse, *node.finalbody])
            for handler in node.handlers:
                pending.extend(handler.body)
        else:
            names.update(_imported(node, module, is_package))
    return names


def _project_targets(names: set[str], modules: dict[str, Path]) -> set[str]:
    return {name for name in names if name in modules}


def test_state_imports_nothing_from_the_dialer_adapters_the_bot_or_the_commands() -> None:
    offending = {
        f"{module} imports {name}"
        for module, path in _modules().items()
        if module.split(".")[0] == "state"
        for name in _all_imports(module, path)
        if name.split(".")[0] in {"bot", "commands", "dialer"}
    }
    assert not offending, sorted(offending)


def test_dialer_uses_only_the_vocabulary_helpers_and_key_registry_of_state() -> None:
    allowed = {"state", "state.domain", "state.cancellation", "state.keys"}
    offending = {
        f"{module} imports {name}"
        for module, path in _modules().items()
        if module.split(".")[0] == "dialer"
        for name in _project_targets(_all_imports(module, path), _modules())
        if name.split(".")[0] in {"bot", "commands"}
        or (name.split(".")[0] == "state" and name not in allowed)
    }
    assert not offending, sorted(offending)


def test_nothing_below_the_bot_imports_the_bot() -> None:
    offending = {
        f"{module} imports {name}"
        for module, path in _modules().items()
        if module.split(".")[0] != "bot"
        for name in _all_imports(module, path)
        if name.split(".")[0] == "bot"
    }
    assert not offending, sorted(offending)


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each one import circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _ancestors(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def _graph(imports: dict[str, set[str]], modules: dict[str, Path]) -> dict[str, set[str]]:
    graph = {module: set() for module in modules}
    for module, names in imports.items():
        for name in _project_targets(names, modules) - _ancestors(module):
            graph[module].add(name)
            # Importing a.b.c runs a/__init__.py and a/b/__init__.py first, unless they are the
            # importer's own packages, which are loading already.
            parts = name.split(".")
            parents = {".".join(parts[:i]) for i in range(1, len(parts))}
            graph[module].update(parents - _ancestors(module))
    return graph


def test_no_module_imports_itself_round_a_circle() -> None:
    modules = _modules()
    imports = {module: _load_time_imports(module, path) for module, path in modules.items()}
    assert _circles(_graph(imports, modules)) == []


def test_the_packages_form_no_circle() -> None:
    modules = _modules()
    between: dict[str, set[str]] = {package: set() for package in PACKAGES}
    for module, path in modules.items():
        for name in _project_targets(_all_imports(module, path), modules):
            between[module.split(".")[0]].add(name.split(".")[0])
    for package in PACKAGES:
        between[package].discard(package)
    assert _circles(between) == []


def test_a_circle_is_found_when_there_is_one() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
