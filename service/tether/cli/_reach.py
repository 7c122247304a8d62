"""How the ``tether`` CLI reaches tetherd, and what it says when nothing answers.

As the Ansible collection does: with no endpoint configured, commands that do work on
devices (``exec``, ``bulk``) start the embedded default (``tether.embedded``) when
nothing answers on its socket, and so does ``jobs``: the job store outlives the service,
so a job is looked up after a crash. ``sessions`` and ``info`` never start a service
just to show that it is empty; they, and any command pointed at a configured endpoint
that does not answer, say how to start one instead of printing gRPC's own words.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..client import ClientConfig, TetherClient, TetherError
from ..config import ConfigError
from ..embedded import DEFAULT_EXIT_WHEN_IDLE, StartFailed, ensure_service, local_socket_answers, socket_path

__all__ = ["Reach", "ServiceUnreachable"]

_FALSE = ("0", "false", "no", "off")


class ServiceUnreachable(Exception):
    """No tetherd answers where the CLI looked; the message says how to start one."""


@dataclass(frozen=True)
class Reach:
    config: ClientConfig
    source: str  # where the endpoint came from: "--endpoint", "TETHER_ENDPOINT" or "" (the embedded default)
    auto_start: bool

    @classmethod
    def from_args(cls, endpoint: str | None, no_start: bool, environ: Mapping[str, str] | None = None) -> Reach:
        env = os.environ if environ is None else environ
        source = "--endpoint" if endpoint else ("TETHER_ENDPOINT" if env.get("TETHER_ENDPOINT") else "")
        auto_start = not no_start and env.get("TETHER_AUTO_START", "").strip().lower() not in _FALSE
        return cls(ClientConfig.from_env(env, endpoint=endpoint), source, auto_start)

    @property
    def endpoint(self) -> str:
        return self.config.resolved_endpoint

    def _local_answers(self) -> bool:
        return not self.config.is_local or local_socket_answers(socket_path(self.endpoint))

    def client(self, start: bool, announce: Callable[[str], None]) -> TetherClient:
        """A client for the endpoint; with ``start``, the embedded default is started when it does not answer."""
        if not self._local_answers():
            if not (start and self.auto_start and not self.source):
                raise ServiceUnreachable(self.not_running(start))
            try:
                if ensure_service(self.endpoint):
                    log = socket_path(self.endpoint).parent / "tetherd.log"
                    minutes = DEFAULT_EXIT_WHEN_IDLE / 60
                    announce(
                        f"started tetherd on {self.endpoint}; it exits after {minutes:g} idle minutes (log: {log})"
                    )
            except (StartFailed, ConfigError, OSError) as exc:
                raise ServiceUnreachable(f"could not start tetherd on {self.endpoint}: {exc}") from None
        return TetherClient(self.config)

    def not_running(self, start: bool, detail: str = "") -> str:
        """Nothing answers at the endpoint: say where the CLI looked and how to start tetherd there."""
        said = f"; gRPC: {detail}" if detail else ""
        if not self.source:
            if start and not self.auto_start:
                how = "start it with: tetherd serve (or allow the CLI to: drop --no-start / TETHER_AUTO_START)"
            else:
                how = "tether exec, bulk and jobs start it on demand, as the Ansible collection does; or run: tetherd serve"
            return f"no tetherd is running at {self.endpoint} (the embedded default{said}); {how}"
        if self.config.is_local:
            serve = f"tetherd serve --listen {self.endpoint}"
            return (
                f"no tetherd answers at {self.endpoint} (set by {self.source}); start one there with: {serve}; "
                f"or leave out {self.source} to use the embedded default"
            )
        # Over TCP a refused TLS handshake looks the same to the client as no listener: say both.
        serve = f"tetherd serve --listen {self.endpoint} --tls-cert CERT --tls-key KEY --token-file TOKEN"
        return (
            f"cannot reach tetherd at {self.endpoint} (set by {self.source}{said}); if none runs there, "
            f"start one with: {serve}; or leave out {self.source} to use the embedded default"
        )

    @staticmethod
    def _never_sent(exc: TetherError) -> bool:
        """The channel never connected, so no service saw the request."""
        return exc.code == "UNAVAILABLE" and exc.message.startswith("failed to connect to all addresses")

    def may_restart(self, exc: TetherError, start: bool) -> bool:
        """Whether a failed call may start the embedded default and go again: it never reached a service."""
        return start and self.auto_start and not self.source and self._never_sent(exc) and not self._local_answers()

    def explain(self, exc: TetherError, start: bool) -> str:
        """The message for a failed call: the service's own words, unless the call never reached a service."""
        if self._never_sent(exc) or (exc.code == "UNAVAILABLE" and not self._local_answers()):
            return self.not_running(start, detail=exc.message[:300] if not self.config.is_local else "")
        return str(exc)
