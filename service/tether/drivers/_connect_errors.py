"""What went wrong when an SSH connection could not be set up, in tether's words.

netmiko wraps every failure before login in one ``NetmikoTimeoutException`` whose text
is advice naming netmiko's own parameters (``conn_timeout``, ``device_type``) even when
nothing timed out: a peer that closes the connection at once reads as "timeout". The
cause chain (paramiko's exception, the socket error under it) says what happened; when
the peer accepted TCP but never produced an SSH banner, one short second look at the
port says what it is instead (another protocol, a server closing every connection, or
silence). That look is one TCP connection, read for at most 1 s and 256 bytes and closed
at once; at most 40 characters of the peer's first line reach the message.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Mapping

import paramiko
from paramiko.ssh_exception import IncompatiblePeer, NoValidConnectionsError

from ..security.limits import quote
from ..suggest import did_you_mean

__all__ = ["NETMIKO_TO_TETHER", "describe_connect_failure", "in_tether_words", "unknown_option"]

# netmiko's (and paramiko's) names for what tether calls otherwise: a user who knows
# netmiko reaches for these, and netmiko's own messages use them.
NETMIKO_TO_TETHER: Mapping[str, str] = {
    "conn_timeout": "connection.connect_timeout",
    "device_type": "connection.platform",
    "host": "connection.host",
    "ip": "connection.host",
    "port": "connection.port",
    "username": "connection.username",
    "password": "connection.password",
    "secret": "connection.secret",
    "key_file": "connection.private_key_file",
    "pkey": "connection.private_key",
    "keepalive": "connection.keepalive_seconds",
    "read_timeout": "operation.read_timeout",
    "expect_string": "operation.expect_prompt",
}

_PROBE_READ = 256  # bytes read from the port on the second look: enough for one banner line
_PROBE_TIMEOUT = 1.0  # seconds the second look waits at most
_QUOTED_BYTES = 40  # of the peer's first line, in the message
_BANNER_ERRORS = ("Error reading SSH protocol banner", "Indecipherable protocol version", "Invalid SSH banner")
_TELNET_IAC = 0xFF


def unknown_option(driver: str, name: str, known: Mapping[str, object]) -> str:
    """The message for an option a driver does not know: the tether field it belongs in, or the closest option."""
    listed = ", ".join(sorted(known))
    if name in NETMIKO_TO_TETHER:
        return (
            f"unknown {driver} option {quote(name)}: netmiko's {name} is {NETMIKO_TO_TETHER[name]} in tether, "
            f"not an option (options known: {listed})"
        )
    return f"unknown {driver} option {quote(name)}{did_you_mean(name, known)} (options known: {listed})"


def in_tether_words(text: str) -> str:
    """netmiko's message on one line with its parameter names replaced by tether's."""
    words = []
    for word in " ".join(text.split()).split(" "):
        core = word.strip("'\"`.,:;()")
        # Only the unmistakable names: "host" or "port" in netmiko's prose are plain English.
        renamed = "_" in core and core in NETMIKO_TO_TETHER
        words.append(word.replace(core, NETMIKO_TO_TETHER[core]) if renamed else word)
    return " ".join(words)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        yield cause
        cause = cause.__cause__ or cause.__context__


def _refused(error: BaseException) -> bool:
    if isinstance(error, NoValidConnectionsError):
        return any(isinstance(e, ConnectionRefusedError) for e in error.errors.values())
    return isinstance(error, ConnectionRefusedError)


def _printable(data: bytes) -> str:
    """The start of the peer's first line: enough to name a protocol, too little to relay a service's data."""
    line = data.split(b"\n", 1)[0].rstrip(b"\r")
    return quote(line.decode("ascii", "backslashreplace"), _QUOTED_BYTES)


def second_look(host: str, port: int, timeout: float) -> tuple[str, bool]:
    """What the port does with a fresh connection, and whether that explains the failure
    (False for silence: then a longer wait may be the answer)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as probe:
            probe.settimeout(timeout)
            data = probe.recv(_PROBE_READ)
    except ConnectionRefusedError:
        return "a second connection was refused", True
    except TimeoutError:
        return f"a second connection got nothing within {timeout:g}s either", False
    except OSError as exc:
        return f"a second connection failed too ({type(exc).__name__})", True
    if not data:
        return "a second connection was closed at once too: it is not serving SSH to this client", True
    if data.startswith(b"SSH-"):
        return (
            f"a second connection did get the SSH banner {_printable(data)}: the server may be limiting "
            "connections (e.g. OpenSSH MaxStartups) or refusing this client"
        ), True
    if data[0] == _TELNET_IAC:
        return "it speaks telnet, not SSH (a *_telnet platform, or the device's SSH port in connection.port)", True
    return (
        f"protocol mismatch: the port speaks another protocol, it sent {_printable(data)} "
        f"(is {port} the device's SSH port? connection.port)"
    ), True


