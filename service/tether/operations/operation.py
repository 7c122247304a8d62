"""The unit of work a session thread runs: one whole operation, in order.

Config lines first (so commands can verify them), then the API calls (one request), then
the commands. In MERGE
and CHECK modes the running configuration is read first and only the missing
lines are sent (or, in CHECK, only reported).
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from google.protobuf import json_format

from ..drivers.capabilities import ApiCalls, Commands, ConfigLines, RunningConfig, SaveConfig, use
from ..drivers.contract import CommandFailed, Driver, DriverError, SessionLost, SessionLostBeforeSend, Structured
from ..security.redaction import Redactor
from ..v1 import messages as pb
from .configdiff import missing_lines, predicted
from .parsing import parse
from .requests import OperationSpec, api_call_label
from .typed_operations import run_candidate, run_getters

T = TypeVar("T")


@dataclass
class OperationResult:
    results: list[pb.CommandResult] = field(default_factory=list)
    config: pb.ConfigChange | None = None
    getters: list[pb.GetterResult] = field(default_factory=list)
    candidate: pb.CandidateResult | None = None

    @property
    def ok(self) -> bool:
        commands_ok = all(r.status == pb.RESULT_STATUS_OK for r in self.results)
        return commands_ok and all(g.status == pb.RESULT_STATUS_OK for g in self.getters)


class _Steps:
    def __init__(self, op: OperationSpec, cancelled: threading.Event, redact: Redactor) -> None:
        self.op = op
        self.cancelled = cancelled
        self.redact = redact
        self.failed = False
        self.results: list[pb.CommandResult] = []
        self.reached_device = False

    def device(self, call: Callable[[], T]) -> T:
        """Every driver call of the operation goes through here. A session found dead before
        sending stays retryable (SessionLostBeforeSend) only when no earlier call reached the device."""
        first, self.reached_device = not self.reached_device, True
        try:
            return call()
        except SessionLostBeforeSend as exc:
            if first:
                raise
            raise SessionLost(str(exc)) from exc

    def skipped(self, result: pb.CommandResult) -> bool:
        if self.cancelled.is_set() or (self.failed and self.op.stop_on_error):
            result.status = pb.RESULT_STATUS_SKIPPED
            result.error = "cancelled" if self.cancelled.is_set() else "skipped after an earlier failure"
            return True
        return False

    def run(self, label: str, call: Callable[[], str | Structured]) -> str | None:
        result = pb.CommandResult(command=self.redact(label))
        self.results.append(result)
        if self.skipped(result):
            return None
        started = time.perf_counter()
        try:
            output = self.device(call)
        except CommandFailed as exc:
            result.status, result.error, self.failed = pb.RESULT_STATUS_FAILED, self.redact(str(exc)), True
            result.output = self.redact(exc.output)
            return None
        finally:
            result.duration_ms = (time.perf_counter() - started) * 1000
        self.record(result, output)
        return result.output

    def record(self, result: pb.CommandResult, output: str | Structured) -> None:
        """A successful answer into its result: data typed (and redacted), output as text."""
        if isinstance(output, Structured):
            data = self.redact.redact_data(output.data)
            json_format.ParseDict(data, result.data)
            result.output = self.redact(output.text) if output.text else json.dumps(data, indent=2, sort_keys=True)
        else:
            result.output = self.redact(output)
        result.status = pb.RESULT_STATUS_OK

    def run_api_calls(self, driver: Driver) -> None:
        """All API calls as one request (eAPI runs them in order, in one CLI session): one result each.
        A failure fails every call of the request; its message names the command EOS refused."""
        op = self.op
        results = [pb.CommandResult(command=self.redact(api_call_label(call))) for call in op.api_calls]
        self.results.extend(results)
        if any([self.skipped(result) for result in results]):
            return
        started = time.perf_counter()
        try:
            answers = self.device(lambda: use(driver, ApiCalls).call_api(op.api_calls, op.options))
        except CommandFailed as exc:
            self.failed = True
            for result in results:
                result.status, result.error = pb.RESULT_STATUS_FAILED, self.redact(str(exc))
                result.output = self.redact(exc.output)
            return
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            for result in results:
                result.duration_ms = elapsed
        for result, answer in zip(results, answers, strict=False):
            self.record(result, answer if isinstance(answer, str) else Structured(answer))


def _apply_config(driver: Driver, op: OperationSpec, steps: _Steps) -> pb.ConfigChange:
    def running_config() -> str:  # looked up only when used: plain apply needs no running_config capability
        return use(driver, RunningConfig).running_config()

    change = pb.ConfigChange()
    merge = op.config_mode in (pb.CONFIG_MODE_MERGE, pb.CONFIG_MODE_CHECK)
    # Compared unredacted (a masked line would never match the device's); redacted on the way out.
    running = steps.device(running_config) if (merge or op.diff) else ""
    lines = missing_lines(op.config, running) if merge else list(op.config)
    change.lines.extend(map(steps.redact, lines))
    change.changed = bool(lines)
    if op.diff:
        change.before = steps.redact(running)
    if op.config_mode == pb.CONFIG_MODE_CHECK:
        if op.diff:
            change.after = steps.redact(predicted(running, lines))
        return change
    if lines:
        steps.run("\n".join(lines), lambda: use(driver, ConfigLines).run_config(lines, op.options))
    if op.save and change.changed and not steps.failed:
        change.saved = steps.run("save", use(driver, SaveConfig).save_config) is not None
    if op.diff:
        change.after = steps.redact(steps.device(running_config))
    return change


def run_operation(driver: Driver, op: OperationSpec, cancelled: threading.Event, redact: Redactor) -> OperationResult:
    steps = _Steps(op, cancelled, redact)
    outcome = OperationResult(results=steps.results)
    if op.config:
        outcome.config = _apply_config(driver, op, steps)
    elif op.save and op.config_mode != pb.CONFIG_MODE_CHECK:
        steps.run("save", use(driver, SaveConfig).save_config)
    if op.api_calls:
        steps.run_api_calls(driver)
    if op.candidate is not None and not cancelled.is_set():
        outcome.candidate = run_candidate(driver, op.candidate, steps.device, redact)
    for command in op.commands:
        output = steps.run(command, functools.partial(use(driver, Commands).run_command, command, op.options))
        if output is not None and op.parse.kind:
            try:
                parsed = parse(op.parse, driver.spec.platform, command, output)
                steps.results[-1].parsed_json = parsed  # kept for clients built before `data`
                json_format.Parse(parsed, steps.results[-1].data)
            except (ValueError, DriverError) as exc:
                steps.results[-1].status = pb.RESULT_STATUS_FAILED
                steps.results[-1].error = f"parse: {exc}"
                steps.failed = True
    if op.getters and not cancelled.is_set():
        outcome.getters = run_getters(driver, op.getters, steps.device, redact)
    return outcome
