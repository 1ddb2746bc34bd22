"""A strict GBNF reader for tests: parses a grammar as llama.cpp would and turns it into a Python regex.

An invalid grammar crashes some servers (llama-cpp-python), so every grammar the project builds
is read here first: a syntax error, an undefined rule or a recursive rule raises ``GBNFError``.
The grammars built by :mod:`cluster_r1.constraints` are not recursive, so each is also a regular
language: :func:`to_regex` gives a regex that a reply matches exactly when the grammar admits it.
"""

from __future__ import annotations

import re


class GBNFError(ValueError):
    pass


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "[": "[", "]": "]", "-": "-", "^": "^"}


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def error(self, why: str) -> GBNFError:
        return GBNFError(f"{why} at {self.i}: {self.s[self.i:self.i + 30]!r}")

    def ws(self, newlines: bool = False) -> None:
        while self.i < len(self.s):
            ch = self.s[self.i]
            if ch == "#":
                while self.i < len(self.s) and self.s[self.i] != "\n":
                    self.i += 1
            elif ch in " \t" or (newlines and ch in "\r\n"):
                self.i += 1
            else:
                break

    def name(self) -> str:
        m = re.compile(r"[a-zA-Z0-9-]+").match(self.s, self.i)
        if not m:
            raise self.error("expected a rule name")
        self.i = m.end()
        return m.group(0)

    def char(self, closing: str) -> str:
        if self.i >= len(self.s):
            raise self.error("unterminated")
        ch = self.s[self.i]
        if ch == "\\":
            self.i += 1
            if self.i >= len(self.s):
                raise self.error("dangling escape")
            e = self.s[self.i]
            self.i += 1
            if e in _ESCAPES:
                return _ESCAPES[e]
            if e in "xuU":
                width = {"x": 2, "u": 4, "U": 8}[e]
                digits = self.s[self.i:self.i + width]
                if not re.fullmatch(f"[0-9a-fA-F]{{{width}}}", digits):
                    raise self.error("bad hex escape")
                self.i += width
                return chr(int(digits, 16))
            raise self.error(f"unknown escape \\{e}")
        if ch == "\n" and closing == '"':
            raise self.error("line break inside a string")
        self.i += 1
        return ch

    def rules(self) -> dict[str, str]:
        rules: dict[str, str] = {}
        self.ws(newlines=True)
        while self.i < len(self.s):
            name = self.name()
            self.ws()
            if not self.s.startswith("::=", self.i):
                raise self.error("expected ::=")
            self.i += 3
            self.ws(newlines=True)
            if name in rules:
                raise self.error(f"rule {name} defined twice")
            rules[name] = self.alternatives(top=True)
            self.ws(newlines=True)
        if "root" not in rules:
            raise GBNFError("no root rule")
        return rules

    def alternatives(self, top: bool = False) -> list:
        alts = [self.sequence(top)]
        while self.i < len(self.s) and self.s[self.i] == "|":
            self.i += 1
            self.ws(newlines=True)
            alts.append(self.sequence(top))
        return ["alt", alts]

    def sequence(self, top: bool) -> list:
        items = []
        while True:
            self.ws(newlines=not top)
            if self.i >= len(self.s):
                break
            ch = self.s[self.i]
            if ch in "\r\n" and top:
                break  # as in llama.cpp: a line break ends a rule, except inside parentheses
            if ch in "|)":
                break
            items.append(self.postfix(self.atom()))
        return ["seq", items]

    def atom(self) -> list:
        ch = self.s[self.i]
        if ch == '"':
            self.i += 1
            out = []
            while self.i < len(self.s) and self.s[self.i] != '"':
                out.append(self.char('"'))
            if self.i >= len(self.s):
                raise self.error("unterminated string")
            self.i += 1
            return ["lit", "".join(out)]
        if ch == "[":
            self.i += 1
            negate = self.i < len(self.s) and self.s[self.i] == "^"
            if negate:
                self.i += 1
            ranges = []
            while self.i < len(self.s) and self.s[self.i] != "]":
                lo = self.char("]")
                hi = lo
                if self.i + 1 < len(self.s) and self.s[self.i] == "-" and self.s[self.i + 1] != "]":
                    self.i += 1
                    hi = self.char("]")
                if hi < lo:
                    raise self.error("reversed range")
                ranges.append((lo, hi))
            if self.i >= len(self.s):
                raise self.error("unterminated character class")
            self.i += 1
            if not ranges:
                raise self.error("empty character class")
            return ["cls", negate, ranges]
        if ch == "(":
            self.i += 1
            self.ws(newlines=True)
            inner = self.alternatives()
            self.ws(newlines=True)
            if self.i >= len(self.s) or self.s[self.i] != ")":
                raise self.error("expected )")
            self.i += 1
            return inner
        if ch == ".":
            self.i += 1
            return ["any"]
        return ["ref", self.name()]

    def postfix(self, node: list) -> list:
        while self.i < len(self.s):
            ch = self.s[self.i]
            if ch in "*+?":
                self.i += 1
                node = ["rep", node, {"*": (0, None), "+": (1, None), "?": (0, 1)}[ch]]
            elif ch == "{":
                m = re.compile(r"\{(\d+)(,(\d*))?\}").match(self.s, self.i)
                if not m:
                    raise self.error("bad repetition")
                self.i = m.end()
                lo = int(m.group(1))
                hi = lo if m.group(2) is None else (int(m.group(3)) if m.group(3) else None)
                if hi is not None and hi < lo:
                    raise self.error("repetition max < min")
                if lo > 2000 or (hi is not None and hi > 2000):
                    raise self.error("repetition over 2000 (llama.cpp's cap)")
                node = ["rep", node, (lo, hi)]
            else:
                break
        return node


