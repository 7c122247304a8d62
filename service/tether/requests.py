"""Turns API messages into validated, typed specs, and secrets into a redactor.

Everything here is pure (no I/O): a request that fails here never reaches a
device, and its error names the field that was wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from google.protobuf.json_format import MessageToDict

from .drivers.contract import DEFAULT_MAX_OUTPUT_BYTES, CommandOptions, ConnectionSpec, Driver, InvalidRequest
from .parsing import ParseSpec, check_template
from .redaction import REDACTED as REDACTED  # re-exported: callers import these from here
from .redaction import Redactor as Redactor
from .v1 import messages as pb

MAX_COMMANDS = 1000
MAX_COMMAND_LENGTH = 16_384
MAX_TARGETS = 10_000
_PARSE_KINDS = {pb.Parse.KIND_NONE: "", pb.Parse.KIND_TEXTFSM: "textfsm", pb.Parse.KIND_TTP: "ttp"}


@dataclass(frozen=True)
class Defaults:
    keepalive_seconds: float = 30.0
    connect_timeout: float = 15.0
    read_timeout: float = 30.0
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES


@dataclass(frozen=True)
class OperationSpec:
    commands: tuple[str, ...]
    config: tuple[str, ...]
    options: CommandOptions
    parse: ParseSpec
    save: bool = False
    stop_on_error: bool = False
    config_mode: pb.ConfigMode.ValueType = pb.CONFIG_MODE_APPLY
    diff: bool = False

    @property
    def lines(self) -> tuple[str, ...]:
        return self.config + self.commands


def connection_spec(
    message: pb.Connection, defaults: Defaults, driver: type[Driver], where: str = "connection"
) -> ConnectionSpec:
    options: dict[str, Any] = MessageToDict(message.options) if message.HasField("options") else {}
    try:
        spec = ConnectionSpec(
            host=message.host.strip(),
            port=message.port or driver.meta.default_port,
            platform=message.platform,
            username=message.username,
            password=message.password,
            private_key=message.private_key,
            private_key_file=message.private_key_file,
            secret=message.secret,
            options=options,
            keepalive_seconds=float(message.keepalive_seconds or defaults.keepalive_seconds),
            connect_timeout=message.connect_timeout or defaults.connect_timeout,
            max_output_bytes=defaults.max_output_bytes,
        )
        if spec.port > 65535:
            raise InvalidRequest(f"connection.port {spec.port} is out of range")
        if spec.connect_timeout < 0:
            raise InvalidRequest("connection.connect_timeout must not be negative")
        driver.validate(spec)
    except InvalidRequest as exc:
        raise InvalidRequest(f"{where}: {exc}" if where != "connection" else str(exc)) from None
    return spec


def merge_connection(defaults: pb.Connection, override: pb.Connection) -> pb.Connection:
    """A bulk target's connection: the shared fields, with every set field of the target's own on top."""
    merged = pb.Connection()
    merged.CopyFrom(defaults)
    for descriptor, value in override.ListFields():
        if descriptor.name == "options":
            merged.options.update(MessageToDict(value))
        else:
            setattr(merged, descriptor.name, value)
    return merged


def operation_spec(message: pb.Operation, defaults: Defaults) -> OperationSpec:
    commands = tuple(message.commands)
    config = tuple(message.config)
    if not commands and not config and not message.save:
        raise InvalidRequest("operation needs commands or config lines")
    if len(commands) + len(config) > MAX_COMMANDS:
        raise InvalidRequest(f"operation has {len(commands) + len(config)} lines; at most {MAX_COMMANDS}")
    for line in (*commands, *config):
        if len(line) > MAX_COMMAND_LENGTH:
            raise InvalidRequest(f"a command is {len(line)} characters long; at most {MAX_COMMAND_LENGTH}")
        if "\n" in line or "\r" in line:
            raise InvalidRequest(f"command {line[:40]!r} contains a line break: send each line separately")
    if message.config_mode not in pb.ConfigMode.values():
        raise InvalidRequest(f"operation.config_mode {message.config_mode} is unknown")
    if message.expect_prompt:
        try:
            re.compile(message.expect_prompt)
        except re.error as exc:
            raise InvalidRequest(f"operation.expect_prompt is not a valid regular expression: {exc}") from None
    if message.read_timeout < 0:
        raise InvalidRequest("operation.read_timeout must not be negative")
    kind = _PARSE_KINDS.get(message.parse.kind)
    if kind is None:
        raise InvalidRequest(f"operation.parse.kind {message.parse.kind} is unknown")
    parse = ParseSpec(kind=kind, template=message.parse.template)
    check_template(parse)
    return OperationSpec(
        commands=commands,
        config=config,
        options=CommandOptions(
            read_timeout=message.read_timeout or defaults.read_timeout,
            expect_prompt=message.expect_prompt,
        ),
        parse=parse,
        save=message.save,
        stop_on_error=message.stop_on_error,
        config_mode=message.config_mode or pb.CONFIG_MODE_APPLY,
        diff=message.diff,
    )
