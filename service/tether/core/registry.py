"""One registry mechanism for every kind of plugin: drivers now, providers and parsers later.

Plugins are found through an entry-point group (``tether.drivers``, ``tether.providers``,
``tether.parsers``) and load lazily on first use: importing netmiko costs half a second
that a service answering only session queries need not pay. Each plugin is checked
once when it loads (its kind's contract and contract range); one that fails the check
is refused with a message naming why, and never served.

A third-party package adds one by declaring, in its pyproject.toml::

    [project.entry-points."tether.drivers"]
    mydriver = "my_package.driver:MyDriver"
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Generic, TypeVar

from ..drivers.contract import InvalidRequest
from ..security.limits import quote
from ..suggest import did_you_mean

P = TypeVar("P")


class PluginRefused(InvalidRequest):
    """A plugin was found but failed its contract check; it is never served."""


class PluginRegistry(Generic[P]):
    def __init__(
        self,
        group: str,
        kind: str,
        check: Callable[[str, object], P],
        extra: Mapping[str, P] | None = None,
    ) -> None:
        self.group = group
        self.kind = kind
        self._check = check
        self._entry_points: dict[str, EntryPoint] = {ep.name: ep for ep in entry_points(group=group)}
        self._loaded: dict[str, P] = dict(extra or {})
        self._refused: dict[str, str] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return sorted(set(self._entry_points) | set(self._loaded))

    def get(self, name: str) -> P:
        with self._lock:
            if name in self._loaded:
                return self._loaded[name]
            if name in self._refused:
                raise PluginRefused(self._refused[name])
            entry = self._entry_points.get(name)
            if entry is None:
                known = ", ".join(self.names()) or "none"
                hint = did_you_mean(name, self.names())
                raise InvalidRequest(f"unknown {self.kind} {quote(name)}{hint} (installed {self.kind}s: {known})")
            try:
                plugin = self._check(name, entry.load())
            except PluginRefused as exc:
                self._refused[name] = str(exc)
                raise
            except Exception as exc:
                self._refused[name] = f"{self.kind} {name!r} could not be loaded: {type(exc).__name__}: {exc}"
                raise PluginRefused(self._refused[name]) from exc
            self._loaded[name] = plugin
            return plugin

    def load_all(self) -> tuple[dict[str, P], dict[str, str]]:
        """Every plugin this registry can serve, and why the others are refused (for publishing)."""
        for name in self.names():
            with contextlib.suppress(InvalidRequest):  # recorded in _refused
                self.get(name)
        with self._lock:
            return dict(self._loaded), dict(self._refused)