def parse(gbnf: str) -> dict[str, list]:
    """The rules of ``gbnf``; :class:`GBNFError` on any syntax error or undefined rule."""
    rules = _Parser(gbnf).rules()

    def refs(node: list) -> set[str]:
        kind = node[0]
        if kind == "ref":
            return {node[1]}
        if kind in ("alt", "seq"):
            return set().union(*(refs(x) for x in node[1])) if node[1] else set()
        if kind == "rep":
            return refs(node[1])
        return set()

    for name, body in rules.items():
        missing = refs(body) - set(rules)
        if missing:
            raise GBNFError(f"rule {name} uses undefined {sorted(missing)}")
    return rules


def to_regex(gbnf: str) -> re.Pattern[str]:
    """A regex equivalent to a non-recursive grammar (``fullmatch`` = admitted)."""
    rules = parse(gbnf)
    memo: dict[str, str] = {}

    def cls(negate: bool, ranges: list) -> str:
        body = "".join(re.escape(lo) if lo == hi else f"{re.escape(lo)}-{re.escape(hi)}" for lo, hi in ranges)
        return f"[{'^' if negate else ''}{body}]"

    def conv(node: list, stack: tuple[str, ...]) -> str:
        kind = node[0]
        if kind == "lit":
            return re.escape(node[1])
        if kind == "cls":
            return cls(node[1], node[2])
        if kind == "any":
            return "(?s:.)"
        if kind == "ref":
            name = node[1]
            if name in stack:
                raise GBNFError(f"rule {name} is recursive")
            if name not in memo:
                memo[name] = "(?:" + conv(rules[name], (*stack, name)) + ")"
            return memo[name]
        if kind == "seq":
            return "".join(conv(x, stack) for x in node[1])
        if kind == "alt":
            return "(?:" + "|".join(conv(x, stack) for x in node[1]) + ")"
        lo, hi = node[2]
        return f"(?:{conv(node[1], stack)}){{{lo},{'' if hi is None else hi}}}"

    return re.compile(conv(["ref", "root"], ()), re.DOTALL)
