"""Getters and configuration candidates: their validated specs and how a session thread runs them.

Validation (pure but for the template render, which happens in a sandboxed worker,
never in tetherd): bounded counts and sizes, getter names and arguments checked
against the driver's own declaration, a candidate's fields checked against its
action. Running: getters answer typed data (napalm's models, kept as they are,
redacted like every output); a candidate is loaded, compared and then committed
or discarded, and a failure after the load discards what was loaded before the
error is reported, so no half-loaded candidate stays on the device.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct

from ..drivers.capabilities import ConfigCandidate, Getters, use
from ..drivers.contract import Capability, CommandFailed, Driver, DriverError, InvalidRequest, SessionLost
from ..security.limits import (
    MAX_CANDIDATE_CONFIG,
    MAX_CANDIDATE_TEMPLATE,
    MAX_COMMIT_MESSAGE,
    MAX_GETTER_ARGUMENTS_BYTES,
    MAX_GETTER_NAME,
    MAX_GETTERS,
    MAX_TEMPLATE_VARIABLES_BYTES,
    check_enum,
    check_length,
    check_seconds,
    check_text,
    quote,
)
from ..security.redaction import Redactor
from ..suggest import did_you_mean
from ..v1 import messages as pb

Device = Callable[[Callable[[], Any]], Any]  # operation._Steps.device: every driver call goes through it
_ACTIONS = tuple(pb.CandidateAction.values())
_ACTION_NAMES = {value: name.removeprefix("CANDIDATE_ACTION_").lower() for name, value in pb.CandidateAction.items()}
_WITH_CONFIG = (pb.CANDIDATE_ACTION_COMPARE, pb.CANDIDATE_ACTION_COMMIT)


@dataclass(frozen=True)
class GetterSpec:
    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CandidateSpec:
    action: pb.CandidateAction.ValueType
    config: str = ""  # the text, or the rendered template
    replace: bool = False
    revert_in: float = 0.0
    message: str = ""

    @property
    def label(self) -> str:
        how = ("replace" if self.replace else "merge") if self.action in _WITH_CONFIG else ""
        lines = f", {self.config.count(chr(10)) + 1} lines" if self.config else ""
        return f"candidate {_ACTION_NAMES[self.action]}{f' ({how}{lines})' if how else ''}"

    @property
    def required(self) -> frozenset[Capability]:
        needed = {Capability.CONFIG_CANDIDATE}
        if self.revert_in or self.action == pb.CANDIDATE_ACTION_CONFIRM:
            needed.add(Capability.COMMIT_CONFIRM)
        return frozenset(needed)


def _plain(value: Any) -> Any:
    """Struct numbers are doubles: an integral one becomes an int (a VLAN renders as 10, not 10.0)."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _struct(struct: Struct, where: str, limit: int) -> dict[str, Any]:
    size = struct.ByteSize()
    if size > limit:
        raise InvalidRequest(f"{where} is {size} bytes; at most {limit}")
    try:
        return dict(_plain(json_format.MessageToDict(struct)))
    except ValueError:  # NaN or an infinity: no JSON value, so no template or getter takes it
        raise InvalidRequest(f"{where} holds a number that is not finite") from None


def getter_specs(calls: Any) -> tuple[GetterSpec, ...]:
    if len(calls) > MAX_GETTERS:
        raise InvalidRequest(f"operation.getters has {len(calls)} calls; at most {MAX_GETTERS}")
    specs = []
    for index, call in enumerate(calls):
        where = f"operation.getters[{index}]"
        if not call.name:
            raise InvalidRequest(f"{where}.name is required")
        check_text(f"{where}.name", call.name, MAX_GETTER_NAME)
        specs.append(GetterSpec(call.name, _struct(call.arguments, f"{where}.arguments", MAX_GETTER_ARGUMENTS_BYTES)))
    return tuple(specs)


