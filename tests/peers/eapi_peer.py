"""Arista eAPI for the simulated switches: patches for fake-switches' eAPI and the HTTP/unix listeners.

Imported by fakeswitch_server.py inside the simulator process (Twisted is imported lazily, so the
test process can import the patch names without a reactor). fake-switches' Arista model answers eAPI
JSON-RPC (``POST /command-api``) through ``AristaSwitchCore.get_http_resource()``; its
``SwitchHttpService`` does not return the listening port, so this module listens itself (port 0,
read back) and also on a unix socket (EOS' ``unix:/var/run/command-api.sock``).

fake-switches' eAPI checks no credentials at all; ``BasicAuthRoot`` asks for HTTP basic
authentication against the server's ``--users`` (401 otherwise), as EOS does.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from tests.peers._patching import mark as _mark

LOG = logging.getLogger("tether.fakeswitch.eapi")
STARTED = time.time()
# What `show version` reports. napalm 5's eos driver refuses EOS older than 4.23.0 in open(); the
# fields it reads have the same shape in 4.20 (the release fake-switches models, its running-config
# header says 4.20.8M) and 4.23.
EOS_VERSION = "4.23.0F"


def show_version_data(hostname: str) -> dict[str, Any]:
    """``show version`` as EOS 4.20 answers it in JSON (the fields napalm ``eos`` and pyeapi read)."""
    digest = hashlib.sha256(hostname.encode()).digest()
    mac = "52:54:00:" + ":".join(f"{b:02x}" for b in digest[:3])
    return {
        "mfgName": "Arista",
        "modelName": "vEOS",
        "hardwareRevision": "",
        "serialNumber": f"SIM{digest[3:7].hex().upper()}",
        "systemMacAddress": mac,
        "hwMacAddress": "00:00:00:00:00:00",
        "configMacAddress": "00:00:00:00:00:00",
        "version": EOS_VERSION,
        "architecture": "i686",
        "internalVersion": f"{EOS_VERSION}-fake-switches",
        "internalBuildId": "00000000-0000-0000-0000-000000000000",
        "imageFormatVersion": "1.0",
        "imageOptimization": "None",
        "bootupTimestamp": round(STARTED, 2),
        "uptime": round(time.time() - STARTED, 2),
        "memTotal": 2014424,
        "memFree": 1165616,
        "isIntlVersion": False,
    }


def show_version_text(data: dict[str, Any]) -> list[str]:
    minutes = int(data["uptime"] // 60)
    return [
        f"Arista {data['modelName']}",
        f"Hardware version:    {data['hardwareRevision']}",
        f"Serial number:       {data['serialNumber']}",
        f"System MAC address:  {data['systemMacAddress']}",
        "",
        f"Software image version: {data['version']}",
        f"Architecture:           {data['architecture']}",
        f"Internal build version: {data['internalVersion']}",
        f"Internal build ID:      {data['internalBuildId']}",
        "",
        f"Uptime:                 {minutes // 60} hours and {minutes % 60} minutes",
        f"Total memory:           {data['memTotal']} kB",
        f"Free memory:            {data['memFree']} kB",
    ]


def patch_eapi_show_version() -> None:
    """Fix: the Arista model has no ``show version`` (napalm ``eos`` runs it in ``open()``).

    Upstream bug: ``arista/command_processor/default.py`` ``do_show`` knows only ``vlan`` and
    ``interfaces`` and raises NotImplementedError for anything else; over eAPI that escapes
    ``EAPI.render_POST`` and Twisted answers HTTP 500 with an HTML page (pyeapi: "unable to connect
    to eAPI"; napalm ``eos``: open fails). The patch answers ``show version`` (and ``sh ver``) in
    both encodings: JSON with EOS' fields (modelName, version, serialNumber, systemMacAddress,
    uptime, bootupTimestamp, memTotal, memFree, ...; serial and MAC derived from the hostname) and
    EOS-style text.
    """
    from fake_switches.arista.command_processor.default import DefaultCommandProcessor
    from fake_switches.arista.eapi import JsonDisplay

    if not _mark(DefaultCommandProcessor, "eapi-show-version"):
        return
    original = DefaultCommandProcessor.do_show

    def do_show(self: Any, *args: str) -> None:
        if args and len(args[0]) >= 3 and "version".startswith(args[0]):
            data = show_version_data(self.switch_configuration.name)
            if isinstance(self.display, JsonDisplay):
                self.display.display_object = data
            else:
                for line in show_version_text(data):
                    self.write_line(line)
            return
        original(self, *args)

    DefaultCommandProcessor.do_show = do_show


def patch_eapi_errors() -> None:
    """Fix: an unknown or failing command is not an eAPI error.

    Upstream bugs in ``arista/eapi.py``: a command no processor knows (``bogus``, ``end``) is
    silently answered ``{}`` in JSON; a command the simulator fails on (``show bogus``:
    NotImplementedError; ``show`` alone: IndexError) escapes ``render_POST``, so Twisted answers
    HTTP 500 with an HTML page; a text-encoded request that fails calls ``TextDriver.format_errors``,
    which raises NotImplementedError (HTTP 500 again); a command given as ``{"cmd": ..., "input":
    ...}`` (how pyeapi sends an enable password, and eAPI's documented form) crashes the processor.
    EOS answers a JSON-RPC error, code 1002 "invalid command", with the per-command ``errors``.
    The patch makes every such command that error (both encodings), and takes ``cmd`` from the
    dict form (``input`` is ignored: the simulator asks for no input).
    """
    from fake_switches.arista.eapi import EAPI, CommandProcessorError, InvalidCommand, TextDriver

    if not _mark(EAPI, "eapi-errors"):
        return
    original = EAPI.render_POST

    def strict(factory: Callable[..., Any]) -> Callable[..., Any]:
        def make(display: Any) -> Any:
            root = factory(display=display)
            process = root.process_command

            def process_command(line: Any) -> bool:
                if isinstance(line, dict):
                    line = str(line.get("cmd", ""))
                try:
                    processed = bool(process(line))
                except CommandProcessorError:
                    raise
                except Exception as error:
                    LOG.info("simulator error on %r (answered as invalid command): %r", line, error)
                    raise InvalidCommand("Invalid input", json_data=None) from error
                if not processed and line.strip():
                    raise InvalidCommand("Invalid input", json_data=None)
                return processed

            root.process_command = process_command
            return root

        return make

    def render_POST(self: Any, request: Any) -> bytes:  # noqa: N802 - Twisted's method name
        factory = self.processor_stack_factory
        self.processor_stack_factory = strict(factory)  # one request at a time: Twisted is single-threaded
        try:
            return bytes(original(self, request))
        finally:
            self.processor_stack_factory = factory

    def format_errors(self: Any, errors: list[str], base_obj: Any) -> dict[str, Any]:
        obj = dict(base_obj or {})
        obj["errors"] = errors
        return obj

    EAPI.render_POST = render_POST
    TextDriver.format_errors = format_errors


def patch_eapi_show_hostname() -> None:
    """Fix: the Arista model has no ``show hostname`` (napalm ``eos`` ``get_facts`` runs it).

    Upstream bug: as for ``show version``, ``do_show`` raises NotImplementedError (HTTP 500). The
    patch answers ``{"hostname": NAME, "fqdn": NAME}`` in JSON and ``Hostname: NAME`` / ``FQDN: NAME``
    in text.
    """
    from fake_switches.arista.command_processor.default import DefaultCommandProcessor
    from fake_switches.arista.eapi import JsonDisplay

    if not _mark(DefaultCommandProcessor, "eapi-show-hostname"):
        return
    original = DefaultCommandProcessor.do_show

    def do_show(self: Any, *args: str) -> None:
        if args and len(args[0]) >= 4 and "hostname".startswith(args[0]):
            name = self.switch_configuration.name
            if isinstance(self.display, JsonDisplay):
                self.display.display_object = {"hostname": name, "fqdn": name}
            else:
                self.write_line(f"Hostname: {name}")
                self.write_line(f"FQDN:     {name}")
            return
        original(self, *args)

    DefaultCommandProcessor.do_show = do_show


def patch_eapi_show_running_config() -> None:
    """Fix: plain ``show running-config`` (no argument) fails on the Arista model.

    Upstream bug: ``arista/command_processor/enabled.py`` ``_show_running_config`` reads
    ``args[0]`` unguarded, so ``show running-config`` without ``all`` or ``interfaces`` raises
    IndexError (HTTP 500, or error 1002 with ``eapi-errors``); only ``show running-config all``
    works, which is what pyeapi's ``running_config`` happens to send. The patch answers the plain
    form like ``all`` (the simulator has no defaults to leave out).
    """
    from fake_switches.arista.command_processor.enabled import EnabledCommandProcessor

    if not _mark(EnabledCommandProcessor, "eapi-show-running-config"):
        return
    original = EnabledCommandProcessor._show_running_config

    def _show_running_config(self: Any, *args: str) -> None:
        original(self, *(args or ("all",)))

    EnabledCommandProcessor._show_running_config = _show_running_config


EAPI_PATCHES: dict[str, Callable[[], None]] = {
    "eapi-show-version": patch_eapi_show_version,
    "eapi-show-hostname": patch_eapi_show_hostname,
    "eapi-show-running-config": patch_eapi_show_running_config,
    "eapi-errors": patch_eapi_errors,
}


def basic_auth_root(inner: Any, users: dict[str, str]) -> Any:
    """Wrap an eAPI resource tree in HTTP basic authentication against ``users`` ({name: password})."""
    from twisted.web import resource

    class Unauthorized(resource.Resource):
        isLeaf = True  # noqa: N815 - Twisted's attribute name

        def render(self, request: Any) -> bytes:
            request.setResponseCode(401, b"Unauthorized")
            request.setHeader(b"www-authenticate", b'Basic realm="eapi"')
            request.setHeader(b"content-type", b"text/plain")
            return b"Unable to authenticate user: Bad username/password combination"

    class BasicAuthRoot(resource.Resource):
        def getChildWithDefault(self, path: bytes, request: Any) -> Any:  # noqa: N802 - Twisted's name
            if not _authorized(request.getHeader(b"authorization"), users):
                return Unauthorized()
            return inner.getChildWithDefault(path, request)

    return BasicAuthRoot()


def _authorized(header: bytes | None, users: dict[str, str]) -> bool:
    if not header or not header.startswith(b"Basic "):
        return False
    try:
        name, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except ValueError:
        return False
    return name in users and users[name] == password


def listen_eapi(reactor: Any, core: Any, host: str, port: int, socket_path: str | None, users: dict[str, str]) -> int:
    """Serve ``core``'s eAPI on ``host:port`` (0: any free port) and optionally a unix socket; return the port."""
    from twisted.web.server import Site

    site = Site(basic_auth_root(core.get_http_resource(), users))
    site.displayTracebacks = False
    listening = reactor.listenTCP(port, site, interface=host)
    if socket_path:
        # EOS' local socket needs no password (it trusts the local user); so does this one.
        reactor.listenUNIX(socket_path, Site(core.get_http_resource()), mode=0o600)
    return int(listening.getHost().port)
