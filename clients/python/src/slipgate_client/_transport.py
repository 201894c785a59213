"""Base URLs checked before any connection, and the real cause of a request that got no answer
(refused, unknown host, TLS verification), as the Rust SDK names them.

httpx reports these as ``ConnectError``; the cause is the exception it was raised from
(``ConnectionRefusedError``, ``socket.gaierror``, ``ssl.SSLCertVerificationError``).
"""

from __future__ import annotations

import socket
import ssl
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from cryptography import x509

from .errors import (
    ConnectionRefused,
    InvalidUrl,
    TlsVerificationError,
    TransportError,
    UnknownHost,
)

Service = Literal["api", "idp"]
_SHORT = {"api": "API", "idp": "identity server"}
DESCRIBE = {"api": "the Slipgate API", "idp": "the identity server"}


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def parse_origin(url: str, service: Service) -> str:
    """``https://host[:port]`` for ``url``, or :class:`InvalidUrl` saying what to write instead.
    Credentials in the URL are never echoed."""

    def invalid(shown: str, why: str) -> InvalidUrl:
        return InvalidUrl("invalid_url", f"invalid {_SHORT[service]} URL {shown!r}: {why}")

    raw = url.strip()
    if "://" not in raw:
        raise invalid(raw, f"no scheme: write https://{raw}")
    parts = urlsplit(raw)
    try:
        host, port = parts.hostname, parts.port
    except ValueError as e:
        raise invalid(raw.split("@")[-1], f"not a URL ({e})") from None
    netloc = _host(host or "") + (f":{port}" if port is not None else "")
    shown = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    root = f"https://{netloc}"
    if parts.scheme == "http":
        raise invalid(shown, f"http:// is not accepted: Slipgate speaks TLS only; write {root}")
    if parts.scheme != "https":
        raise invalid(shown, f"the scheme is {parts.scheme}: only https:// is accepted")
    if not host:
        raise invalid(shown, "no host")
    if parts.username is not None or parts.password is not None:
        raise invalid(shown, "credentials in the URL are not accepted: log in with login()")
    if parts.path not in ("", "/"):
        raise invalid(
            shown,
            f"it has the path {parts.path!r}, but {DESCRIBE[service]} answers at the root of its origin: "
            f"write {root}",
        )
    if parts.query or parts.fragment:
        raise invalid(shown, f"a query or fragment has no place in a base URL: write {root}")
    return root


def address(url: str) -> tuple[str, int]:
    """``(host, port)`` a URL connects to."""
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or 443


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def is_certificate_failure(exc: BaseException) -> bool:
    """Whether the request failed because the server's certificate did not verify."""
    return any(isinstance(c, ssl.SSLCertVerificationError) for c in _causes(exc))


def certificate_names(url: str, timeout: float) -> tuple[str | None, str | None]:
    """``(issuer, subject)`` of the certificate the server at ``url`` presents, read after its
    verification failed, for the error message only: nothing is sent over this connection and
    nothing of it is trusted. ``(None, None)`` when it cannot be read."""
    host, port = address(url)
    try:
        pem = ssl.get_server_certificate((host, port), timeout=timeout)
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (OSError, ValueError):
        return None, None
    return cert.issuer.rfc4514_string(), cert.subject.rfc4514_string()


def transport_error(
    exc: BaseException,
    url: str,
    trusted: str,
    names: tuple[str | None, str | None] = (None, None),
) -> TransportError:
    """The typed error for a request to ``url`` that raised ``exc`` before an answer arrived."""
    host, port = address(url)
    where = f"{_host(host)}:{port}"
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = cause.verify_message or cause.reason or str(cause)
            return TlsVerificationError(where, reason, issuer=names[0], subject=names[1], trusted=trusted)
        if isinstance(cause, socket.gaierror):
            return UnknownHost(host, cause.strerror or str(cause))
        if isinstance(cause, ConnectionRefusedError):
            return ConnectionRefused(where)
    return TransportError("transport", f"{type(exc).__name__} ({where}): {exc}")
