"""The syntax tree of compliance rule expressions.

Nodes are frozen attrs classes. Source positions (``pos``: 0-based offset into the expression)
are kept for error messages but excluded from equality, so ``parse(to_source(e)) == e``.
"""

from __future__ import annotations

import enum

import attrs

__all__ = [
    "BinaryOp",
    "BoolLit",
    "Call",
    "Expr",
    "FieldRef",
    "ListLit",
    "Not",
    "NumberLit",
    "Op",
    "StringLit",
]


class Op(enum.StrEnum):
    OR = "OR"
    AND = "AND"
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    IN = "IN"


COMPARISONS = frozenset({Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE, Op.IN})


@attrs.frozen
class StringLit:
    value: str
    pos: int = attrs.field(default=0, eq=False, repr=False)


@attrs.frozen
class NumberLit:
    value: int | float
    pos: int = attrs.field(default=0, eq=False, repr=False)


@attrs.frozen
class BoolLit:
    value: bool
    pos: int = attrs.field(default=0, eq=False, repr=False)


@attrs.frozen
class ListLit:
    items: tuple[Expr, ...]
    pos: int = attrs.field(default=0, eq=False, repr=False)


@attrs.frozen
class FieldRef:
    name: str
    pos: int = attrs.field(default=0, eq=False, repr=False)


@attrs.frozen
class Call:
    name: str
    args: tuple[Expr, ...]
    pos: int = attrs.field(default=0, eq=False, repr=False)


@attrs.frozen
class Not:
    operand: Expr
    pos: int = attrs.field(default=0, eq=False, repr=False)


@attrs.frozen
class BinaryOp:
    op: Op
    left: Expr
    right: Expr
    pos: int = attrs.field(default=0, eq=False, repr=False)


Expr = StringLit | NumberLit | BoolLit | ListLit | FieldRef | Call | Not | BinaryOp
