"""The small, safe expression language of mapping files, compiled to DuckDB SQL.

``amount: {expr: "quantity * unit_price"}``.  Expressions are parsed with :mod:`ast` and only
whitelisted nodes are accepted: names, ``col("Name With Spaces")``, literals, ``+ - * / %``,
comparisons, ``and``/``or``/``not``, ``a if cond else b`` and the functions in
:data:`FUNCTIONS`.  Nothing is ever evaluated by Python.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from clientela.errors import suggest

__all__ = ["FUNCTIONS", "CompiledExpr", "ExprError", "compile_expr", "sql_literal"]

# name -> (min args, max args)
FUNCTIONS: dict[str, tuple[int, int]] = {
    "lower": (1, 1),
    "upper": (1, 1),
    "strip": (1, 1),
    "concat": (1, 32),
    "startswith": (2, 2),
    "endswith": (2, 2),
    "contains": (2, 2),
    "coalesce": (1, 32),
    "round": (1, 2),
    "abs": (1, 1),
    "substr": (2, 3),
    "replace": (3, 3),
    "line": (0, 0),
    "col": (1, 1),
}

_SQL_FUNCTION = {
    "lower": "lower",
    "upper": "upper",
    "strip": "trim",
    "concat": "concat",
    "startswith": "starts_with",
    "endswith": "ends_with",
    "contains": "contains",
    "coalesce": "coalesce",
    "abs": "abs",
    "substr": "substr",
    "replace": "replace",
}

_ARITHMETIC = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Mod: "%"}
_COMPARE = {ast.Eq: "=", ast.NotEq: "<>", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


class ExprError(ValueError):
    """An expression uses something the language does not have."""


@dataclass(frozen=True)
class CompiledExpr:
    sql: str
    targets: frozenset[str]  # table columns it reads
    sources: frozenset[str]  # source columns it reads


def sql_literal(value: object) -> str:
    """A Python constant as an SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def one_of(value_sql: str, values: Iterable[object]) -> str:
    """``value IN (...)`` as equalities: DuckDB plans an IN list as a join, far slower here."""
    listed = [f"{value_sql} = {sql_literal(v)}" for v in values]
    return "(" + " OR ".join(listed) + ")" if listed else "FALSE"


def compile_expr(
    text: str,
    *,
    target: Callable[[str], str | None],
    source: Callable[[str], str | None],
    target_names: list[str],
    source_names: list[str],
    line_sql: str,
) -> CompiledExpr:
    """Compile ``text``; ``target``/``source`` give the SQL of a name, or None if unknown.

    Source columns hold raw text: arithmetic reads them as numbers.
    """
    try:
        # Parenthesised, so that an expression may span lines (YAML folded blocks).
        tree = ast.parse(f"(\n{text}\n)", mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"invalid expression {text!r}: {exc.msg}") from None
    compiler = _Compiler(target, source, target_names, source_names, line_sql)
    sql, _kind = compiler.visit(tree.body)
    return CompiledExpr(sql, frozenset(compiler.targets), frozenset(compiler.sources))


