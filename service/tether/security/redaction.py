"""Keeping secrets out of everything the service returns, stores and logs.

Two mechanisms, applied together by :class:`Redactor`:

- a request's own connection secrets (password, enable secret, key text) are
  replaced wherever they occur, always;
- secret-bearing configuration lines (``username x secret S``, SNMP
  communities, keys, pre-shared keys ...) keep their shape with the secret part
  replaced (``username x secret ********``), unless the operator keeps them for
  full backups (``keep_config_secrets``); logs are masked either way.

The patterns run on device output (a running configuration can be megabytes),
so each is written for linear time: one bounded context before the secret, the
secret itself last (``\\S+`` with nothing after it to backtrack into), and a
literal keyword checked with ``in`` before the pattern runs at all. docs/security.md
lists them; :func:`register_family` adds a platform family.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..drivers.contract import ConnectionSpec, ExecResult

REDACTED = "********"
DEFAULT_FAMILY = "ios"
_MIN_SECRET_LENGTH = 3
_REMEMBERED_SECRETS = 1024

# Encryption-type words that sit between a keyword and its secret (``secret 5 $1$..``, ``secret sha512 $6$..``).
_TYPE = r"(?:[0-9]{1,2}|sha512|sha256|md5|scrypt|encrypted|hashed|plaintext|cleartext|unencrypted|nthash)"
_SP = r"[ \t]{1,16}+"  # possessive, like every bounded run here: no backtracking into it
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


@dataclass(frozen=True)
class SecretPattern:
    """One kind of secret-bearing line.

    ``regex`` starts with the literal ``keyword`` (so the regex engine can skip to it instead of trying
    every position) and has a ``lead`` and a ``secret`` group. A match inside a longer word
    (``encrypted-password`` for ``password``) is left alone.
    """

    name: str
    keyword: str
    regex: re.Pattern[str]


def _pattern(name: str, keyword: str, rest: str, value: str = r"\S+") -> SecretPattern:
    regex = re.compile(f"(?P<lead>{re.escape(keyword)}{rest})(?P<secret>{value})", re.MULTILINE)
    return SecretPattern(name, keyword, regex)


_PSK_OPTIONS = rf"(?:{_SP}(?:local|remote|ascii|hex|[0-9]|address{_SP}\S{{1,255}}+{_SP}key)){{0,3}}{_SP}"
# tacacs-server key S, radius-server host H ... key 7 S, server-private H key S, crypto isakmp key S address ...
_SERVER_KEY = rf"(?:{_SP}[^ \t\r\n]{{1,255}}+){{0,8}}?{_SP}key{_SP}(?:[0-9]{_SP})?"
_IOS_PATTERNS: tuple[SecretPattern, ...] = (
    # username/enable/neighbor/line/ppp ... secret|password [type] S (not password-encryption, not "Password:")
    _pattern("secret", "secret", rf"{_SP}(?:{_TYPE}{_SP})?"),
    _pattern("password", "password", rf"{_SP}(?:{_TYPE}{_SP})?"),
    _pattern("snmp-community", "snmp-server", rf"{_SP}community{_SP}"),
    _pattern(
        "snmp-host-community",
        "snmp-server",
        rf"{_SP}host{_SP}\S{{1,255}}+{_SP}(?:(?:traps|informs){_SP})?"
        rf"(?:version{_SP}(?:1|2c){_SP})?(?!version\b|vrf\b|traps\b|informs\b)",
    ),
    _pattern("snmp-user-auth", "auth", rf"{_SP}(?:md5|sha[0-9-]{{0,4}}){_SP}"),
    _pattern("snmp-user-priv", "priv", rf"{_SP}(?:3des|des56|des|aes(?:{_SP}[0-9]{{3}})?|aes[0-9]{{3}}){_SP}"),
    _pattern("key-string", "key-string", rf"{_SP}(?:[0-9]{_SP})?"),
    _pattern("authentication-key", "authentication-key", rf"{_SP}(?:[0-9]{{1,10}}{_SP}md5{_SP}|[0-9]{_SP})?"),
    _pattern("message-digest-key", "message-digest-key", rf"{_SP}[0-9]{{1,3}}{_SP}md5{_SP}(?:[0-9]{_SP})?"),
    _pattern("pre-shared-key", "pre-shared-key", _PSK_OPTIONS),
    _pattern("wpa-psk", "wpa-psk", _PSK_OPTIONS),
    _pattern("tacacs-server-key", "tacacs-server", _SERVER_KEY),
    _pattern("radius-server-key", "radius-server", _SERVER_KEY),
    _pattern("server-private-key", "server-private", _SERVER_KEY),
    _pattern("isakmp-key", "isakmp", _SERVER_KEY),
    # "key 7 S" in a tacacs/radius server block (a key chain's bare "key 1" has no second word: left alone)
    _pattern("typed-key", "key", rf"{_SP}[0-9]{_SP}"),
)

_JUNOS_VALUE = r'"[^"\r\n]*"|[^\s";]+'
_JUNOS_PATTERNS: tuple[SecretPattern, ...] = tuple(
    _pattern(f"junos-{keyword}", keyword, rest, _JUNOS_VALUE)
    for keyword, rest in (
        ("encrypted-password", _SP),
        ("simple-password", _SP),
        ("password", _SP),
        ("secret", _SP),
        ("authentication-key", _SP),
        ("pre-shared-key", rf"{_SP}(?:ascii-text|hexadecimal){_SP}"),
        ("community", _SP),
        ("authentication-password", _SP),
        ("privacy-password", _SP),
    )
)

_FAMILIES: dict[str, tuple[SecretPattern, ...]] = {DEFAULT_FAMILY: _IOS_PATTERNS, "junos": _JUNOS_PATTERNS}
_PLATFORM_FAMILIES: list[tuple[str, str]] = [("juniper", "junos"), ("junos", "junos")]  # netmiko and napalm names
_family_lock = threading.Lock()


def register_family(name: str, patterns: Sequence[SecretPattern], platform_prefixes: Iterable[str] = ()) -> None:
    """Add (or replace) a platform family's patterns; platforms starting with a prefix use them."""
    with _family_lock:
        _FAMILIES[name] = tuple(patterns)
        for prefix in platform_prefixes:
            _PLATFORM_FAMILIES.insert(0, (prefix, name))


