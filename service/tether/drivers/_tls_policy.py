"""Whether a client may ask a driver to skip TLS certificate verification (operator's setting only).

A shared tetherd must not let a client make it trust whatever answers: with verification off, a
device's password goes to any machine that can intercept the connection. So a driver's ``verify:
false`` option works only when the operator sets ``allow_unverified_tls`` (Settings, docs/security.md);
otherwise it is refused (PERMISSION_DENIED) before connecting. The server sets the policy once at
start (:func:`configure`); nothing in a request changes it. No heavy imports: the server imports this.
"""

from __future__ import annotations

from .contract import AuthFailed


class UnverifiedTlsRefused(AuthFailed):
    """The request asks to skip certificate checks and the operator has not allowed it (PERMISSION_DENIED)."""


_allow_unverified = False


def configure(allow_unverified_tls: bool) -> None:
    global _allow_unverified
    _allow_unverified = allow_unverified_tls


def check_unverified(what: str) -> None:
    if not _allow_unverified:
        raise UnverifiedTlsRefused(
            f"{what} would skip TLS certificate verification; the operator has not allowed it "
            "(allow_unverified_tls): give the device's certificate as ca_cert instead"
        )
