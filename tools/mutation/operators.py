"""The mutants of one module: small AST changes a test suite should notice.

Operators (each mutant is exactly one change):

* ``compare``: a comparison negated (``==``/``!=``, ``<``/``>=``, ``>``/``<=``, ``is``/``is not``,
  ``in``/``not in``) or its boundary moved (``<``/``<=``, ``>``/``>=``);
* ``boolop``: ``and`` <-> ``or``;
* ``not``: a ``not`` dropped;
* ``bool``: ``True`` <-> ``False``;
* ``guard``: an ``if`` without ``else`` whose body ends in ``raise``/``return``/``continue``/
  ``break`` deleted (the guard is gone, what follows runs);
* ``return``: ``return <value>`` -> ``return None``;
* ``int``: an integer constant ``n`` -> ``n + 1`` and ``n - 1``;
* ``call``: a statement that only calls something (``pipe.zrem(...)``,
  ``await self.ensure_group()``) deleted.

Declarations are left alone: annotations, decorators, docstrings, parameter defaults and
logging calls (``log.warning(...)``); changing them changes no behaviour a test could pin, or
only a log line.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from dataclasses import dataclass

NEGATED: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
BOUNDARY: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
}
LOG_METHODS = frozenset({"debug", "info", "warning", "error", "exception", "critical"})
EXITS = (ast.Raise, ast.Return, ast.Continue, ast.Break)


@dataclass(frozen=True)
class Mutant:
    id: str
    """``<line>:<col>:<operator>:<variant>``; stable while the module's text is unchanged."""
    line: int
    operator: str
    original: str
    mutated: str
    scope: str
    source: str
    """The whole mutated module."""

    def describe(self) -> str:
        where = f"line {self.line} ({self.scope})"
        return f"{where}: {self.operator}: `{self.original}` -> `{self.mutated}`"


def mutants(source: str, functions: frozenset[str] = frozenset()) -> Iterator[Mutant]:
    """Every mutant of ``source``; only inside the functions/classes named in ``functions``
    (qualified names such as ``RetryPolicy.delay``) when it is not empty."""
    tree = ast.parse(source)
    skipped = _declarations(tree)
    scopes = _scopes(tree)
    nodes = list(ast.walk(tree))
    for index, node in enumerate(nodes):
        if id(node) in skipped:
            continue
        scope = scopes.get(id(node), "<module>")
        if functions and not any(scope == f or scope.startswith(f + ".") for f in functions):
            continue
        for operator, variant in _sites(node):
            mutated_tree = copy.deepcopy(tree)
            target = list(ast.walk(mutated_tree))[index]
            original = _snippet(source, node)
            replacement = _apply(mutated_tree, target, operator, variant)
            if replacement is None:
                continue
            line = getattr(node, "lineno", 0)
            col = getattr(node, "col_offset", 0)
            yield Mutant(
                id=f"{line}:{col}:{operator}:{variant}",
                line=line,
                operator=operator,
                original=original,
                mutated=replacement,
                scope=scope,
                source=ast.unparse(ast.fix_missing_locations(mutated_tree)) + "\n",
            )


def _sites(node: ast.AST) -> list[tuple[str, int]]:
    """(operator, variant) pairs that apply to ``node``."""
    if isinstance(node, ast.Compare):
        sites = []
        for position, op in enumerate(node.ops):
            sites.append(("compare", position * 2))
            if type(op) in BOUNDARY:
                sites.append(("compare", position * 2 + 1))
        return sites
    if isinstance(node, ast.BoolOp):
        return [("boolop", 0)]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return [("not", 0)]
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return [("bool", 0)]
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return [("int", 1), ("int", -1)]
    if isinstance(node, ast.Return) and node.value is not None:
        returns_none = isinstance(node.value, ast.Constant) and node.value.value is None
        return [] if returns_none else [("return", 0)]
    if isinstance(node, ast.If) and not node.orelse and isinstance(node.body[-1], EXITS):
        return [("guard", 0)]
    if isinstance(node, ast.Expr):
        call = node.value.value if isinstance(node.value, ast.Await) else node.value
        if isinstance(call, ast.Call) and not _is_log_call(call):
            return [("call", 0)]
    return []


def _apply(tree: ast.Module, node: ast.AST, operator: str, variant: int) -> str | None:
    """Change ``node`` (inside ``tree``) in place; return what it became, for the report."""
    if operator == "compare":
        assert isinstance(node, ast.Compare)
        position, boundary = divmod(variant, 2)
        table = BOUNDARY if boundary else NEGATED
        node.ops[position] = table[type(node.ops[position])]()
        return ast.unparse(node)
    if operator == "boolop":
        assert isinstance(node, ast.BoolOp)
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        return ast.unparse(node)
    if operator == "not":
        assert isinstance(node, ast.UnaryOp)
        return _replace(tree, node, node.operand)
    if operator == "bool":
        assert isinstance(node, ast.Constant)
        node.value = not node.value
        return repr(node.value)
    if operator == "int":
        assert isinstance(node, ast.Constant) and isinstance(node.value, int)
        node.value = node.value + variant
        return repr(node.value)
    if operator == "return":
        assert isinstance(node, ast.Return)
        node.value = ast.Constant(None)
        return "return None"
    if operator in ("guard", "call"):
        for parent in ast.walk(tree):
            for name in ("body", "orelse", "finalbody"):
                body = getattr(parent, name, None)
                if isinstance(body, list) and any(item is node for item in body):
                    body[:] = [item for item in body if item is not node] or [ast.Pass()]
                    return "(deleted)"
        return None
    raise AssertionError(operator)


def _replace(tree: ast.Module, old: ast.AST, new: ast.AST) -> str | None:
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
                return ast.unparse(new)
            if isinstance(value, list):
                for position, item in enumerate(value):
                    if item is old:
                        value[position] = new
                        return ast.unparse(new)
    return None


def _snippet(source: str, node: ast.AST) -> str:
    if isinstance(node, ast.If):
        text = f"if {ast.get_source_segment(source, node.test) or ast.unparse(node.test)}: ..."
    else:
        text = ast.get_source_segment(source, node) or ast.unparse(node)
    text = " ".join(text.split())
    return text if len(text) <= 90 else text[:87] + "..."


def _declarations(tree: ast.Module) -> set[int]:
    """Ids of the nodes no mutant touches (see the module docstring)."""
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            roots.extend(node.decorator_list)
            if node.returns is not None:
                roots.append(node.returns)
            args = node.args
            roots.extend(args.defaults)
            roots.extend(d for d in args.kw_defaults if d is not None)
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
                if arg is not None and arg.annotation is not None:
                    roots.append(arg.annotation)
        elif isinstance(node, ast.ClassDef):
            roots.extend(node.decorator_list)
        elif isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
        elif isinstance(node, ast.Call) and _is_log_call(node):
            roots.append(node)
    return {id(inner) for root in roots for inner in ast.walk(root)}


def _is_log_call(node: ast.Call) -> bool:
    func = node.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr in LOG_METHODS
        and isinstance(func.value, ast.Name)
        and func.value.id in {"log", "logger", "logging"}
    )


def _scopes(tree: ast.Module) -> dict[int, str]:
    """Each node's enclosing function/class, as a qualified name."""
    scopes: dict[int, str] = {}

    def visit(node: ast.AST, scope: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = scope
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = child.name if scope == "<module>" else f"{scope}.{child.name}"
            scopes[id(child)] = inner
            visit(child, inner)

    visit(tree, "<module>")
    return scopes
