# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Requests and results: tetherd's API calls as one Ansible task makes them, requests
built from plain arguments and answers turned into plain data (module results).

Private to the collection: not a public API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ansible_collections.tether.fleet.plugins.module_utils._channel import IMPORT_ERROR, Channel, T
from ansible_collections.tether.fleet.plugins.module_utils._results import (
    BulkOutcome,
    ExecuteOutcome,
    TargetOutcome,
    command_dict,
    config_dict,
    info_dict,
    meta_dict,
    session_dict,
)
from ansible_collections.tether.fleet.plugins.module_utils._settings import ServiceError

if IMPORT_ERROR is None:
    from tether.client import TetherClient, TetherError, connection_message, operation_message, pb

CONFIG_MODES = ("apply", "merge", "check")


@dataclass(frozen=True)
class OperationArgs:
    """What to run on a target (mirrors the API's Operation message)."""

    commands: Sequence[str] = ()
    config: Sequence[str] = ()
    read_timeout: float = 0.0
    expect_prompt: str = ""
    parse: str = ""
    template: str = ""
    save: bool = False
    stop_on_error: bool = False
    config_mode: str = "apply"  # apply | merge | check
    diff: bool = False
    encoding: str = ""  # "" (driver default) | text | json


def _config_mode_value(mode: str) -> pb.ConfigMode.ValueType:
    if mode not in CONFIG_MODES:
        raise ServiceError("INVALID_ARGUMENT", f"config mode must be one of {', '.join(CONFIG_MODES)}, not {mode!r}")
    return {"apply": pb.CONFIG_MODE_APPLY, "merge": pb.CONFIG_MODE_MERGE, "check": pb.CONFIG_MODE_CHECK}[mode]


def build_operation(op: OperationArgs) -> pb.Operation:
    """The API's Operation message for ``op`` (for Bulk; Execute takes the same fields as arguments)."""
    message = operation_message(
        op.commands, op.config, op.read_timeout, op.expect_prompt, op.parse, op.template, op.save, op.stop_on_error
    )
    message.config_mode = _config_mode_value(op.config_mode)
    message.diff = op.diff
    if op.encoding:
        message.encoding = op.encoding
    return message


class Service(Channel):
    """tetherd's API calls over this task's :class:`Channel`."""

    def execute(
        self,
        driver: str,
        connection: Mapping[str, Any],
        op: OperationArgs,
        pinned: bool = True,
        timeout: float = 0.0,
        labels: Mapping[str, str] | None = None,
    ) -> ExecuteOutcome:
        def work(client: TetherClient) -> pb.ExecuteResponse:
            return client.execute(
                connection,
                commands=op.commands,
                config=op.config,
                driver=driver,
                mode="pinned" if pinned else "oneshot",
                read_timeout=op.read_timeout,
                expect_prompt=op.expect_prompt,
                parse=op.parse,
                template=op.template,
                save=op.save,
                stop_on_error=op.stop_on_error,
                timeout=timeout,
                labels=labels,
                config_mode=op.config_mode,
                diff=op.diff,
                **({"encoding": op.encoding} if op.encoding else {}),  # older tether clients lack it
            )

        response = self.call(_guard_invalid(work))
        return ExecuteOutcome(
            ok=bool(response.ok),
            job_id=response.job_id,
            results=[command_dict(r) for r in response.results],
            meta=meta_dict(response.meta),
            config=config_dict(response.config) if response.HasField("config") else None,
        )

    def bulk(
        self,
        driver: str,
        targets: Iterable[tuple[str, Mapping[str, Any]]],
        op: OperationArgs,
        pinned: bool = True,
        concurrency: int = 0,
        target_timeout: float = 0.0,
        labels: Mapping[str, str] | None = None,
    ) -> BulkOutcome:
        targets = list(targets)

        def work(client: TetherClient) -> BulkOutcome:
            request = pb.BulkRequest(
                driver=driver,
                targets=[pb.Target(name=name, connection=connection_message(conn)) for name, conn in targets],
                operation=build_operation(op),
                mode=pb.MODE_PINNED if pinned else pb.MODE_ONESHOT,
                concurrency=concurrency,
                timeout=target_timeout,
                labels=dict(labels or {}),
            )
            outcome = BulkOutcome()
            for event in client.bulk(request):
                kind = event.WhichOneof("event")
                if kind == "accepted":
                    outcome.job_id = event.accepted.job_id
                elif kind == "finished":
                    item = event.finished
                    outcome.targets[item.target] = TargetOutcome(
                        name=item.target,
                        ok=bool(item.ok),
                        results=[command_dict(r) for r in item.results],
                        meta=meta_dict(item.meta),
                        config=config_dict(item.config) if item.HasField("config") else None,
                        error=item.error,
                        error_code=item.error_code,
                    )
                elif kind == "summary":
                    summary = event.summary
                    outcome.job_id = summary.job_id or outcome.job_id
                    outcome.succeeded = int(summary.succeeded)
                    outcome.failed = [{"target": f.target, "reason": f.reason} for f in summary.failed]
                    outcome.cancelled = int(summary.cancelled)
                    outcome.elapsed_ms = round(summary.elapsed_ms, 2)
            return outcome

        return self.call(_guard_invalid(work))

    def list_sessions(self, host: str = "", driver: str = "", start: bool = False) -> list[dict[str, Any]]:
        sessions = self.call(lambda client: client.list_sessions(host=host, driver=driver), start=start)
        return [session_dict(s) for s in sessions]

    def close_sessions(self, session_id: str = "", host: str = "", everything: bool = False) -> int:
        return self.call(
            lambda client: client.close_sessions(session_id=session_id, host=host, everything=everything),
            start=False,
        )

    def info(self, start: bool = False) -> dict[str, Any]:
        return info_dict(self.call(lambda client: client.info(), start=start))

    def put_file(
        self, driver: str, connection: Mapping[str, Any], remote_path: str, data: bytes, pinned: bool = True
    ) -> dict[str, Any]:
        mode = "pinned" if pinned else "oneshot"
        response = self.call(
            _guard_invalid(lambda client: client.put_file(connection, remote_path, data, driver=driver, mode=mode))
        )
        return {"job_id": response.job_id, "size": int(response.size), "session": meta_dict(response.meta)}

    def exec_command(
        self,
        driver: str,
        connection: Mapping[str, Any],
        command: str,
        stdin: bytes = b"",
        pinned: bool = True,
        timeout: float = 0.0,
    ) -> tuple[int, bytes, bytes]:
        """One command in its own exec channel over the host's warm transport."""
        mode = "pinned" if pinned else "oneshot"
        response = self.call(
            _guard_invalid(
                lambda client: client.exec_command(
                    connection, command, stdin=stdin, driver=driver, mode=mode, timeout=timeout
                )
            )
        )
        return int(response.exit_status), bytes(response.stdout), bytes(response.stderr)

    def fetch_file(self, driver: str, connection: Mapping[str, Any], remote_path: str, pinned: bool = True) -> bytes:
        mode = "pinned" if pinned else "oneshot"
        return self.call(
            _guard_invalid(lambda client: client.fetch_file(connection, remote_path, driver=driver, mode=mode))
        )


def _guard_invalid(work: Callable[[TetherClient], T]) -> Callable[[TetherClient], T]:
    """Errors raised while building a request (not by a call) as TetherError, so they
    surface as ServiceError like any other."""

    def guarded(client: TetherClient) -> T:
        try:
            return work(client)
        except (TypeError, ValueError) as exc:
            raise TetherError("INVALID_ARGUMENT", str(exc)) from None

    return guarded