def candidate_spec(message: pb.ConfigCandidate) -> CandidateSpec:
    where = "operation.candidate"
    check_enum(f"{where}.action", message.action, _ACTIONS)
    action = message.action or pb.CANDIDATE_ACTION_COMPARE
    check_length(f"{where}.config", message.config, MAX_CANDIDATE_CONFIG)
    check_length(f"{where}.template", message.template, MAX_CANDIDATE_TEMPLATE)
    check_text(f"{where}.message", message.message, MAX_COMMIT_MESSAGE)
    check_seconds(f"{where}.revert_in", message.revert_in)
    if "\0" in message.config or "\0" in message.template:
        raise InvalidRequest(f"{where} contains a NUL character")
    name = _ACTION_NAMES[action]
    has_config = bool(message.config or message.template)
    if action in _WITH_CONFIG and not has_config:
        raise InvalidRequest(f"{where}: action {name} needs config or template")
    if action not in _WITH_CONFIG and (has_config or message.replace):
        raise InvalidRequest(f"{where}: action {name} takes no config, template or replace")
    if message.config and message.template:
        raise InvalidRequest(f"{where}: give config or template, not both")
    if (message.revert_in or message.message) and action != pb.CANDIDATE_ACTION_COMMIT:
        raise InvalidRequest(f"{where}: revert_in and message go with action commit, not {name}")
    if message.revert_in and message.revert_in != int(message.revert_in):
        raise InvalidRequest(f"{where}.revert_in must be whole seconds (got {message.revert_in:g})")
    variables = _struct(message.variables, f"{where}.variables", MAX_TEMPLATE_VARIABLES_BYTES)
    if variables and not message.template:
        raise InvalidRequest(f"{where}.variables go with a template")
    config = message.config
    if message.template:
        from .parsing.render import render_template

        config = render_template(message.template, variables, f"{where}.template")
    return CandidateSpec(action, config, message.replace, message.revert_in, message.message)


def check_getters(driver: type[Driver], getters: tuple[GetterSpec, ...]) -> None:
    """Names the driver declares, and (when it checks them) arguments its getters take; no I/O."""
    check = getattr(driver, "check_getter", None)
    for index, getter in enumerate(getters):
        where = f"operation.getters[{index}]"
        if getter.name not in driver.meta.getters:
            hint = did_you_mean(getter.name, sorted(driver.meta.getters))
            raise InvalidRequest(f"{where}: driver {driver.meta.name} has no getter {quote(getter.name)}{hint}")
        if callable(check):
            check(getter.name, getter.arguments, where)


def _to_value(data: Any, redact: Redactor, limit: int, target: Any) -> None:
    text = json.dumps(data, default=str, allow_nan=False)  # napalm's models are JSON; a stray type becomes text
    if len(text) > limit:
        raise CommandFailed(f"the result is {len(text)} bytes; at most max_output_bytes ({limit})")
    json_format.ParseDict(redact.redact_data(json.loads(text)), target)


def run_getters(
    driver: Driver, getters: tuple[GetterSpec, ...], device: Device, redact: Redactor
) -> list[pb.GetterResult]:
    results: list[pb.GetterResult] = []
    for getter in getters:
        result = pb.GetterResult(name=getter.name)
        results.append(result)
        started = time.perf_counter()
        try:
            data = device(functools.partial(use(driver, Getters).get, getter.name, getter.arguments))
            _to_value(data, redact, driver.spec.max_output_bytes, result.data)
            result.status = pb.RESULT_STATUS_OK
        except SessionLost:
            raise
        except (DriverError, ValueError) as exc:
            result.status, result.error = pb.RESULT_STATUS_FAILED, redact(str(exc))
        finally:
            result.duration_ms = (time.perf_counter() - started) * 1000
    return results


def run_candidate(driver: Driver, spec: CandidateSpec, device: Device, redact: Redactor) -> pb.CandidateResult:
    candidate = use(driver, ConfigCandidate)
    result = pb.CandidateResult(action=spec.action)
    if spec.action == pb.CANDIDATE_ACTION_CONFIRM:
        device(candidate.confirm_commit)
        result.committed = True
        return result
    if spec.action == pb.CANDIDATE_ACTION_DISCARD:
        device(candidate.discard_candidate)
        result.discarded = True
        return result
    if spec.action == pb.CANDIDATE_ACTION_ROLLBACK:
        device(candidate.rollback)
        result.rolled_back = result.changed = True
        return result
    try:
        device(lambda: candidate.load_candidate(spec.config, spec.replace))
        diff = str(device(candidate.compare_candidate))
        result.diff = redact(diff)
        result.changed = bool(diff.strip())
        if spec.action == pb.CANDIDATE_ACTION_COMMIT and result.changed:
            device(lambda: candidate.commit_candidate(spec.message, spec.revert_in))
            result.committed = True
            result.pending_confirm = bool(spec.revert_in)
            return result
    except SessionLost:
        raise
    except DriverError:
        with contextlib.suppress(DriverError):  # leave no half-loaded candidate behind
            device(candidate.discard_candidate)
        raise
    device(candidate.discard_candidate)
    result.discarded = True
    return result
