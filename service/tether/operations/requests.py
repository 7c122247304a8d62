"""Turns API messages into validated, typed specs, and secrets into a redactor.

Everything here is pure (no I/O): a request that fails here never reaches a
device, and its error names the field that was wrong.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.struct_pb2 import Struct, Value

from ..drivers.contract import (
    DEFAULT_MAX_OUTPUT_BYTES,
    Capability,
    CommandOptions,
    ConnectionSpec,
    Driver,
    InvalidRequest,
    Secret,
)
from ..security import safe_regex
from ..security.limits import (
    MAX_API_CALL_INPUT,
    MAX_BULK_CONCURRENCY,
    MAX_COMMAND_LENGTH,
    MAX_COMMANDS,
    MAX_DRIVER_NAME,
    MAX_EXEC_COMMAND,
    MAX_HOST,
    MAX_JOB_FILTER_STATES,
    MAX_JOB_ID,
    MAX_KEEPALIVE_SECONDS,
    MAX_OPTION_DEPTH,
    MAX_OPTION_NAME,
    MAX_OPTIONS,
    MAX_OPTIONS_BYTES,
    MAX_PAGE_TOKEN,
    MAX_PATH,
    MAX_PLATFORM,
    MAX_PRIVATE_KEY,
    MAX_SECRET,
    MAX_SESSION_ID,
    MAX_TARGET_NAME,
    MAX_TARGETS,
    MAX_TEMPLATE_LENGTH,
    MAX_USERNAME,
    OPERATION_ENCODINGS,
    PLAIN_FILE_MODE_BITS,
    SPECIAL_FILE_MODE_BITS,
    check_enum,
    check_labels,
    check_length,
    check_option_value,
    check_seconds,
    check_text,
    quote,
)
from ..security.redaction import REDACTED as REDACTED  # re-exported: callers import these from here
from ..security.redaction import Redactor as Redactor
from ..v1 import messages as pb
from .parsing import ParseSpec, check_template
from .typed_operations import CandidateSpec, GetterSpec, candidate_spec, getter_specs

__all__ = [
    "MAX_COMMANDS",
    "MAX_COMMAND_LENGTH",
    "MAX_TARGETS",
    "REDACTED",
    "Redactor",
]  # re-exported for older importers
DEFAULT_DRIVER = "netmiko"
_PARSE_KINDS = {pb.Parse.KIND_NONE: "", pb.Parse.KIND_TEXTFSM: "textfsm", pb.Parse.KIND_TTP: "ttp"}
_MODES = tuple(pb.Mode.values())
_CONFIG_MODES = tuple(pb.ConfigMode.values())
_JOB_STATES = tuple(pb.JobState.values())
_JOB_KINDS = tuple(pb.JobKind.values())


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
    getters: tuple[GetterSpec, ...] = ()
    candidate: CandidateSpec | None = None
    # eAPI requests: a command string or {"cmd": ..., "input": ...}; sent as one request.
    api_calls: tuple[str | Mapping[str, str], ...] = ()

    @property
    def lines(self) -> tuple[str, ...]:
        """What the job record lists: config lines, API calls, the candidate, commands, getters."""
        candidate = (self.candidate.label,) if self.candidate else ()
        api_calls = tuple(map(api_call_label, self.api_calls))
        return self.config + api_calls + candidate + self.commands + tuple(f"getter {g.name}" for g in self.getters)

    @functools.cached_property
    def required(self) -> frozenset[Capability]:
        """The driver capabilities this operation needs, checked before any I/O."""
        needed: set[Capability] = set()
        if self.commands:
            needed.add(Capability.COMMANDS)
        if self.config:
            needed.add(Capability.CONFIG)
            if self.diff or self.config_mode in (pb.CONFIG_MODE_MERGE, pb.CONFIG_MODE_CHECK):
                needed.add(Capability.RUNNING_CONFIG)
        if self.save and self.config_mode != pb.CONFIG_MODE_CHECK:
            needed.add(Capability.SAVE_CONFIG)
        if self.getters:
            needed.add(Capability.GETTERS)
        if self.candidate:
            needed.update(self.candidate.required)
        if self.api_calls:
            needed.add(Capability.API_CALLS)
        if self.options.encoding == "json":
            needed.add(Capability.STRUCTURED_OUTPUT)
        return frozenset(needed)


def api_call_label(call: str | Mapping[str, str]) -> str:
    """How an API call is named in results and job records: its command (never its input)."""
    return call if isinstance(call, str) else call["cmd"]


def _api_call(value: Value, where: str) -> str | Mapping[str, str]:
    """One eAPI request: a command string, or {"cmd": string, "input": string} (input may span lines)."""
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        command = value.string_value
    elif kind == "struct_value":
        fields = value.struct_value.fields
        unknown = sorted(set(fields) - {"cmd", "input"})
        if unknown:
            raise InvalidRequest(f"{where} has an unknown key {quote(unknown[0])} (known: cmd, input)")
        for key, item in fields.items():
            if item.WhichOneof("kind") != "string_value":
                raise InvalidRequest(f"{where}.{key} must be a string")
        if "cmd" not in fields:
            raise InvalidRequest(f"{where} needs a cmd")
        command = fields["cmd"].string_value
        check_text(
            f"{where}.input", fields["input"].string_value if "input" in fields else "", MAX_API_CALL_INPUT, True
        )
    else:
        raise InvalidRequest(f"{where} must be a command string or {{cmd, input}}, not a {kind or 'null'}")
    if not command.strip():
        raise InvalidRequest(f"{where} has an empty command")
    check_text(where if kind == "string_value" else f"{where}.cmd", command, MAX_COMMAND_LENGTH)
    if kind == "string_value":
        return command
    call = {"cmd": command}
    if "input" in value.struct_value.fields:
        call["input"] = value.struct_value.fields["input"].string_value
    return call


def _encoding(message: pb.Operation) -> str:
    check_text("operation.encoding", message.encoding, 16)
    if message.encoding not in OPERATION_ENCODINGS:
        raise InvalidRequest(f"operation.encoding must be empty, 'text' or 'json': {quote(message.encoding)}")
    if message.encoding == "json" and message.parse.kind:
        raise InvalidRequest("operation.parse needs text output; encoding 'json' already answers data")
    return message.encoding


def _option_value(value: Value, where: str, depth: int) -> Any:
    """A Struct value as plain Python (numbers are floats, as JSON has them), bounded in depth."""
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return _options_dict(value.struct_value, where, depth + 1)
    if kind == "list_value":
        if depth >= MAX_OPTION_DEPTH:
            raise InvalidRequest(f"{where} nests deeper than {MAX_OPTION_DEPTH} levels", where)
        return [_option_value(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value.list_value.values)]
    if kind == "number_value":
        return value.number_value
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    return None


def _options_dict(struct: Struct, where: str, depth: int = 0) -> dict[str, Any]:
    if depth > MAX_OPTION_DEPTH:
        raise InvalidRequest(f"{where} nests deeper than {MAX_OPTION_DEPTH} levels", where)
    options: dict[str, Any] = {}
    for key, value in struct.fields.items():
        check_text(f"a name in {where}", key, MAX_OPTION_NAME)
        options[key] = _option_value(value, f"{where}.{key}", depth)
        check_option_value(f"{where}.{key}", options[key], depth)
    return options


def connection_options(message: pb.Connection) -> dict[str, Any]:
    """The driver options of a connection, checked: bounded count, size, depth; finite numbers."""
    if not message.HasField("options"):
        return {}
    if len(message.options.fields) > MAX_OPTIONS:
        raise InvalidRequest(
            f"connection.options has {len(message.options.fields)} entries; at most {MAX_OPTIONS}", "connection.options"
        )
    size = message.options.ByteSize()
    if size > MAX_OPTIONS_BYTES:
        raise InvalidRequest(f"connection.options is {size} bytes; at most {MAX_OPTIONS_BYTES}", "connection.options")
    return _options_dict(message.options, "connection.options")


def _check_connection_fields(message: pb.Connection) -> None:
    check_text("connection.host", message.host, MAX_HOST)
    check_text("connection.platform", message.platform, MAX_PLATFORM)
    check_text("connection.username", message.username, MAX_USERNAME)
    check_text("connection.password", message.password, MAX_SECRET, line_breaks=True, secret=True)
    check_text("connection.secret", message.secret, MAX_SECRET, line_breaks=True, secret=True)
    check_length("connection.private_key", message.private_key, MAX_PRIVATE_KEY, secret=True)
    check_text("connection.api_token", message.api_token, MAX_SECRET, line_breaks=True, secret=True)
    check_length("connection.tls_client_key", message.tls_client_key, MAX_PRIVATE_KEY, secret=True)
    check_length("connection.tls_client_cert", message.tls_client_cert, MAX_PRIVATE_KEY)
    check_text("connection.private_key_file", message.private_key_file, MAX_PATH)
    if message.port > 65535:
        raise InvalidRequest(
            f"connection.port {message.port} is out of range (1 to 65535; 0: the driver default)", "connection.port"
        )
    if message.keepalive_seconds > MAX_KEEPALIVE_SECONDS:
        raise InvalidRequest(
            f"connection.keepalive_seconds is {message.keepalive_seconds}; at most {MAX_KEEPALIVE_SECONDS}",
            "connection.keepalive_seconds",
        )
    check_seconds("connection.connect_timeout", message.connect_timeout)


def connection_spec(
    message: pb.Connection, defaults: Defaults, driver: type[Driver], where: str = "connection"
) -> ConnectionSpec:
    try:
        _check_connection_fields(message)
        options = connection_options(message)
        # A driver whose default port depends on its options (pyeapi: per transport) says so.
        default_port_for = getattr(driver, "default_port_for", None)
        spec = ConnectionSpec(
            host=message.host.strip(),
            port=message.port or (default_port_for(options) if default_port_for else driver.meta.default_port),
            platform=message.platform,
            username=message.username,
            password=Secret(message.password),
            private_key=Secret(message.private_key),
            private_key_file=message.private_key_file,
            secret=Secret(message.secret),
            api_token=Secret(message.api_token),
            tls_client_key=Secret(message.tls_client_key),
            tls_client_cert=message.tls_client_cert,
            options=options,
            keepalive_seconds=float(message.keepalive_seconds or defaults.keepalive_seconds),
            connect_timeout=message.connect_timeout or defaults.connect_timeout,
            max_output_bytes=defaults.max_output_bytes,
        )
        driver.validate(spec)
    except InvalidRequest as exc:
        if where == "connection":
            raise
        # A target's connection is checked as "connection": its fields are the target's.
        raise InvalidRequest(f"{where}: {exc}", f"{where}.{exc.field}" if exc.field else "") from None
    return spec


def merge_connection(defaults: pb.Connection, override: pb.Connection) -> pb.Connection:
    """A bulk target's connection: the shared fields, with every set field of the target's own on top."""
    merged = pb.Connection()
    merged.CopyFrom(defaults)
    for descriptor, value in override.ListFields():
        if descriptor.name == "options":
            for key, item in value.fields.items():  # per option, as a dict update
                merged.options.fields[key].CopyFrom(item)
        else:
            setattr(merged, descriptor.name, value)
    return merged


def operation_spec(message: pb.Operation, defaults: Defaults) -> OperationSpec:
    commands = tuple(message.commands)
    config = tuple(message.config)
    getters = getter_specs(message.getters)
    wanted = commands or config or message.save or message.api_calls or getters or message.HasField("candidate")
    if not wanted:
        raise InvalidRequest(
            "operation needs commands or config lines (or api_calls, getters, or a candidate)", "operation.commands"
        )
    count = len(commands) + len(config) + len(message.api_calls)
    if count > MAX_COMMANDS:
        raise InvalidRequest(f"operation has {count} lines and API calls; at most {MAX_COMMANDS}", "operation.commands")
    api_calls = tuple(_api_call(value, f"operation.api_calls[{i}]") for i, value in enumerate(message.api_calls))
    for line in (*commands, *config):
        if len(line) > MAX_COMMAND_LENGTH:
            raise InvalidRequest(
                f"a command is {len(line)} characters long; at most {MAX_COMMAND_LENGTH}: {quote(line)}"
            )
        if "\n" in line or "\r" in line:
            raise InvalidRequest(f"command {quote(line, 40)} contains a line break: send each line separately")
        if "\0" in line:
            raise InvalidRequest(f"command {quote(line, 40)} contains a NUL character")
    check_enum("operation.config_mode", message.config_mode, _CONFIG_MODES)
    if message.expect_prompt:
        safe_regex.compile(message.expect_prompt, "operation.expect_prompt")
    check_seconds("operation.read_timeout", message.read_timeout)
    kind = _PARSE_KINDS.get(message.parse.kind)
    if kind is None:
        raise InvalidRequest(f"operation.parse.kind {message.parse.kind} is unknown", "operation.parse.kind")
    check_length("operation.parse.template", message.parse.template, MAX_TEMPLATE_LENGTH)
    parse = ParseSpec(kind=kind, template=message.parse.template)
    check_template(parse)
    candidate = candidate_spec(message.candidate) if message.HasField("candidate") else None
    return OperationSpec(
        commands=commands,
        config=config,
        options=CommandOptions(
            read_timeout=message.read_timeout or defaults.read_timeout,
            expect_prompt=message.expect_prompt,
            encoding=_encoding(message),
        ),
        parse=parse,
        save=message.save,
        stop_on_error=message.stop_on_error,
        config_mode=message.config_mode or pb.CONFIG_MODE_APPLY,
        diff=message.diff,
        getters=getters,
        candidate=candidate,
        api_calls=api_calls,
    )


def driver_name(name: str) -> str:
    """The driver a request names (default netmiko), bounded before any lookup quotes it."""
    check_text("driver", name, MAX_DRIVER_NAME)
    return name or DEFAULT_DRIVER


def check_execute(request: pb.ExecuteRequest) -> None:
    """The ExecuteRequest fields outside its connection and operation."""
    check_enum("mode", request.mode, _MODES)
    check_seconds("timeout", request.timeout)
    check_labels(request.labels)


def check_bulk(request: pb.BulkRequest) -> None:
    """The BulkRequest fields outside its connections and operation."""
    check_enum("mode", request.mode, _MODES)
    check_seconds("timeout", request.timeout)
    check_labels(request.labels)
    if request.concurrency > MAX_BULK_CONCURRENCY:
        raise InvalidRequest(f"concurrency is {request.concurrency}; at most {MAX_BULK_CONCURRENCY}", "concurrency")
    if not request.targets:
        raise InvalidRequest("bulk request has no targets", "targets")
    if len(request.targets) > MAX_TARGETS:
        raise InvalidRequest(f"bulk request has {len(request.targets)} targets; at most {MAX_TARGETS}", "targets")
    for index, target in enumerate(request.targets):
        check_text(f"targets[{index}].name", target.name, MAX_TARGET_NAME)


def check_transfer(
    request: pb.PutFileRequest | pb.FetchFileRequest | pb.ExecRequest, allow_special_file_modes: bool = False
) -> None:
    """The fields of PutFile, FetchFile and Exec outside their connection."""
    check_enum("mode", request.mode, _MODES)
    if isinstance(request, pb.ExecRequest):
        if not request.command:
            raise InvalidRequest("command is required", "command")
        check_text("command", request.command, MAX_EXEC_COMMAND, line_breaks=True)
        check_seconds("timeout", request.timeout)
        return
    if not request.remote_path:
        raise InvalidRequest("remote_path is required", "remote_path")
    check_text("remote_path", request.remote_path, MAX_PATH)
    if isinstance(request, pb.PutFileRequest):
        allowed = SPECIAL_FILE_MODE_BITS if allow_special_file_modes else PLAIN_FILE_MODE_BITS
        if request.file_mode & ~allowed:
            hint = (
                ""
                if allow_special_file_modes
                else " (setuid, setgid and sticky bits need the operator's allow_special_file_modes)"
            )
            raise InvalidRequest(f"file_mode {request.file_mode:#o} sets bits outside {allowed:#o}{hint}", "file_mode")


def check_job_id(job_id: str) -> None:
    if not job_id:
        raise InvalidRequest("job_id is required", "job_id")
    check_text("job_id", job_id, MAX_JOB_ID)


def check_list_jobs(request: pb.ListJobsRequest) -> None:
    if len(request.states) > MAX_JOB_FILTER_STATES:
        raise InvalidRequest(f"states lists {len(request.states)} states; at most {MAX_JOB_FILTER_STATES}", "states")
    for state in request.states:
        check_enum("states[]", state, _JOB_STATES)
    check_enum("kind", request.kind, _JOB_KINDS)
    check_text("target", request.target, MAX_TARGET_NAME)
    check_seconds("since", request.since, maximum=float("1e12"))
    # page_size needs no check: above MAX_PAGE_SIZE it is clamped, as the API says ("at most 500").
    check_text("page_token", request.page_token, MAX_PAGE_TOKEN)


def check_session_filter(session_id: str = "", host: str = "", driver: str = "") -> None:
    check_text("session_id", session_id, MAX_SESSION_ID)
    check_text("host", host, MAX_HOST)
    check_text("driver", driver, MAX_DRIVER_NAME)
