"""Print a syntax tree back to source: ``parse(to_source(e)) == e`` for every tree."""

from __future__ import annotations

from decimal import Decimal

from projectone.domain.compliance.ast import (
    COMPARISONS,
    BinaryOp,
    BoolLit,
    Call,
    Expr,
    FieldRef,
    ListLit,
    Not,
    NumberLit,
    Op,
    StringLit,
)

__all__ = ["to_source"]

# Binding strength: a child binding weaker than its context needs parentheses.
_OR, _AND, _NOT, _COMPARE, _ATOM = 1, 2, 3, 4, 5


def _level(expr: Expr) -> int:
    if isinstance(expr, BinaryOp):
        if expr.op is Op.OR:
            return _OR
        if expr.op is Op.AND:
            return _AND
        return _COMPARE
    if isinstance(expr, Not):
        return _NOT
    return _ATOM


def _wrap(expr: Expr, needed: int) -> str:
    text = to_source(expr)
    return f"({text})" if _level(expr) < needed else text


def to_source(expr: Expr) -> str:
    """Canonical source text of ``expr`` (upper-case keywords, minimal parentheses)."""
    match expr:
        case StringLit(value=value):
            return "'" + value.replace("'", "''") + "'"
        case NumberLit(value=value):
            if isinstance(value, float):
                # Plain decimal notation (the grammar has no exponents); Decimal keeps the
                # shortest repr's digits exactly.
                return format(Decimal(repr(value)), "f")
            return str(value)
        case BoolLit(value=value):
            return "TRUE" if value else "FALSE"
        case ListLit(items=items):
            return "[" + ", ".join(to_source(i) for i in items) + "]"
        case FieldRef(name=name):
            return name
        case Call(name=name, args=args):
            return f"{name}(" + ", ".join(to_source(a) for a in args) + ")"
        case Not(operand=operand):
            return "NOT " + _wrap(operand, _NOT)
        case BinaryOp(op=op, left=left, right=right):
            if op in COMPARISONS:
                # Comparisons do not chain: both sides must be atoms.
                return f"{_wrap(left, _ATOM)} {op.value} {_wrap(right, _ATOM)}"
            level = _level(expr)
            # Left-associative: a right operand of the same strength needs parentheses.
            return f"{_wrap(left, level)} {op.value} {_wrap(right, level + 1)}"
    raise TypeError(f"not an expression: {expr!r}")  # pragma: no cover
