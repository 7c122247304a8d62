"""Suggestions for names a user typed (platforms, drivers, options): "did you mean ...?".

Ranked by similarity (difflib's ratio on a normalised spelling: case and ``-``/``_``
ignored), so ``cisco_iso`` answers ``cisco_ios`` first and ``dell_os10x``
``dell_os10``. A bare family name that is one ``_``-separated part of a known name
(``ios``, ``eos``, ``junos``) also finds it. Only a few suggestions, best first.
"""

from __future__ import annotations

from collections.abc import Iterable
from difflib import SequenceMatcher

__all__ = ["closest", "did_you_mean"]

MAX_SUGGESTIONS = 3
_CUTOFF = 0.6  # below this, a name is no longer a plausible typo of the other
_PART_SCORE = 0.75  # "ios" for cisco_ios: as good as a fair typo, below a close one
_MAX_COMPARED = 64  # a longer input is not a typo of a short name: spend nothing on it


def _normal(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def closest(word: str, known: Iterable[str], limit: int = MAX_SUGGESTIONS) -> list[str]:
    """Up to ``limit`` names from ``known`` that ``word`` was probably meant to be, best first."""
    typed = _normal(word)
    if not typed or len(typed) > _MAX_COMPARED:
        return []
    matcher = SequenceMatcher(autojunk=False)
    matcher.set_seq2(typed)  # difflib caches details of seq2: the typed word is the fixed one
    ranked: list[tuple[float, int, str]] = []
    for name in set(known):
        candidate = _normal(name)
        if candidate == typed:
            score = 2.0
        else:
            matcher.set_seq1(candidate)
            score = matcher.ratio()
            if typed in candidate.split("_"):
                score = max(score, _PART_SCORE)
        if score >= _CUTOFF:
            ranked.append((-score, len(name), name))
    return [name for *_, name in sorted(ranked)[:limit]]


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """``"; did you mean cisco_ios (or cisco_asa, cisco_ioswlc)?"``, or "" when nothing is close."""
    names = closest(word, known)
    if not names:
        return ""
    best, *others = names
    return f"; did you mean {best}" + (f" (or {', '.join(others)})?" if others else "?")
