"""A hand-written recursive-descent parser for compliance rule expressions.

Grammar (keywords and function names are case-insensitive)::

    expr       := or
    or         := and ("OR" and)*
    and        := not ("AND" not)*
    not        := "NOT" not | comparison
    comparison := primary (("==" | "!=" | "<" | "<=" | ">" | ">=" | "IN") primary)?
    primary    := STRING | NUMBER | "TRUE" | "FALSE" | list | call | field | "(" expr ")"
    list       := "[" (expr ("," expr)* ","?)? "]"
    call       := NAME "(" (expr ("," expr)*)? ")"
    field      := NAME ("." NAME)*

Strings are single-quoted; a quote inside is doubled (``'it''s'``). ``#`` starts a comment
that runs to the end of the line.
"""

from __future__ import annotations

import re

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
from projectone.domain.compliance.errors import RuleError, RuleProblem, locate

__all__ = ["parse"]

_TOKEN = re.compile(
    r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<string>'(?:[^']|'')*')
  | (?P<badstring>'(?:[^']|'')*)
  | (?P<number>[0-9]+(?:\.[0-9]+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"AND", "OR", "NOT", "IN", "TRUE", "FALSE"}
_COMPARE = {"==": Op.EQ, "!=": Op.NE, "<": Op.LT, "<=": Op.LE, ">": Op.GT, ">=": Op.GE}


@attrs.frozen
class _Token:
    kind: str  # string | number | name | keyword | op | end
    text: str
    pos: int


def _tokens(source: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if m is None:
            raise _fail(source, pos, f"unexpected character {source[pos]!r}")
        kind = m.lastgroup or ""
        text = m.group()
        if kind == "badstring":
            raise _fail(source, pos, "unterminated string: close it with '")
        if kind == "name" and text.upper() in _KEYWORDS:
            out.append(_Token("keyword", text.upper(), pos))
        elif kind != "space":
            out.append(_Token(kind, text, pos))
        pos = m.end()
    out.append(_Token("end", "", len(source)))
    return out


def _fail(source: str, pos: int, message: str) -> RuleError:
    line, column, excerpt = locate(source, pos)
    return RuleError([RuleProblem(message=message, line=line, column=column, excerpt=excerpt)])


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokens(source)
        self.i = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at(self, kind: str, text: str | None = None) -> bool:
        return self.tok.kind == kind and (text is None or self.tok.text == text)

    def expect(self, kind: str, text: str, what: str) -> _Token:
        if not self.at(kind, text):
            raise self.error(f"expected {what}")
        return self.take()

    def error(self, message: str) -> RuleError:
        found = "the end of the rule" if self.tok.kind == "end" else repr(self.tok.text)
        return _fail(self.source, self.tok.pos, f"{message}, found {found}")

    def parse(self) -> Expr:
        if self.at("end"):
            raise _fail(self.source, 0, "empty rule: write an expression")
        expr = self.or_()
        if not self.at("end"):
            raise self.error("expected AND, OR or the end of the rule")
        return expr

    def or_(self) -> Expr:
        left = self.and_()
        while self.at("keyword", "OR"):
            pos = self.take().pos
            left = BinaryOp(Op.OR, left, self.and_(), pos)
        return left

    def and_(self) -> Expr:
        left = self.not_()
        while self.at("keyword", "AND"):
            pos = self.take().pos
            left = BinaryOp(Op.AND, left, self.not_(), pos)
        return left

    def not_(self) -> Expr:
        if self.at("keyword", "NOT"):
            pos = self.take().pos
            return Not(self.not_(), pos)
        return self.comparison()

    def comparison(self) -> Expr:
        left = self.primary()
        if self.tok.kind == "op" and self.tok.text in _COMPARE:
            tok = self.take()
            return BinaryOp(_COMPARE[tok.text], left, self.primary(), tok.pos)
        if self.at("keyword", "IN"):
            pos = self.take().pos
            return BinaryOp(Op.IN, left, self.primary(), pos)
        return left

    def primary(self) -> Expr:
        tok = self.tok
        if tok.kind == "string":
            self.take()
            return StringLit(tok.text[1:-1].replace("''", "'"), tok.pos)
        if tok.kind == "number":
            self.take()
            value: int | float = float(tok.text) if "." in tok.text else int(tok.text)
            return NumberLit(value, tok.pos)
        if tok.kind == "keyword" and tok.text in ("TRUE", "FALSE"):
            self.take()
            return BoolLit(tok.text == "TRUE", tok.pos)
        if self.at("op", "("):
            self.take()
            inner = self.or_()
            self.expect("op", ")", "')' to close '('")
            return inner
        if self.at("op", "["):
            return self.list_()
        if tok.kind == "name":
            self.take()
            if self.at("op", "("):
                return self.call(tok)
            return FieldRef(tok.text.lower(), tok.pos)
        raise self.error("expected a value, a field, a function call, '(' or '['")

    def list_(self) -> Expr:
        pos = self.take().pos
        items: list[Expr] = []
        while not self.at("op", "]"):
            items.append(self.or_())
            if not self.at("op", ","):
                break
            self.take()
        self.expect("op", "]", "',' or ']' in the list")
        return ListLit(tuple(items), pos)

    def call(self, name: _Token) -> Expr:
        self.take()  # (
        args: list[Expr] = []
        if not self.at("op", ")"):
            args.append(self.or_())
            while self.at("op", ","):
                self.take()
                args.append(self.or_())
        self.expect("op", ")", "',' or ')' after the arguments")
        return Call(name.text.upper(), tuple(args), name.pos)


def parse(source: str) -> Expr:
    """The syntax tree of ``source``; ``RuleError`` with line, column and caret if malformed.

    Only syntax is checked here; :func:`projectone.domain.compliance.check_types` checks names
    and types.
    """
    return _Parser(source).parse()
