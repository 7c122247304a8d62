"""Settings for tetherd: defaults, then a TOML file, then TETHER_* variables, then flags.

The default listener is the embedded one: a unix socket in a private per-user
runtime directory (directory 0700, socket 0600). TCP is opt-in and refuses to
start without TLS and a bearer token.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "TETHER_"
HOST_KEY_POLICIES = ("strict", "accept-new", "off")


class ConfigError(ValueError):
    pass


def runtime_dir() -> Path:
    """The private per-user directory holding the default socket."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and os.access(base, os.W_OK):
        return Path(base) / "tether"
    return Path(f"/tmp/tether-{os.getuid()}")


def default_socket() -> Path:
    return runtime_dir() / "tetherd.sock"


def default_endpoint() -> str:
    return f"unix:{default_socket()}"


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "tether"


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` 0700, or check that an existing one is ours and private.

    A directory in /tmp could have been made by another user to capture the
    socket; refuse to use one that is not owned by us or is open to others.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"{path} is not a directory")
    if info.st_uid != os.getuid():
        raise ConfigError(f"{path} belongs to uid {info.st_uid}, not to this user: refusing to use it")
    if info.st_mode & 0o077:
        path.chmod(0o700)


@dataclass
class Settings:
    listen: str = ""  # "unix:/path" or "host:port"; empty: the default unix socket
    token: str = dataclasses.field(default="", repr=False)
    token_file: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    tls_client_ca: str = ""  # when set, clients must present a certificate signed by it
    state_dir: str = ""
    max_sessions: int = 1000
    idle_timeout: float = 600.0
    keepalive_seconds: float = 30.0
    connect_timeout: float = 15.0
    read_timeout: float = 30.0
    request_timeout: float = 300.0
    max_concurrency: int = 256
    bulk_concurrency: int = 32
    max_message_bytes: int = 4 * 1024 * 1024
    # The most output one command, exec (stdout + stderr) or fetched file may produce; past it the
    # call fails naming this setting, an exec channel is closed, a CLI session is replaced.
    max_output_bytes: int = 16 * 1024 * 1024
    exit_when_idle: float = 0.0  # seconds without sessions or calls before exiting; 0: never
    drain_seconds: float = 10.0
    max_jobs: int = 10_000
    log_level: str = "info"
    log_format: str = "json"
    # Security (docs/security.md). Key files a client may name; on TCP none unless listed here.
    key_dirs: list[str] = dataclasses.field(default_factory=list)  # env: colon-separated
    allow_service_keys: bool = False  # the service user's own keys and SSH agent, and the use_keys/allow_agent options
    known_hosts: str = ""  # empty: known_hosts in state_dir
    host_key_policy: str = "accept-new"  # strict | accept-new | off
    keep_config_secrets: bool = False  # results and job records keep secret config lines (logs never do)
    # PutFile may set setuid, setgid and sticky bits (file_mode above 0o777) only when true.
    allow_special_file_modes: bool = False
    # Event stream (docs/events.md): events kept for resuming watchers, by count and by age.
    event_retention: int = 100_000
    event_retention_seconds: float = 3_600.0
    max_event_watchers: int = 1_000
    # A client's verify: false (pyeapi over HTTPS) is honoured only when true (drivers/_tls_policy.py).
    allow_unverified_tls: bool = False
    # Directories napalm's "mock" platform may read canned answers from (tests); empty: mock refused.
    napalm_mock_dirs: list[str] = dataclasses.field(default_factory=list)  # env: colon-separated

    @property
    def is_unix(self) -> bool:
        return self.listen.startswith("unix:")

    @property
    def socket_path(self) -> Path:
        return Path(self.listen.removeprefix("unix:").removeprefix("//"))

    @property
    def jobs_db(self) -> Path:
        return Path(self.state_dir) / "jobs.db"

    @property
    def known_hosts_path(self) -> Path:
        return Path(self.known_hosts) if self.known_hosts else Path(self.state_dir) / "known_hosts"

    def resolved_token(self) -> str:
        if self.token:
            return self.token
        if self.token_file:
            path = Path(self.token_file)
            try:
                mode = path.stat().st_mode
                if mode & 0o077:
                    raise ConfigError(
                        f"token file {path} is open to other users (mode {stat.S_IMODE(mode):04o}): "
                        f"anyone who can read it can use the service; run chmod 600 {path}"
                    )
                return path.read_text().strip()
            except OSError as exc:
                raise ConfigError(f"cannot read token file {path}: {exc.strerror}") from None
        return ""

    def validate(self) -> None:
        if not self.is_unix:
            missing = [name for name in ("tls_cert", "tls_key") if not getattr(self, name)]
            if missing:
                raise ConfigError(f"listening on TCP ({self.listen}) requires TLS: set {' and '.join(missing)}")
            if not self.resolved_token():
                raise ConfigError(f"listening on TCP ({self.listen}) requires a bearer token: set token or token_file")
        for name in (
            "max_sessions",
            "max_concurrency",
            "bulk_concurrency",
            "max_message_bytes",
            "max_output_bytes",
            "event_retention",
            "event_retention_seconds",
            "max_event_watchers",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive")
        if self.log_format not in ("json", "text"):
            raise ConfigError("log_format must be json or text")
        if self.token_file:
            self.resolved_token()
        if self.host_key_policy not in HOST_KEY_POLICIES:
            raise ConfigError(f"host_key_policy must be one of {', '.join(HOST_KEY_POLICIES)}")
        if self.host_key_policy == "strict" and not self.known_hosts_path.is_file():
            raise ConfigError(
                f"host_key_policy strict needs a known_hosts file: {self.known_hosts_path} does not exist"
            )
        for directory in self.key_dirs:
            if not Path(directory).is_dir():
                raise ConfigError(f"key_dirs: {directory} is not a directory")


def _coerce(name: str, value: Any, kind: type) -> Any:
    try:
        if kind is list:
            if isinstance(value, str):  # from the environment: colon-separated, like PATH
                return [item for item in value.split(os.pathsep) if item]
            if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
                return list(value)
            raise TypeError(value)
        if kind is bool:
            return str(value).lower() in ("1", "true", "yes", "on")
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name}={value!r} is not a valid {kind.__name__}") from None


def load(
    config_file: str | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    environ = os.environ if environ is None else environ
    types = {f.name: list if f.default_factory is list else type(f.default) for f in fields(Settings)}
    values: dict[str, Any] = {}
    path = config_file or environ.get(f"{ENV_PREFIX}CONFIG")
    if path:
        try:
            data = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from None
        section = data.get("tetherd", data)
        unknown = set(section) - set(types)
        if unknown:
            raise ConfigError(f"unknown settings in {path}: {', '.join(sorted(unknown))}")
        values.update(section)
    for name in types:
        env_value = environ.get(ENV_PREFIX + name.upper())
        if env_value is not None and name != "listen":
            values[name] = env_value
    if environ.get(f"{ENV_PREFIX}LISTEN"):
        values["listen"] = environ[f"{ENV_PREFIX}LISTEN"]
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    settings = Settings(**{k: _coerce(k, v, types[k]) for k, v in values.items()})
    if not settings.listen:
        settings.listen = default_endpoint()
    if not settings.state_dir:
        settings.state_dir = str(state_dir())
    settings.validate()
    return settings
