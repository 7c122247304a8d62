"""Which SSH credentials of the service a client may use, and how host keys are checked.

A shared tetherd must not act as a confused deputy: a client names a key *file*
and the service reads it with its own rights, and netmiko's ``use_keys`` /
``allow_agent`` would hand a target the service user's own keys and agent.
The operator decides (Settings, docs/security.md):

- ``key_dirs``: the only directories key files may come from (resolved with
  realpath: no symlink or ``..`` escape). On a TCP listener with none set, no
  key file is accepted; on the private unix socket (the service runs as the
  caller) any file is, unless ``key_dirs`` is set.
- ``allow_service_keys``: the service user's own keys (~/.ssh) and SSH agent,
  and the ``use_keys`` / ``allow_agent`` driver options; off by default.
- ``host_key_policy`` with ``known_hosts``: ``strict`` (unknown or changed key:
  refused), ``accept-new`` (an unknown host's key is recorded, a changed one
  refused) or ``off``.

The server sets the policy once from Settings (:func:`configure`); it never
comes from a request. paramiko is imported only when a session opens (the
netmiko driver imports it first, without ``invoke``).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .contract import AuthFailed, ConnectionSpec

SERVICE_KEY_OPTIONS = ("use_keys", "allow_agent")


class KeyPolicyRefused(AuthFailed):
    """The request asks for a key or an agent the operator has not allowed (PERMISSION_DENIED)."""


class HostKeyRejected(AuthFailed):
    """The device's host key is unknown (strict) or differs from the recorded one (PERMISSION_DENIED)."""


@dataclass(frozen=True)
class SshPolicy:
    key_dirs: tuple[str, ...] = ()
    restrict_key_files: bool = False
    allow_service_keys: bool = False
    known_hosts: str = ""
    host_key_policy: str = "accept-new"

    @classmethod
    def from_settings(cls, settings: Any) -> SshPolicy:
        return cls(
            key_dirs=tuple(os.path.realpath(d) for d in settings.key_dirs),
            restrict_key_files=bool(settings.key_dirs) or not settings.is_unix,
            allow_service_keys=settings.allow_service_keys,
            known_hosts=str(settings.known_hosts_path),
            host_key_policy=settings.host_key_policy,
        )


_current = SshPolicy()
_known_hosts_lock = threading.Lock()


def configure(policy: SshPolicy) -> None:
    global _current
    _current = policy


def current() -> SshPolicy:
    return _current


def allowed_key_file(path: str, policy: SshPolicy | None = None) -> str:
    """``path`` resolved, if the policy allows it; else KeyPolicyRefused naming the field."""
    policy = policy or _current
    resolved = os.path.realpath(os.path.expanduser(path))  # netmiko expands "~" too
    if not policy.restrict_key_files:
        return resolved
    shown = path[:200]
    for directory in policy.key_dirs:
        if os.path.commonpath([directory, resolved]) == directory:
            return resolved
    where = f"the directories in key_dirs ({', '.join(policy.key_dirs)})" if policy.key_dirs else "key_dirs (none set)"
    raise KeyPolicyRefused(f"connection.private_key_file {shown!r} is not inside {where}: send the key as private_key")


def check_options(options: Mapping[str, Any], policy: SshPolicy | None = None) -> None:
    policy = policy or _current
    asked = [name for name in SERVICE_KEY_OPTIONS if options.get(name)]
    if asked and not policy.allow_service_keys:
        raise KeyPolicyRefused(
            f"option {asked[0]!r} would use this service's own SSH keys or agent; "
            "the operator has not allowed it (allow_service_keys)"
        )


def fingerprint(key: Any) -> str:
    return f"{key.get_name()} {key.fingerprint}"


def _record(path: str, hostname: str, key: Any) -> None:
    """Append one known_hosts line (file 0600; a lock keeps concurrent logins from interleaving)."""
    line = f"{hostname} {key.get_name()} {key.get_base64()}\n"
    with _known_hosts_lock:
        Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(descriptor, "a") as known:
            fcntl.flock(known, fcntl.LOCK_EX)
            known.write(line)


def _missing_host_key_policy(policy: SshPolicy) -> Any:
    import paramiko

    class Strict(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
        def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
            raise HostKeyRejected(
                f"{hostname}: host key {fingerprint(key)} is not in {policy.known_hosts} "
                "(host_key_policy strict): add it there if it is this device's key"
            )

    class AcceptNew(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
        def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
            client.get_host_keys().add(hostname, key.get_name(), key)
            if policy.known_hosts:  # a driver used in-process with no settings has no file to keep keys in
                _record(policy.known_hosts, hostname, key)

    if policy.host_key_policy == "strict":
        return Strict()
    if policy.host_key_policy == "accept-new":
        return AcceptNew()
    return paramiko.AutoAddPolicy()


def apply(conn: Any, spec: ConnectionSpec, policy: SshPolicy | None = None) -> None:
    """Set a netmiko connection (built with auto_connect=False) to the policy before it connects."""
    import paramiko

    from ..logs import join_multiline_logs

    policy = policy or _current
    join_multiline_logs(paramiko.Transport)
    if not policy.allow_service_keys:
        # netmiko turns use_keys into paramiko's look_for_keys, which also tries ~/.ssh/id_*:
        # a key file given by the request is still used (key_filename), nothing else.
        conn.use_keys = False
        conn.allow_agent = False
    conn.system_host_keys = False
    if policy.host_key_policy == "off" or not policy.known_hosts:
        conn.alt_host_keys = False  # nothing to check against (a driver used in-process with no settings)
    else:
        conn.alt_host_keys = True
        conn.alt_key_file = policy.known_hosts
    conn.key_policy = _missing_host_key_policy(policy)


def host_key_failure(spec: ConnectionSpec, exc: BaseException, policy: SshPolicy | None = None) -> AuthFailed | None:
    """The host-key refusal inside ``exc``'s chain (netmiko wraps paramiko's), with host and fingerprints."""
    import paramiko

    policy = policy or _current
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, HostKeyRejected):
            return cause
        if isinstance(cause, paramiko.BadHostKeyException):
            return HostKeyRejected(
                f"{spec.target}: host key mismatch: the device presented {fingerprint(cause.key)}, "
                f"{policy.known_hosts} records {fingerprint(cause.expected_key)}; "
                "if the device's key really changed, remove its old line from known_hosts"
            )
        cause = cause.__cause__ or cause.__context__
    return None
