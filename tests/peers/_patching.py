"""What every runtime patch of a simulator uses: apply each patch once per target."""

from __future__ import annotations

from typing import Any


def mark(target: Any, name: str) -> bool:
    """Return True (and mark ``target``) the first time patch ``name`` is applied to it."""
    attribute = f"_tether_patched_{name.replace('-', '_')}"
    if getattr(target, attribute, False):
        return False
    setattr(target, attribute, True)
    return True
