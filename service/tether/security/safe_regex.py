"""Regular expressions from requests, run in time linear in the text (RE2).

Python's ``re`` backtracks: ``(a+)+b`` against 27 ``a`` takes seconds, holding the
GIL, so one request could stall every client of the service. Every pattern a
client supplies (``expect_prompt``, the netmiko option ``error_pattern``, ...) is
compiled here with RE2 (google-re2), which guarantees linear-time matching and
releases the GIL while it matches. tetherd's own patterns (escaped prompts,
constants) may keep ``re``.

RE2 lacks what cannot run in linear time: backreferences, lookahead and
lookbehind, atomic groups and possessive quantifiers; such a pattern is refused
with INVALID_ARGUMENT saying so. Other differences from Python's ``re`` that a
pattern written for netmiko may meet: ``$`` without multiline mode matches only
at the very end (not before a final newline); ``\\Z`` is spelled ``\\z``; ``\\s``,
``\\d``, ``\\w`` and ``\\b`` are ASCII-only. Bounds (docs/reliability.md):
``MAX_PATTERN_LENGTH`` characters, repetition counts up to ``MAX_REPEAT``, and
``PATTERN_MEMORY`` bytes of RE2 program and matching state per pattern.

Matching goes through the binding's ``re2._re2.RE2`` object directly: the
``re``-compatible wrapper around it costs ~10 us per search in Python code,
the direct call under 1 us for a typical command's output.
"""

from __future__ import annotations

import functools
import re

import re2
from re2 import _re2

from ..drivers.contract import InvalidRequest
from .limits import quote

MAX_PATTERN_LENGTH = 1_024  # characters
MAX_REPEAT = 1_000  # largest {n} / {n,m} count (RE2's own limit, checked first for a clear message)
PATTERN_MEMORY = 1 << 20  # bytes RE2 may use per compiled pattern (program + DFA cache)
_CACHE_SIZE = 256
_UNANCHORED = _re2.RE2.Anchor.UNANCHORED
_REPEAT = re.compile(r"\{(\d+)(?:,(\d*))?\}")
_UNSUPPORTED = (
    (re.compile(r"invalid perl operator: \(\?<?[=!]"), "lookahead or lookbehind"),
    (re.compile(r"invalid escape sequence: \\[1-9k]|invalid perl operator: \(\?P=?$"), "a backreference"),
    (
        re.compile(r"invalid perl operator: \(\?>|bad repetition operator: .\+"),
        "an atomic group or possessive quantifier",
    ),
    (re.compile(r"invalid escape sequence: \\Z"), "\\Z (RE2 spells it \\z)"),
)


class SafePattern:
    """One compiled user pattern. Thread-safe; shared through the compile cache."""

    __slots__ = ("_regexp", "pattern")

    def __init__(self, pattern: str, regexp: _re2.RE2) -> None:
        self.pattern = pattern
        self._regexp = regexp

    def __repr__(self) -> str:
        return f"SafePattern({quote(self.pattern)})"

    def _span(self, encoded: bytes) -> tuple[int, int] | None:
        start, end = self._regexp.Match(_UNANCHORED, encoded, 0, len(encoded))[0]
        return None if start < 0 else (start, end)

    def matches(self, text: str) -> bool:
        return self._span(_encode(text)) is not None

    def search(self, text: str) -> str | None:
        """The first match's text, or None."""
        encoded = _encode(text)
        span = self._span(encoded)
        return None if span is None else _decode(encoded[span[0] : span[1]])

    def partition(self, text: str) -> tuple[str, str, str] | None:
        """(before, match, after) around the first match, or None."""
        encoded = _encode(text)
        span = self._span(encoded)
        if span is None:
            return None
        start, end = span
        return _decode(encoded[:start]), _decode(encoded[start:end]), _decode(encoded[end:])


# Device output may hold lone surrogates (undecodable bytes): keep them rather than fail.
def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


class _Rejected(ValueError):
    pass


def _largest_repeat(pattern: str) -> int:
    """The largest repetition count in ``pattern`` (outside escapes and character classes).

    RE2 refuses counts over 1000 but reads one too long for an int (``a{99999999999}``) as
    literal text, which Python's re would not: refuse both, the same way.
    """
    largest, index, in_class = 0, 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            index += 1
            if pattern.startswith("^", index):
                index += 1
            if pattern.startswith("]", index):  # a ']' first in a class is literal
                index += 1
            continue
        elif char == "{" and (repeat := _REPEAT.match(pattern, index)):
            largest = max(largest, *(int(count) for count in repeat.groups() if count))
        index += 1
    return largest


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _compile(pattern: str, multiline: bool) -> SafePattern:
    if _largest_repeat(pattern) > MAX_REPEAT:
        raise _Rejected(f"repeats something more than {MAX_REPEAT} times, the regex engine's limit")
    options = re2.Options()
    options.log_errors = False
    options.max_mem = PATTERN_MEMORY
    regexp = _re2.RE2(("(?m)" + pattern if multiline else pattern).encode(), options)
    if not regexp.ok():
        reason = regexp.error()
        reason = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        for detector, feature in _UNSUPPORTED:
            if detector.search(reason):
                raise _Rejected(f"uses {feature}, which tether's linear-time regex engine (RE2) does not support")
        if "pattern too large" in reason or "invalid repetition size" in reason:
            raise _Rejected(f"is too large for the regex engine ({reason[:60]}): simplify it")
        raise _Rejected(f"is not a valid regular expression: {reason[:120]}")
    return SafePattern(pattern, regexp)


def compile(pattern: str, field: str, multiline: bool = False) -> SafePattern:
    """The linear-time compiled ``pattern``, cached; InvalidRequest naming ``field`` when refused."""
    try:
        if len(pattern) > MAX_PATTERN_LENGTH:  # before the cache, which would hash all of it
            raise _Rejected(f"is {len(pattern)} characters long; at most {MAX_PATTERN_LENGTH}")
        return _compile(pattern, multiline)
    except _Rejected as exc:
        raise InvalidRequest(f"{field} {exc}: {quote(pattern)}", field) from None
