"""Which configuration lines are missing from a running configuration.

Both sides are read as indentation trees (as IOS, EOS, NX-OS and most CLIs
print them): a line's identity is its path of parent lines plus itself, so
``description uplink`` under ``interface Fa0/1`` differs from the same line
under ``interface Fa0/2``. Only presence is compared ("match line"), which is
what makes a second run with the same lines report no change.
"""

from __future__ import annotations

from collections.abc import Iterable

_NOISE_PREFIXES = ("!", "Building configuration", "Current configuration", "end")

Path = tuple[str, ...]


def config_paths(lines: Iterable[str]) -> list[Path]:
    """Each meaningful line as its path from the top of the tree, in order."""
    paths: list[Path] = []
    stack: list[tuple[int, str]] = []
    for raw in lines:
        text = raw.rstrip()
        stripped = text.strip()
        if not stripped or stripped.startswith(_NOISE_PREFIXES):
            continue
        indent = len(text) - len(text.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        paths.append((*(line for _, line in stack), stripped))
        stack.append((indent, stripped))
    return paths


def missing_lines(candidate: Iterable[str], running: str) -> list[str]:
    """The lines to send so every candidate line is present, with the parent
    lines that enter each missing line's context."""
    present = set(config_paths(running.splitlines()))
    out: list[str] = []
    context: Path = ()
    for path in config_paths(candidate):
        if path in present:
            continue
        parents = path[:-1]
        shared = 0
        while shared < min(len(parents), len(context)) and parents[shared] == context[shared]:
            shared += 1
        out.extend(" " * depth + parents[depth] for depth in range(shared, len(parents)))
        out.append(" " * len(parents) + path[-1])
        present.add(path)
        context = path
    return out


def predicted(running: str, lines: list[str]) -> str:
    """The running configuration as it would read with ``lines`` merged in (for check mode)."""
    if not lines:
        return running
    body = running.rstrip("\n").splitlines()
    # Keep a closing "end" (IOS, EOS) last, where the device would print it.
    tail = [body.pop()] if body and body[-1].strip() == "end" else []
    return "\n".join([*body, *lines, *tail]) + "\n"
