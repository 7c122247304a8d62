"""A driver that does nothing, instantly: it measures the service's own overhead
(bench/) and lets tests drive the session machinery without a device.

Options (all optional): ``delay`` seconds to sleep per command, ``fail_open``
to make open() fail, ``hang`` seconds to block inside run_command, ``output_bytes``
to answer each command with that many bytes of output (at most 16 MiB; memory tests).

An ``expect_prompt`` is matched against the echoed command, as a device's prompt
would be against its output, through the same linear-time regex engine as the
netmiko driver: no match fails the command at once (a device would time out).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from ..security import safe_regex
from ..security.limits import MAX_SECONDS, quote
from .capabilities import Commands, ConfigLines
from .contract import (
    Capability,
    CommandFailed,
    CommandOptions,
    ConnectFailed,
    ConnectionSpec,
    Driver,
    DriverMeta,
    InvalidRequest,
    SessionLost,
)

_SECONDS_OPTIONS = ("delay", "hang")
_KNOWN_OPTIONS = {*_SECONDS_OPTIONS, "fail_open", "output_bytes"}
MAX_OUTPUT_BYTES = 16 * 1024 * 1024


def _output_bytes(options: Mapping[str, object]) -> int:
    value = options.get("output_bytes", 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_OUTPUT_BYTES:
        raise InvalidRequest(f"null driver option 'output_bytes' must be 0 to {MAX_OUTPUT_BYTES} bytes: {quote(value)}")
    if value != int(value):
        raise InvalidRequest(f"null driver option 'output_bytes' must be a whole number of bytes: {quote(value)}")
    return int(value)


class NullDriver(Driver, Commands, ConfigLines):
    meta = DriverMeta(
        name="null",
        version="2.0",
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
            raise InvalidRequest(f"unknown null driver options: {', '.join(quote(u) for u in sorted(unknown))}")
        for name in _SECONDS_OPTIONS:
            value = spec.options.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_SECONDS:
                raise InvalidRequest(
                    f"null driver option {name!r} must be 0 to {MAX_SECONDS:g} seconds: {quote(value)}"
                )
        if not isinstance(spec.options.get("fail_open", False), bool):
            raise InvalidRequest(
                f"null driver option 'fail_open' must be true or false: {quote(spec.options['fail_open'])}"
            )
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
        if options.expect_prompt:
            prompt = safe_regex.compile(options.expect_prompt, "operation.expect_prompt")
            if not prompt.matches(command):
                raise CommandFailed(f"expect_prompt {quote(prompt.pattern)} not found in the output", command)
        size = _output_bytes(self.spec.options)
        if size:
            line = f"{command}\n"
            return (line * (size // len(line) + 1))[:size]
        return command

    def run_config(self, lines: Sequence[str], options: CommandOptions) -> str:
        plain = CommandOptions(read_timeout=options.read_timeout)  # config lines end at no prompt
        return "\n".join(self.run_command(line, plain) for line in lines)

    def probe(self) -> None:
        if not self._open:
            raise SessionLost("null session is closed")

    def close(self) -> None:
        self._open = False
