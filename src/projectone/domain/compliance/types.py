"""The vocabulary of the rule language, declared once, and its type checker.

Every field and function a rule may use is listed here; a rulebook that uses anything else,
or passes the wrong kind of argument, is rejected when it loads.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

import attrs

from projectone.domain.compliance.ast import (
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

__all__ = ["FIELDS", "FUNCTIONS", "Function", "Type", "TypeProblem", "check_types"]


class Type(enum.Enum):
    STRING = "string"
    NUMBER = "number"
    BOOL = "bool"
    LIST_STRING = "list of strings"
    LIST_NUMBER = "list of numbers"
    EMPTY_LIST = "empty list"


FIELDS: dict[str, str] = {
    "text": "all text of the language variant: title, body, call to action, disclaimer",
    "title": "the variant's title",
    "body": "the variant's body",
    "cta": "the variant's call to action",
    "disclaimer": "the variant's disclaimer",
    "language": "the variant's language code: 'en', 'hi' or 'mr'",
    "advisor.type": "'RIA' or 'MFD'",
    "advisor.sebi_reg_no": "the advisor's registration number (INA… or ARN-…)",
    "advisor.name": "the advisor's name",
    "content.type": "daily_post, market_update, educational or promotional",
    "content.topic": "the pack's topic",
}

# Argument kinds: "field" (a field name), "phrases" (a string or a list of string literals),
# "phrase_list" (a list of string literals), "phrase" (one string literal), "regex" (one string
# literal, checked by the rulebook loader), "count" (a whole-number literal).
_Sig = tuple[str, ...]


@attrs.frozen
class Function:
    name: str
    params: _Sig
    returns: Type
    doc: str


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function(
            "CONTAINS", ("field", "phrases"), Type.BOOL, "any of the phrases occurs, as whole words"
        ),
        Function(
            "CONTAINS_ALL",
            ("field", "phrase_list"),
            Type.BOOL,
            "every phrase occurs, as whole words",
        ),
        Function(
            "AFFIRMS", ("field", "phrases"), Type.BOOL, "a phrase occurs outside a negated clause"
        ),
        Function(
            "MATCHES",
            ("field", "regex"),
            Type.BOOL,
            "the RE2 regular expression matches the normalised text",
        ),
        Function(
            "STARTS_WITH",
            ("field", "phrase"),
            Type.BOOL,
            "the normalised text starts with the phrase",
        ),
        Function(
            "ENDS_WITH", ("field", "phrase"), Type.BOOL, "the normalised text ends with the phrase"
        ),
        Function("LENGTH", ("field",), Type.NUMBER, "number of characters"),
        Function("WORDS", ("field",), Type.NUMBER, "number of words"),
        Function(
            "COUNT",
            ("field", "phrases"),
            Type.NUMBER,
            "number of whole-word occurrences of the phrase (of all the phrases of a list)",
        ),
        Function(
            "NEAR",
            ("field", "phrase", "phrase", "count"),
            Type.BOOL,
            "both phrases occur at most n words apart",
        ),
    )
}


@attrs.frozen
class TypeProblem:
    message: str
    pos: int


class _Checker:
    def __init__(self) -> None:
        self.problems: list[TypeProblem] = []

    def fail(self, node: Expr, message: str) -> None:
        self.problems.append(TypeProblem(message, node.pos))

    def type_of(self, node: Expr) -> Type | None:
        match node:
            case StringLit():
                return Type.STRING
            case NumberLit():
                return Type.NUMBER
            case BoolLit():
                return Type.BOOL
            case FieldRef(name=name):
                if name not in FIELDS:
                    self.fail(node, f"unknown field {name!r}; fields are: {', '.join(FIELDS)}")
                    return None
                return Type.STRING
            case ListLit(items=items):
                return self.list_type(node, items)
            case Call():
                return self.call(node)
            case Not(operand=operand):
                self.want(operand, Type.BOOL, "NOT")
                return Type.BOOL
            case BinaryOp(op=op, left=left, right=right):
                return self.binary(node, op, left, right)
        return None  # pragma: no cover

    def want(self, node: Expr, wanted: Type, context: str) -> None:
        got = self.type_of(node)
        if got is not None and got is not wanted:
            self.fail(node, f"{context} needs a {wanted.value}, got a {got.value}")

    def list_type(self, node: Expr, items: tuple[Expr, ...]) -> Type | None:
        kinds = {self.type_of(i) for i in items}
        kinds.discard(None)
        if not items:
            return Type.EMPTY_LIST
        if kinds == {Type.STRING}:
            return Type.LIST_STRING
        if kinds == {Type.NUMBER}:
            return Type.LIST_NUMBER
        if kinds:
            self.fail(node, "a list holds only strings or only numbers")
        return None

    def binary(self, node: Expr, op: Op, left: Expr, right: Expr) -> Type:
        if op in (Op.AND, Op.OR):
            self.want(left, Type.BOOL, op.value)
            self.want(right, Type.BOOL, op.value)
            return Type.BOOL
        lt, rt = self.type_of(left), self.type_of(right)
        if op is Op.IN:
            if not isinstance(right, ListLit):
                self.fail(right, "IN needs a list [...] on its right")
            elif (
                lt is not None
                and rt is not None
                and rt is not Type.EMPTY_LIST
                and (
                    (lt, rt)
                    not in ((Type.STRING, Type.LIST_STRING), (Type.NUMBER, Type.LIST_NUMBER))
                )
            ):
                self.fail(node, f"IN compares a {lt.value} with a {rt.value}")
            return Type.BOOL
        if lt is None or rt is None:
            return Type.BOOL
        if lt is not rt or lt not in (Type.STRING, Type.NUMBER, Type.BOOL):
            self.fail(node, f"{op.value} compares a {lt.value} with a {rt.value}")
        elif lt is Type.BOOL and op not in (Op.EQ, Op.NE):
            self.fail(node, f"{op.value} does not order true and false")
        return Type.BOOL

    def call(self, node: Call) -> Type | None:
        fn = FUNCTIONS.get(node.name)
        if fn is None:
            self.fail(node, f"unknown function {node.name}; functions are: {', '.join(FUNCTIONS)}")
            for arg in node.args:
                self.type_of(arg)
            return None
        if len(node.args) != len(fn.params):
            self.fail(node, f"{fn.name} takes {len(fn.params)} argument(s), got {len(node.args)}")
            return fn.returns
        for index, (kind, arg) in enumerate(zip(fn.params, node.args, strict=True), start=1):
            _ARG_CHECKS[kind](self, fn, index, arg)
        return fn.returns


def _field_arg(c: _Checker, fn: Function, index: int, arg: Expr) -> None:
    if not isinstance(arg, FieldRef):
        c.fail(arg, f"argument {index} of {fn.name} must be a field such as text or body")
    else:
        c.type_of(arg)


def _phrase(c: _Checker, fn: Function, index: int, arg: Expr) -> None:
    if not isinstance(arg, StringLit):
        c.fail(arg, f"argument {index} of {fn.name} must be a quoted phrase")
    elif not arg.value.strip():
        c.fail(arg, f"argument {index} of {fn.name} is an empty phrase")


def _phrase_list(c: _Checker, fn: Function, index: int, arg: Expr) -> None:
    if not isinstance(arg, ListLit) or not arg.items:
        c.fail(arg, f"argument {index} of {fn.name} must be a non-empty list of quoted phrases")
        return
    for item in arg.items:
        _phrase(c, fn, index, item)


def _phrases(c: _Checker, fn: Function, index: int, arg: Expr) -> None:
    (_phrase_list if isinstance(arg, ListLit) else _phrase)(c, fn, index, arg)


def _regex(c: _Checker, fn: Function, index: int, arg: Expr) -> None:
    if not isinstance(arg, StringLit):
        c.fail(arg, f"argument {index} of {fn.name} must be a quoted regular expression")


def _count(c: _Checker, fn: Function, index: int, arg: Expr) -> None:
    if not isinstance(arg, NumberLit) or not isinstance(arg.value, int):
        c.fail(arg, f"argument {index} of {fn.name} must be a whole number")


_ARG_CHECKS: dict[str, Callable[[_Checker, Function, int, Expr], None]] = {
    "field": _field_arg,
    "phrase": _phrase,
    "phrase_list": _phrase_list,
    "phrases": _phrases,
    "regex": _regex,
    "count": _count,
}


def check_types(expr: Expr) -> list[TypeProblem]:
    """Every name and type problem of ``expr`` (empty when it is a valid rule condition)."""
    checker = _Checker()
    if checker.type_of(expr) not in (Type.BOOL, None):
        checker.fail(expr, "a rule condition must be true or false (a comparison or a check)")
    return checker.problems
