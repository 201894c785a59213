"""Typed errors, mapped from the API's RFC 9457 problem codes (SPEC §3.6) and the identity
server's RFC 6749 §5.2 errors.

Branch on the class or on ``code``, never on ``detail``. No error carries a token, a key, a
password or a salary figure: ``detail`` is the server's own text, which never echoes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "AuthError",
    "BadRequest",
    "ConnectionRefused",
    "Forbidden",
    "GrantError",
    "InvalidUrl",
    "LoginRequired",
    "NotBound",
    "RateLimited",
    "ResponseVerificationError",
    "ServerError",
    "ServerKeysChanged",
    "SlipgateError",
    "TlsVerificationError",
    "TransportError",
    "Unavailable",
    "UnknownHost",
    "ValidationFailed",
    "WrongService",
]


class SlipgateError(Exception):
    """Base of every error this package raises.

    ``code`` is the problem code (``"forbidden"``, ``"rate_limited"``, …), the RFC 6749 error
    (``"invalid_grant"``) or a client-side code (``"response_signature"``); ``status`` the HTTP
    status (0 when no answer arrived); ``request_id`` the server's ``request_id`` to quote in a
    report.
    """

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        status: int = 0,
        request_id: str | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {detail}" if status else f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.status = status
        self.request_id = request_id
        self.title = title


class AuthError(SlipgateError):
    """401: the signature layer or the token was refused (``signature_invalid``,
    ``token_invalid``, ``replayed``, …), or the identity server refused a grant."""


class GrantError(AuthError):
    """The identity server refused a grant (RFC 6749 §5.2): ``invalid_grant`` (wrong password,
    a refresh by another key), ``invalid_client``, ``invalid_request``, …"""


class LoginRequired(AuthError):
    """No usable token: never logged in, logged out, or the session ended (refresh refused)."""


class NotBound(AuthError):
    """The identity server answered a signed token request with an unbound token, so the
    device key could not be used. Refused rather than silently falling back to ``Bearer``."""


class Forbidden(SlipgateError):
    """403: ``forbidden`` (another employee's slip) or ``insufficient_scope``."""


class BadRequest(SlipgateError):
    """400, 404, 405, 406, 413, 415: ``bad_request``, ``invalid_json``, ``not_acceptable``, …"""


class ValidationFailed(SlipgateError):
    """422 ``validation_failed``; ``errors`` is the server's list of ``{field, message}``, which
    the message lists too (``… (emp_code: …; emp_name: …)``)."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        errors: list[dict[str, str]],
        status: int = 0,
        request_id: str | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__(code, detail, status=status, request_id=request_id, title=title)
        self.errors = errors
        if errors:
            fields = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
            self.args = (f"{self.args[0]} ({fields})",)


class RateLimited(SlipgateError):
    """429 ``rate_limited`` (or the identity server's login throttling) after the retry budget
    was spent; ``retry_after`` is the server's ``Retry-After`` in seconds, when it sent one."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        retry_after: float | None,
        status: int = 0,
        request_id: str | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__(code, detail, status=status, request_id=request_id, title=title)
        self.retry_after = retry_after


class Unavailable(SlipgateError):
    """503 ``auth_unavailable``, ``store_unavailable``, ``overloaded`` (or the identity server's
    ``temporarily_unavailable``) after the retry budget was spent."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        retry_after: float | None,
        status: int = 0,
        request_id: str | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__(code, detail, status=status, request_id=request_id, title=title)
        self.retry_after = retry_after


class ServerError(SlipgateError):
    """Any other status (500 ``internal``, an unexpected answer)."""


class TransportError(SlipgateError):
    """No answer: connection refused, TLS failure, timeout. ``status`` is 0. The subclasses below
    name the causes that have a fix of their own; others (a reset, a timeout) are this class."""


class ConnectionRefused(TransportError):
    """Nothing accepted the connection: the server is down, or the URL's host or port is wrong.
    ``address`` is ``host:port``."""

    def __init__(self, address: str) -> None:
        super().__init__(
            "connection_refused",
            f"connection refused by {address}: is the server running, and is this its address and port?",
        )
        self.address = address


class UnknownHost(TransportError):
    """The URL's host name does not resolve (DNS)."""

    def __init__(self, host: str, why: str) -> None:
        super().__init__("unknown_host", f"unknown host {host!r}: the name does not resolve (DNS: {why})")
        self.host = host


class TlsVerificationError(TransportError):
    """The server's certificate failed verification: issued by a CA the client does not trust,
    expired, or not valid for the host. ``issuer`` and ``subject`` (RFC 4514) are the
    certificate's, when it could be read; ``trusted`` says what it was checked against."""

    def __init__(
        self,
        address: str,
        reason: str,
        *,
        issuer: str | None,
        subject: str | None,
        trusted: str,
    ) -> None:
        names = ""
        if issuer is not None:
            names = f" (subject `{subject}`, issued by `{issuer}`)" if subject else f" (issued by `{issuer}`)"
        super().__init__(
            "tls_verification",
            f"TLS verification of {address} failed: the server's certificate{names} was checked against "
            f"{trusted}: {reason}",
        )
        self.address = address
        self.reason = reason
        self.issuer = issuer
        self.subject = subject
        self.trusted = trusted


class InvalidUrl(SlipgateError, ValueError):
    """A base URL that cannot name a Slipgate service: not ``https://``, or with a path, query,
    fragment or credentials. Raised by the constructor, before any connection."""


class WrongService(SlipgateError):
    """The URL given for one service answers like the other: the identity server's URL used as
    the API's (it answers unsigned OAuth errors) or the API's as the identity server's (it
    answers Slipgate problems). ``expected`` and ``found`` name the two."""

    def __init__(self, url: str, expected: str, found: str, evidence: str, *, status: int = 0) -> None:
        super().__init__(
            "wrong_service", f"{url} looks like {found}, not {expected}: {evidence}", status=status
        )
        self.expected = expected
        self.found = found


class ResponseVerificationError(SlipgateError):
    """The answer's signature (SPEC §3.8) is missing or wrong: it was changed in transit, it
    answers another request, or it does not come from the API. Nothing of it is returned."""


class ServerKeysChanged(ResponseVerificationError):
    """The answer is signed by a key outside the pinned set and the API now serves another set:
    an announced key rotation (pin again) or a man in the middle."""


_FAMILY: dict[int, type[SlipgateError]] = {
    400: BadRequest,
    401: AuthError,
    403: Forbidden,
    404: BadRequest,
    405: BadRequest,
    406: BadRequest,
    413: BadRequest,
    415: BadRequest,
}


def from_problem(status: int, problem: Mapping[str, Any], retry_after: float | None) -> SlipgateError:
    """The typed error for an RFC 9457 problem body (already parsed JSON)."""
    code = _text(problem.get("code")) or f"http_{status}"
    detail = _text(problem.get("detail")) or _text(problem.get("title")) or "no detail"
    request_id, title = _text(problem.get("request_id")), _text(problem.get("title"))
    if status == 422:
        raw = problem.get("errors")
        errors = [
            {"field": str(e.get("field", "")), "message": str(e.get("message", ""))}
            for e in (raw if isinstance(raw, list) else [])
            if isinstance(e, dict)
        ]
        return ValidationFailed(
            code, detail, errors=errors, status=status, request_id=request_id, title=title
        )
    if status == 429:
        return RateLimited(
            code, detail, retry_after=retry_after, status=status, request_id=request_id, title=title
        )
    if status == 503:
        return Unavailable(
            code, detail, retry_after=retry_after, status=status, request_id=request_id, title=title
        )
    return _FAMILY.get(status, ServerError)(code, detail, status=status, request_id=request_id, title=title)


def from_grant_error(status: int, body: Mapping[str, Any], retry_after: float | None) -> SlipgateError:
    """The typed error for an RFC 6749 §5.2 answer of the identity server."""
    code = _text(body.get("error")) or f"http_{status}"
    detail = _text(body.get("error_description")) or code
    if status == 429:
        return RateLimited(code, detail, retry_after=retry_after, status=status)
    if status == 503:
        return Unavailable(code, detail, retry_after=retry_after, status=status)
    if status >= 500:
        return ServerError(code, detail, status=status)
    return GrantError(code, detail, status=status)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
