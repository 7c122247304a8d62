# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tetherd's answers as plain data for Ansible results (no gRPC here: the messages are
read by attribute). Private to the collection: not a public API."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

_RESULT_STATUS = {0: "unspecified", 1: "ok", 2: "failed", 3: "skipped"}
_SESSION_STATES = {0: "unspecified", 1: "connecting", 2: "idle", 3: "busy", 4: "closed"}


def meta_dict(meta: Any) -> dict[str, Any]:
    return {
        "session_id": meta.session_id,
        "session_reused": bool(meta.session_reused),
        "connect_ms": round(meta.connect_ms, 2),
        "run_ms": round(meta.run_ms, 2),
        "queued_ms": round(meta.queued_ms, 2),
    }


def value_data(value: Any) -> Any:
    """A protobuf Value (CommandResult.data) as plain data; integral numbers as ints, as devices send them."""
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return {key: value_data(item) for key, item in value.struct_value.fields.items()}
    if kind == "list_value":
        return [value_data(item) for item in value.list_value.values]
    if kind == "number_value":
        number = value.number_value
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind in ("string_value", "bool_value"):
        return getattr(value, kind)
    return None


def command_dict(result: Any) -> dict[str, Any]:
    parsed: Any = None
    if result.parsed_json:
        try:
            parsed = json.loads(result.parsed_json)
        except ValueError:
            parsed = None
    return {
        "command": result.command,
        "output": result.output,
        "parsed": parsed,
        # Structured answer (eAPI JSON, or the parse result): None when the command answered text only.
        "data": value_data(result.data) if result.HasField("data") else None,
        "status": _RESULT_STATUS.get(result.status, "unspecified"),
        "error": result.error,
        "duration_ms": round(result.duration_ms, 2),
    }


def config_dict(change: Any) -> dict[str, Any]:
    return {
        "changed": bool(change.changed),
        "lines": list(change.lines),
        "before": change.before,
        "after": change.after,
        "saved": bool(change.saved),
    }


def session_dict(session: Any) -> dict[str, Any]:
    return {
        "id": session.id,
        "fingerprint": session.fingerprint,
        "driver": session.driver,
        "host": session.host,
        "port": session.port,
        "username": session.username,
        "platform": session.platform,
        "state": _SESSION_STATES.get(session.state, "unspecified"),
        "created": session.created,
        "last_used": session.last_used,
        "use_count": int(session.use_count),
        "keepalive_failures": int(session.keepalive_failures),
        "queued": int(session.queued),
    }


def info_dict(info: Any) -> dict[str, Any]:
    return {
        "running": True,
        "version": info.version,
        "pid": int(info.pid),
        "started": info.started,
        "drivers": list(info.drivers),
        "counters": {k: int(v) for k, v in sorted(info.counters.items())},
        "sessions_open": int(info.sessions_open),
        "jobs_running": int(info.jobs_running),
        "listen": info.listen,
    }


@dataclass
class ExecuteOutcome:
    ok: bool
    job_id: str
    results: list[dict[str, Any]]
    meta: dict[str, Any]
    config: dict[str, Any] | None


@dataclass
class TargetOutcome:
    name: str
    ok: bool
    results: list[dict[str, Any]]
    meta: dict[str, Any]
    config: dict[str, Any] | None
    error: str
    error_code: str


@dataclass
class BulkOutcome:
    job_id: str = ""
    targets: dict[str, TargetOutcome] = field(default_factory=dict)
    succeeded: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    cancelled: int = 0
    elapsed_ms: float = 0.0