def family_for(platform: str) -> str:
    return next((family for prefix, family in _PLATFORM_FAMILIES if platform.startswith(prefix)), DEFAULT_FAMILY)


def _replace(match: re.Match[str]) -> str:
    start = match.start()
    if start and match.string[start - 1] in _WORD_CHARS:
        return match.group(0)
    secret = match.group("secret")
    masked = f'"{REDACTED}"' if secret.startswith('"') and len(secret) > 1 else REDACTED
    return match.group("lead") + masked


def mask_config_secrets(text: str, family: str = DEFAULT_FAMILY) -> str:
    """``text`` with the secret part of every secret-bearing configuration line replaced."""
    for pattern in _FAMILIES.get(family, _FAMILIES[DEFAULT_FAMILY]):
        if pattern.keyword in text:
            text = pattern.regex.sub(_replace, text)
    return text


def mask_all_families(text: str) -> str:
    """For text of unknown origin (log records): every family's patterns."""
    for family in list(_FAMILIES):
        text = mask_config_secrets(text, family)
    return text


class _SecretMemory:
    """The connection secrets of recent requests, so a log record can never carry one (bounded LRU)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._secrets: OrderedDict[str, None] = OrderedDict()
        self._longest_first: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def remember(self, secrets: Iterable[str]) -> None:
        with self._lock:
            added = False
            for secret in secrets:
                added = added or secret not in self._secrets
                self._secrets[secret] = None
                self._secrets.move_to_end(secret)
            while len(self._secrets) > self._size:
                self._secrets.popitem(last=False)
            if added:
                self._longest_first = tuple(sorted(self._secrets, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        for secret in self._longest_first:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


_memory = _SecretMemory(_REMEMBERED_SECRETS)
_keep_config_secrets = False


def keep_config_secrets(keep: bool) -> None:
    """The operator's choice (Settings.keep_config_secrets): results and job records keep config secrets."""
    global _keep_config_secrets
    _keep_config_secrets = keep


def scrub_log_text(text: str) -> str:
    """What a log line may say: no remembered connection secret, no secret-bearing config line."""
    return mask_all_families(_memory.scrub(text))


@dataclass(frozen=True)
class Redactor:
    """Replaces every secret of a request wherever it might surface (commands, outputs, configs, errors)."""

    secrets: tuple[str, ...] = field(default=(), repr=False)
    families: tuple[str, ...] = (DEFAULT_FAMILY,)
    mask_config: bool = True

    @classmethod
    def for_specs(cls, specs: Iterable[ConnectionSpec]) -> Redactor:
        specs = list(specs)
        found = {s for spec in specs for s in spec.secrets() if len(s) >= _MIN_SECRET_LENGTH}
        # A key's text also travels line by line (a key file printed by a command): each long line is a secret too.
        found |= {
            line.strip()
            for secret in found.copy()
            if "\n" in secret
            for line in secret.splitlines()
            if len(line.strip()) >= 16 and not line.startswith("-----")
        }
        _memory.remember(found)
        families = tuple(sorted({family_for(spec.platform) for spec in specs})) or (DEFAULT_FAMILY,)
        return cls(tuple(sorted(found, key=len, reverse=True)), families, not _keep_config_secrets)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        if self.mask_config:
            for family in self.families:
                text = mask_config_secrets(text, family)
        return text

    def redact_data(self, value: Any) -> Any:
        """Structured data (getter results, eAPI JSON) with every string, key or value, redacted."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {self(str(key)): self.redact_data(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_data(item) for item in value]
        return value

    def redact_bytes(self, data: bytes) -> bytes:
        """Connection secrets out of raw output (exec stdout/stderr); config masking needs text."""
        for secret in self.secrets:
            encoded = secret.encode()
            if encoded in data:
                data = data.replace(encoded, REDACTED.encode())
        return data


def redacted_exec(result: ExecResult, spec: ConnectionSpec) -> ExecResult:
    """An exec channel's output without the connection's own secrets (raw bytes: no config masking)."""
    redact = Redactor.for_specs([spec])
    return dataclasses.replace(
        result, stdout=redact.redact_bytes(result.stdout), stderr=redact.redact_bytes(result.stderr)
    )
