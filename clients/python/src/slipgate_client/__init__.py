"""Slipgate's Python SDK: signed requests (RFC 9421), key-bound tokens, verified answers.

Quick start (``slipgate dev`` running, its data directory in ``dev``)::

    from slipgate_client import Client
    with Client(api_url, idp_url, ca="dev/ca.pem") as client:
        client.login("alice", password)
        slip = client.generate(emp_id="01234", emp_code="ENG", emp_name="Alice Example",
                               emp_grade="7.1", working_days=24)
        print(slip["net_pay"])  # a decimal.Decimal

See README.md and docs/wire-protocol.md in the Slipgate repository.
"""

from ._version import __version__
from .client import AsyncClient, Client
from .errors import (
    AuthError,
    BadRequest,
    ConnectionRefused,
    Forbidden,
    GrantError,
    InvalidUrl,
    LoginRequired,
    NotBound,
    RateLimited,
    ResponseVerificationError,
    ServerError,
    ServerKeysChanged,
    SlipgateError,
    TlsVerificationError,
    TransportError,
    Unavailable,
    UnknownHost,
    ValidationFailed,
    WrongService,
)
from .keys import DeviceKey, RegistryKey
from .verify import ServerKeys

__all__ = [
    "AsyncClient",
    "AuthError",
    "BadRequest",
    "Client",
    "ConnectionRefused",
    "DeviceKey",
    "Forbidden",
    "GrantError",
    "InvalidUrl",
    "LoginRequired",
    "NotBound",
    "RateLimited",
    "RegistryKey",
    "ResponseVerificationError",
    "ServerError",
    "ServerKeys",
    "ServerKeysChanged",
    "SlipgateError",
    "TlsVerificationError",
    "TransportError",
    "Unavailable",
    "UnknownHost",
    "ValidationFailed",
    "WrongService",
    "__version__",
]
