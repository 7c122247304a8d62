"""tether's SSH policy and netmiko read path under napalm's SSH platforms (``ios``, ``nxos_ssh``).

napalm opens its netmiko connection itself (``NetworkDriver._netmiko_open``), so without
help it would take netmiko's host-key defaults (any key accepted) whatever the operator's
``host_key_policy``. :func:`open_with_policy` replaces that method on the device object:
the connection is built unconnected, given the same policy as the netmiko driver's
(``_ssh_policy.apply``: known_hosts, strict / accept-new / off, never the service's own
keys or agent), then logged in.

napalm runs every getter command through netmiko's ``send_command``, which polls the
channel on 25 ms sleeps and verifies the command echo first: ~90 ms per command on
a device that answers in 5, and a getter such as ``get_facts`` sends three. The
netmiko driver already reads differently (``_netmiko_fastpath``: woken by data,
ending at this device's prompt in any mode). Here napalm's netmiko connection gets
that same path for its plain calls, ``send_command(command)``; a call with any
argument of its own (an ``expect_string``, a longer ``read_timeout``, ...) keeps
netmiko's code. ``fast_cli: false`` turns it off, as it does for the netmiko driver.
"""

from __future__ import annotations

import types
from typing import Any

FAST_PLATFORMS = frozenset({"ios", "nxos_ssh"})


def open_with_policy(device: Any, spec: Any, fast: bool) -> None:
    """Make ``device.open()`` build its netmiko connection under tether's SSH policy."""
    from napalm.base import exceptions as napalm_errors  # type: ignore[import-untyped]
    from netmiko import ConnectHandler
    from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException

    from . import _netmiko_fastpath as fastpath
    from . import _ssh_policy

    def netmiko_open(self: Any, device_type: str, netmiko_optional_args: dict[str, Any] | None = None) -> Any:
        arguments = dict(netmiko_optional_args or {})
        conn = ConnectHandler(
            device_type=device_type,
            host=self.hostname,
            username=self.username,
            password=self.password,
            timeout=self.timeout,
            auto_connect=False,
            **arguments,
        )
        _ssh_policy.apply(conn, spec)
        self._netmiko_device = conn
        try:
            fastpath.open_session(conn, fast=fast)
        except NetmikoAuthenticationException as exc:
            raise napalm_errors.ConnectAuthError(f"{spec.username}@{spec.target}: authentication failed") from exc
        except NetmikoTimeoutException as exc:
            refused = _ssh_policy.host_key_failure(spec, exc)
            if refused is not None:
                raise refused from exc
            raise napalm_errors.ConnectionException(f"cannot connect to {spec.target}") from exc
        if not getattr(self, "force_no_enable", False):
            conn.enable()
        return conn

    device._netmiko_open = types.MethodType(netmiko_open, device)


def install(device: Any, read_timeout: float) -> bool:
    """Give the napalm device's netmiko connection the fast read path; False when it cannot take it."""
    from netmiko.base_connection import BaseConnection

    from . import _netmiko_fastpath as fastpath
    from .netmiko_driver import _prompt_pattern

    conn = getattr(device, "device", None)
    if not isinstance(conn, BaseConnection) or not fastpath.can_read_fast(conn):
        return False
    prompt = _prompt_pattern(conn.base_prompt, conn.find_prompt())
    netmiko_send_command = conn.send_command

    def send_command(self: BaseConnection, command_string: str, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            return netmiko_send_command(command_string, *args, **kwargs)
        return fastpath.send_command(self, command_string, prompt, read_timeout)

    conn.send_command = types.MethodType(send_command, conn)  # type: ignore[method-assign]
    return True
