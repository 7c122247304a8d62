"""tether's netmiko read path under napalm's SSH platforms (``ios``, ``nxos_ssh``).

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
