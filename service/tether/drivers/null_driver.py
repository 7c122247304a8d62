"""A driver that does nothing, instantly: it measures the service's own overhead
(bench/) and lets tests drive the session machinery without a device.

Options (all optional): ``delay`` seconds to sleep per command, ``fail_open``
to make open() fail, ``hang`` seconds to block inside run_command, ``output_bytes``
to answer each command with that many bytes of output (at most 16 MiB; memory tests).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from .contract import (
    CONTRACT_VERSION,
    Capability,
    CommandOptions,
    ConnectFailed,
    ConnectionSpec,
    Driver,
    DriverMeta,
    InvalidRequest,
    SessionLost,
)

_KNOWN_OPTIONS = {"delay", "fail_open", "hang", "output_bytes"}
MAX_OUTPUT_BYTES = 16 * 1024 * 1024


def _output_bytes(options: Mapping[str, object]) -> int:
    value = options.get("output_bytes", 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_OUTPUT_BYTES:
        raise InvalidRequest(f"null driver option output_bytes must be a number of bytes, 0 to {MAX_OUTPUT_BYTES}")
    if value != int(value):
        raise InvalidRequest("null driver option output_bytes must be a whole number of bytes")
    return int(value)


class NullDriver(Driver):
    meta = DriverMeta(
        name="null",
        contract_version=CONTRACT_VERSION,
        version="1.0",
        description="No device: echoes commands back (benchmarks and tests)",
        capabilities=frozenset({Capability.COMMANDS, Capability.CONFIG}),
    )

    def __init__(self, spec: ConnectionSpec) -> None:
        super().__init__(spec)
        self._open = False

    @classmethod
    def validate(cls, spec: ConnectionSpec) -> None:
        super().validate(spec)
        unknown = set(spec.options) - _KNOWN_OPTIONS
        if unknown:
            raise InvalidRequest(f"unknown null driver options: {', '.join(sorted(unknown))}")
        _output_bytes(spec.options)

    def open(self) -> None:
        if self.spec.options.get("fail_open"):
            raise ConnectFailed(f"{self.spec.target}: refused (null driver fail_open)")
        self._open = True

    def run_command(self, command: str, options: CommandOptions) -> str:
        if not self._open:
            raise SessionLost("null session is closed")
        hang = float(self.spec.options.get("hang", 0))
        delay = float(self.spec.options.get("delay", 0))
        if hang or delay:
            time.sleep(hang or delay)
        size = _output_bytes(self.spec.options)
        if size:
            line = f"{command}\n"
            return (line * (size // len(line) + 1))[:size]
        return command

    def run_config(self, lines: Sequence[str], options: CommandOptions) -> str:
        return "\n".join(self.run_command(line, options) for line in lines)

    def probe(self) -> None:
        if not self._open:
            raise SessionLost("null session is closed")

    def close(self) -> None:
        self._open = False
