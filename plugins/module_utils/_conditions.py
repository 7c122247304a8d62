# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``wait_for`` conditions of tether.fleet.cli_command, in the form network
modules use: ``result[0] contains IOS``, ``result[1].vlans[0].name eq default``.

``result[N]`` is the output of the Nth command (text), or its parsed data when
the task parses output; a path of ``.key`` and ``[index]`` steps leads into
parsed data. Operators: eq/==, neq/ne/!=, gt/>, ge/>=, lt/<, le/<=, contains,
matches (a regular expression, searched), and ``not`` before any of them.

Private to the collection: not a public API.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_OPERATORS = {
    "eq": "eq",
    "==": "eq",
    "neq": "ne",
    "ne": "ne",
    "!=": "ne",
    "gt": "gt",
    ">": "gt",
    "ge": "ge",
    ">=": "ge",
    "lt": "lt",
    "<": "lt",
    "le": "le",
    "<=": "le",
    "contains": "contains",
    "matches": "matches",
}
_CONDITION = re.compile(
    r"^\s*(?P<path>result\s*\[\s*\d+\s*\](?:\.[A-Za-z_][\w-]*|\[\s*-?\d+\s*\]|\[\s*(?:'[^']*'|\"[^\"]*\")\s*\])*)"
    r"\s+(?P<negate>not\s+)?(?P<op>==|!=|>=|<=|>|<|[a-z]+)(?:\s+(?P<value>.*?))?\s*$"
)
_STEP = re.compile(
    r"\.(?P<key>[A-Za-z_][\w-]*)|\[\s*(?P<index>-?\d+)\s*\]|\[\s*(?:'(?P<sq>[^']*)'|\"(?P<dq>[^\"]*)\")\s*\]"
)


class ConditionError(ValueError):
    """A condition that cannot be read (bad syntax, unknown operator, command out of range)."""


@dataclass(frozen=True)
class Condition:
    text: str
    steps: tuple[str | int, ...]  # first step: the command index
    operator: str
    negate: bool
    value: str

    def __call__(self, results: Sequence[Any]) -> bool:
        try:
            data = _walk(results, self.steps)
        except (LookupError, TypeError):
            return False
        outcome = _compare(self.operator, data, self.value)
        return outcome != self.negate


def parse_condition(text: str, count: int) -> Condition:
    """Read one condition; ``count`` is the number of commands it may refer to."""
    match = _CONDITION.match(text)
    if not match:
        raise ConditionError(f"cannot read wait_for condition {text!r}: expected 'result[N] <operator> <value>'")
    op = _OPERATORS.get(match.group("op"))
    if op is None:
        raise ConditionError(
            f"wait_for condition {text!r}: unknown operator {match.group('op')!r} "
            f"(known: {', '.join(sorted(set(_OPERATORS)))})"
        )
    value = (match.group("value") or "").strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    path = match.group("path")
    head, rest = path.split("]", 1)
    index = int(head.split("[", 1)[1])
    if not 0 <= index < count:
        raise ConditionError(f"wait_for condition {text!r}: there is no command result[{index}] ({count} commands)")
    steps: list[str | int] = [index]
    for step in _STEP.finditer(rest):
        if step.group("key") is not None:
            steps.append(step.group("key"))
        elif step.group("index") is not None:
            steps.append(int(step.group("index")))
        else:
            steps.append(step.group("sq") if step.group("sq") is not None else step.group("dq"))
    if op == "matches":
        try:
            re.compile(value)
        except re.error as exc:
            raise ConditionError(f"wait_for condition {text!r}: not a valid regular expression: {exc}") from None
    return Condition(text=text, steps=tuple(steps), operator=op, negate=bool(match.group("negate")), value=value)


def _walk(data: Any, steps: Sequence[str | int]) -> Any:
    for step in steps:
        if isinstance(step, int) and isinstance(data, (list, tuple)):
            data = data[step]
        elif isinstance(data, dict):
            data = data[step if isinstance(step, str) else str(step)]
        else:
            raise LookupError(step)
    return data


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _compare(op: str, data: Any, value: str) -> bool:
    if op == "contains":
        if isinstance(data, (list, tuple, dict)):
            return value in data or any(str(item) == value for item in data)
        return value in str(data)
    if op == "matches":
        return re.search(value, str(data)) is not None
    left, right = _number(data), _number(value)
    if left is not None and right is not None:
        pair: tuple[Any, Any] = (left, right)
    elif op in ("eq", "ne"):
        text = str(data).strip()
        if isinstance(data, bool):
            text = str(data).lower()
        pair = (text, value.lower() if value.lower() in ("true", "false") else value)
    else:
        return False
    a, b = pair
    outcomes = {
        "eq": a == b,
        "ne": a != b,
        "gt": a > b,
        "ge": a >= b,
        "lt": a < b,
        "le": a <= b,
    }
    return bool(outcomes[op])