def describe_connect_failure(
    exc: BaseException, host: str, port: int, connect_timeout: float, elapsed: float, probe: bool = True
) -> str:
    """One line saying what happened before login, with tether's parameter names in any hint."""
    chain = list(_chain(exc))
    if any(_refused(e) for e in chain):
        return f"connection refused: nothing listens on port {port} (connection.port)"
    resolve = next((e for e in chain if isinstance(e, socket.gaierror)), None)
    if resolve is not None:
        return f"cannot resolve host name {quote(host)} ({resolve.strerror or resolve})"
    incompatible = next((e for e in chain if isinstance(e, IncompatiblePeer)), None)
    if incompatible is not None:
        return f"SSH protocol mismatch after {elapsed:.2f}s: {incompatible} (tether speaks SSH 2.0 only)"
    banner = next(
        (e for e in chain if isinstance(e, paramiko.SSHException) and str(e).startswith(_BANNER_ERRORS)), None
    )
    if banner is not None and str(banner).startswith(("Indecipherable", "Invalid")):
        return f"SSH protocol mismatch after {elapsed:.2f}s: the peer sent no valid SSH banner ({quote(str(banner))})"
    if banner is not None:
        what, hint = _banner_failure(chain, elapsed)
    elif any("No existing session" in str(e) for e in chain):
        what = (
            f"the SSH handshake did not complete within connection.connect_timeout={connect_timeout:g}s "
            f"(gave up after {elapsed:.2f}s): the peer accepted the TCP connection but no SSH session followed"
        )
        hint = "raise connection.connect_timeout if the device is this slow"
    else:
        return _other_failure(exc, chain, connect_timeout, elapsed)
    if not probe:
        return f"{what}{'; ' + hint if hint else ''}"
    finding, explained = second_look(host, port, min(_PROBE_TIMEOUT, max(connect_timeout, 0.1)))
    return f"{what}; {finding}{'; ' + hint if hint and not explained else ''}"


def _banner_failure(chain: list[BaseException], elapsed: float) -> tuple[str, str]:
    """The peer accepted TCP, then closed, reset or stayed silent instead of sending ``SSH-2.0-...``."""
    if any(isinstance(e, ConnectionResetError) for e in chain):
        # A peer that closes with our banner unread resets instead: the same event to the user.
        return (
            f"the peer closed the connection during the SSH handshake after {elapsed:.2f}s (with a reset), "
            "before any SSH banner",
            "",
        )
    if any(isinstance(e, TimeoutError) for e in chain):
        return (
            f"no SSH banner received after {elapsed:.2f}s: the peer accepted the TCP connection but did not "
            "identify as an SSH server",
            "options.banner_timeout sets how long to wait for it",
        )
    return f"the peer closed the connection during the SSH handshake after {elapsed:.2f}s, before any SSH banner", ""


def _other_failure(exc: BaseException, chain: list[BaseException], connect_timeout: float, elapsed: float) -> str:
    tcp_stage = str(exc).lstrip().startswith("TCP connection to device failed")
    if tcp_stage and any(isinstance(e, TimeoutError) for e in chain):
        return (
            f"no TCP connection within connection.connect_timeout={connect_timeout:g}s: the host is down "
            "or a firewall drops the packets"
        )
    os_error = next((e for e in chain if isinstance(e, OSError) and e.strerror), None)
    if tcp_stage and os_error is not None:
        return f"TCP connection failed after {elapsed:.2f}s: {os_error.strerror}"
    ssh_error = next((e for e in chain if isinstance(e, paramiko.SSHException)), None)
    if ssh_error is not None:
        return f"SSH handshake failed after {elapsed:.2f}s: {in_tether_words(str(ssh_error))[:300]}"
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    # Past the handshake (netmiko also raises its timeout during login): say only what it said.
    return (
        f"could not open the session after {elapsed:.2f}s: {in_tether_words(lines[0]) if lines else type(exc).__name__}"
    )