class _Compiler:
    def __init__(
        self,
        target: Callable[[str], str | None],
        source: Callable[[str], str | None],
        target_names: list[str],
        source_names: list[str],
        line_sql: str,
    ):
        self._target = target
        self._source = source
        self._names = [*target_names, *source_names]
        self._line_sql = line_sql
        self.targets: set[str] = set()
        self.sources: set[str] = set()

    # Each visit returns (sql, kind) where kind is "num", "str", "bool", "raw" or "any".
    def visit(self, node: ast.expr) -> tuple[str, str]:
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
            left, lkind = self.visit(node.left)
            right, rkind = self.visit(node.right)
            if isinstance(node.op, ast.Add) and "str" in (lkind, rkind):
                return f"({left} || {right})", "str"
            return f"({_num(left, lkind)} {_ARITHMETIC[type(node.op)]} {_num(right, rkind)})", "num"
        if isinstance(node, ast.UnaryOp):
            operand, kind = self.visit(node.operand)
            if isinstance(node.op, ast.Not):
                return f"(NOT {operand})", "bool"
            if isinstance(node.op, ast.USub):
                return f"(-{_num(operand, kind)})", "num"
            if isinstance(node.op, ast.UAdd):
                return _num(operand, kind), "num"
        if isinstance(node, ast.BoolOp):
            op = " AND " if isinstance(node.op, ast.And) else " OR "
            return "(" + op.join(self.visit(v)[0] for v in node.values) + ")", "bool"
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.IfExp):
            test, _ = self.visit(node.test)
            body, bkind = self.visit(node.body)
            orelse, okind = self.visit(node.orelse)
            kind = bkind if bkind == okind else "any"
            return f"(CASE WHEN {test} THEN {body} ELSE {orelse} END)", kind
        if isinstance(node, ast.Call):
            return self._call(node)
        raise ExprError(f"'{ast.unparse(node)}' is not allowed in an expression")

    def _constant(self, node: ast.Constant) -> tuple[str, str]:
        value = node.value
        if value is None or isinstance(value, bool | int | float | str):
            kind = "str" if isinstance(value, str) else "bool" if isinstance(value, bool) else "num"
            return sql_literal(value), "any" if value is None else kind
        raise ExprError(f"the constant {value!r} is not allowed in an expression")

    def _name(self, name: str) -> tuple[str, str]:
        lowered = {"true": True, "false": False, "none": None, "null": None}
        if name.lower() in lowered:
            return sql_literal(lowered[name.lower()]), "any"
        sql = self._target(name)
        if sql is not None:
            self.targets.add(name)
            return sql, "any"
        sql = self._source(name)
        if sql is not None:
            self.sources.add(name)
            return sql, "raw"
        raise ExprError(f"unknown name '{name}' in expression{suggest(name, self._names)}")

    def _compare(self, node: ast.Compare) -> tuple[str, str]:
        parts = []
        left, lkind = self.visit(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            if type(op) not in _COMPARE:
                raise ExprError(f"the comparison '{ast.unparse(node)}' is not allowed")
            right, rkind = self.visit(comparator)
            if "num" in (lkind, rkind):
                left, right = _num(left, lkind), _num(right, rkind)
            parts.append(f"({left} {_COMPARE[type(op)]} {right})")
            left, lkind = right, rkind
        return "(" + " AND ".join(parts) + ")", "bool"

    def _call(self, node: ast.Call) -> tuple[str, str]:
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise ExprError(f"'{ast.unparse(node)}' is not allowed in an expression")
        name = node.func.id
        if name not in FUNCTIONS:
            raise ExprError(f"unknown function '{name}'{suggest(name, FUNCTIONS)}")
        low, high = FUNCTIONS[name]
        if not low <= len(node.args) <= high:
            expected = str(low) if low == high else f"{low} to {high}"
            raise ExprError(f"{name}() takes {expected} argument(s), got {len(node.args)}")
        if name == "line":
            return self._line_sql, "num"
        if name == "col":
            arg = node.args[0]
            if not isinstance(arg, ast.Constant) or not isinstance(arg.value, str):
                raise ExprError('col() takes a column name in quotes, e.g. col("Unit Price")')
            return self._name(arg.value)
        args = [self.visit(a) for a in node.args]
        if name == "round":
            digits = args[1][0] if len(args) > 1 else "0"
            return f"round({_num(*args[0])}, {digits})", "num"
        if name == "abs":
            return f"abs({_num(*args[0])})", "num"
        texts = [f"CAST({sql} AS VARCHAR)" if kind == "num" else sql for sql, kind in args]
        if name == "coalesce":
            kinds = {kind for _, kind in args}
            kind = kinds.pop() if len(kinds) == 1 else "any"
            sqls = [sql for sql, _ in args] if kind != "any" else texts
            return f"coalesce({', '.join(sqls)})", kind
        if name == "concat":
            texts = [f"CAST({t} AS VARCHAR)" for t in texts]
        if name == "substr":  # substr(text, start, length): positions stay numbers
            texts = [texts[0], *(_integer(sql, kind) for sql, kind in args[1:])]
        kind = "bool" if name in ("startswith", "endswith", "contains") else "str"
        return f"{_SQL_FUNCTION[name]}({', '.join(texts)})", kind


def _integer(sql: str, kind: str) -> str:
    return f"CAST({_num(sql, kind)} AS BIGINT)"


def _num(sql: str, kind: str) -> str:
    return f"TRY_CAST({sql} AS DOUBLE)" if kind in ("raw", "str") else sql
