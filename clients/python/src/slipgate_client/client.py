"""``Client`` (httpx, blocking) and ``AsyncClient`` (httpx, asyncio): the same operations, run by
two small drivers over :mod:`slipgate_client._session`.

Security defaults: TLS only, verified against ``ca`` (or the system store); every answer's
signature verified (SPEC §3.8) against server keys pinned on first use, unless ``server_keys``
names them; every request signed afresh, retries and refreshes included (new ``created`` and
``nonce``). Passwords are sent once to the identity server and never stored.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

import httpx

from ._session import (
    MAX_BODY,
    Acquire,
    Failed,
    Flow,
    Format,
    Release,
    Reply,
    Send,
    Session,
    Sleep,
    Slip,
    default_clock,
    headers_of,
)
from ._transport import certificate_names, is_certificate_failure, transport_error
from ._version import __version__
from .keys import DeviceKey, RegistryKey
from .verify import ServerKeys

__all__ = ["AsyncClient", "Client"]

log = logging.getLogger("slipgate_client")
T = TypeVar("T")
_Self = TypeVar("_Self", bound="_Base")
# The digest covers the bytes as sent: no content coding, so they arrive as signed.
_HEADERS = {"Accept-Encoding": "identity", "User-Agent": f"slipgate-client-python/{__version__}"}


def _payload(
    emp_id: str,
    emp_code: str,
    emp_name: str,
    emp_grade: str,
    working_days: int,
    period: str | None,
) -> dict[str, object]:
    payload: dict[str, object] = {
        "emp_id": emp_id,
        "emp_code": emp_code,
        "emp_name": emp_name,
        "emp_grade": emp_grade,
        "working_days": working_days,
    }
    if period is not None:
        payload["pay_period"] = period
    return payload


class _Base:
    """Configuration shared by both clients.

    :param api_url: the API's origin, e.g. ``https://127.0.0.1:8443``
    :param idp_url: the identity server's origin
    :param ca: a PEM file of the CA to trust (``slipgate dev``'s ``ca.pem``); default: the
        system store
    :param registry_key: sign with this registry key and use ``Bearer`` tokens (service
        clients); without it, :meth:`login` makes a device key and gets a key-bound token
    :param device_key_file: keep the device key in this file (PKCS#8 PEM, 0600, directory 0700)
        instead of in memory only; :meth:`logout` deletes it
    :param server_keys: the API's response keys as a JWKS (mapping, JSON bytes or file path),
        trusted outright; default: pinned on first use from ``/.well-known/slipgate-keys``
    :param pin_file: where first-use pins are kept between runs (0600); default: memory
    :param dangerously_skip_response_verification: accept answers without checking their
        signature. Anyone on the path (or holding any certificate you trust) can then change
        a slip. For debugging a proxy only.
    :param retry_budget: the most seconds spent waiting out ``Retry-After`` (429, 503) per call
    :param max_retries: the most retries per call
    :param timeout: seconds per request (connect, read, write)
    :param clock: unix time source for ``created`` and token expiry
    :param client_id: the OAuth client to log in as (default: the built-in public client)
    """

    def __init__(
        self,
        api_url: str,
        idp_url: str,
        *,
        ca: str | os.PathLike[str] | None = None,
        registry_key: RegistryKey | None = None,
        device_key_file: str | os.PathLike[str] | None = None,
        server_keys: Mapping[str, Any] | bytes | str | os.PathLike[str] | None = None,
        pin_file: str | os.PathLike[str] | None = None,
        dangerously_skip_response_verification: bool = False,
        retry_budget: float = 30.0,
        max_retries: int = 3,
        timeout: float = 30.0,
        clock: Callable[[], float] = default_clock,
        client_id: str | None = None,
    ) -> None:
        if dangerously_skip_response_verification:
            if server_keys is not None or pin_file is not None:
                raise ValueError("server_keys/pin_file make no sense without response verification")
            log.warning("response signatures are NOT verified: answers can be forged in transit")
            trust = None
        elif server_keys is not None:
            if pin_file is not None:
                raise ValueError("give server_keys or pin_file, not both")
            trust = ServerKeys.fixed(server_keys)
        else:
            trust = ServerKeys.pinned(pin_file)
        if retry_budget < 0 or max_retries < 0:
            raise ValueError("retry_budget and max_retries must not be negative")
        self._session = Session(
            api_url,
            idp_url,
            registry_key=registry_key,
            device_key_file=device_key_file,
            server_keys=trust,
            retry_budget=retry_budget,
            max_retries=max_retries,
            clock=clock,
            client_id=client_id,
        )
        tls = ssl.create_default_context(cafile=os.fspath(ca) if ca else None)
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
        self._trusted = f"the CA file {os.fspath(ca)}" if ca else "the system's trusted roots"
        self._timeout = timeout
        self._connect(tls, timeout)

    def _connect(self, tls: ssl.SSLContext, timeout: float) -> None:
        raise NotImplementedError

    @property
    def server_keys(self) -> ServerKeys | None:
        """The trusted response keys (``None`` when verification is switched off)."""
        return self._session.server_keys

    @property
    def device_key(self) -> DeviceKey | None:
        """The device key once :meth:`login` made or loaded it."""
        return self._session.device_key

    @property
    def logged_in(self) -> bool:
        return self._session.tokens is not None

    @property
    def token_bound(self) -> bool:
        """Whether the current access token is key-bound (``token_type: httpsig``)."""
        return self._session.tokens is not None and self._session.tokens.bound


class Client(_Base):
    """A blocking Slipgate client. Thread-safe; use as a context manager or call :meth:`close`.

    >>> with Client(api, idp, ca="ca.pem") as client:  # doctest: +SKIP
    ...     client.login("alice", password)
    ...     slip = client.generate(emp_id="01234", emp_code="ENG", emp_name="Alice Example",
    ...                            emp_grade="7.1", working_days=24)
    """

    def _connect(self, tls: ssl.SSLContext, timeout: float) -> None:
        self._http = httpx.Client(verify=tls, timeout=timeout, follow_redirects=False, headers=_HEADERS)
        self._lock = threading.Lock()

    def _run(self, flow: Flow[T]) -> T:
        held = False
        result: object = None
        try:
            while True:
                op = flow.send(result)
                if isinstance(op, Send):
                    result = self._send(op)
                elif isinstance(op, Sleep):
                    log.info("waiting %.0f s as the server asked (Retry-After)", op.seconds)
                    time.sleep(op.seconds)
                    result = None
                elif isinstance(op, Acquire):
                    self._lock.acquire()
                    held, result = True, None
                elif isinstance(op, Release):
                    self._lock.release()
                    held, result = False, None
        except StopIteration as done:
            value: T = done.value
            return value
        finally:
            if held:
                self._lock.release()
            flow.close()

    def _send(self, op: Send) -> Reply | Failed:
        try:
            with self._http.stream(op.method, op.url, headers=op.headers, content=op.body) as r:
                body = bytearray()
                for chunk in r.iter_raw():
                    body += chunk
                    if len(body) > MAX_BODY:
                        return Failed(f"the answer is larger than {MAX_BODY} bytes")
                return Reply(r.status_code, headers_of(r.headers.raw), bytes(body))
        except httpx.HTTPError as e:
            names = certificate_names(op.url, self._timeout) if is_certificate_failure(e) else (None, None)
            return Failed(f"{type(e).__name__}: {e}", transport_error(e, op.url, self._trusted, names))

    def login(self, username: str, password: str, *, scope: str | None = None) -> None:
        """Password grant. Without a registry key: a device key (made now, or loaded from
        ``device_key_file``) and a token bound to it by a signed token request (SPEC §4)."""
        self._run(self._session.login(username, password, scope))

    def refresh(self) -> None:
        """Rotates the tokens now (also done on its own when the access token expires)."""
        self._run(self._session.refresh())

    def logout(self) -> None:
        """Revokes the session at the identity server, forgets the tokens, deletes the device key."""
        self._run(self._session.logout())

    def repin_server_keys(self) -> list[str]:
        """After an announced key rotation: pins the set the API serves now and returns its key
        ids, to compare with the announcement (``slipgate keys pin`` for the SDK)."""
        return self._run(self._session.repin())

    @overload
    def generate(
        self,
        *,
        emp_id: str,
        emp_code: str,
        emp_name: str,
        emp_grade: str,
        working_days: int,
        period: str | None = None,
        format: Literal["json"] = "json",
    ) -> dict[str, Any]: ...

    @overload
    def generate(
        self,
        *,
        emp_id: str,
        emp_code: str,
        emp_name: str,
        emp_grade: str,
        working_days: int,
        period: str | None = None,
        format: Literal["pdf"],
    ) -> bytes: ...

    def generate(
        self,
        *,
        emp_id: str,
        emp_code: str,
        emp_name: str,
        emp_grade: str,
        working_days: int,
        period: str | None = None,
        format: Format = "json",
    ) -> Slip:
        """The slip: a dict with ``decimal.Decimal`` amounts, or the PDF's bytes."""
        payload = _payload(emp_id, emp_code, emp_name, emp_grade, working_days, period)
        return self._run(self._session.generate(payload, format))

    def close(self) -> None:
        self._http.close()

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient(_Base):
    """The asyncio twin of :class:`Client`: the same arguments, ``await`` on every operation."""

    def _connect(self, tls: ssl.SSLContext, timeout: float) -> None:
        self._http = httpx.AsyncClient(verify=tls, timeout=timeout, follow_redirects=False, headers=_HEADERS)
        self._lock = asyncio.Lock()

    async def _run(self, flow: Flow[T]) -> T:
        held = False
        result: object = None
        try:
            while True:
                op = flow.send(result)
                if isinstance(op, Send):
                    result = await self._send(op)
                elif isinstance(op, Sleep):
                    log.info("waiting %.0f s as the server asked (Retry-After)", op.seconds)
                    await asyncio.sleep(op.seconds)
                    result = None
                elif isinstance(op, Acquire):
                    await self._lock.acquire()
                    held, result = True, None
                elif isinstance(op, Release):
                    self._lock.release()
                    held, result = False, None
        except StopIteration as done:
            value: T = done.value
            return value
        finally:
            if held:
                self._lock.release()
            flow.close()

    async def _send(self, op: Send) -> Reply | Failed:
        try:
            async with self._http.stream(op.method, op.url, headers=op.headers, content=op.body) as r:
                body = bytearray()
                async for chunk in r.aiter_raw():
                    body += chunk
                    if len(body) > MAX_BODY:
                        return Failed(f"the answer is larger than {MAX_BODY} bytes")
                return Reply(r.status_code, headers_of(r.headers.raw), bytes(body))
        except httpx.HTTPError as e:
            names: tuple[str | None, str | None] = (None, None)
            if is_certificate_failure(e):
                names = await asyncio.to_thread(certificate_names, op.url, self._timeout)
            return Failed(f"{type(e).__name__}: {e}", transport_error(e, op.url, self._trusted, names))

    async def login(self, username: str, password: str, *, scope: str | None = None) -> None:
        await self._run(self._session.login(username, password, scope))

    async def refresh(self) -> None:
        await self._run(self._session.refresh())

    async def logout(self) -> None:
        await self._run(self._session.logout())

    async def repin_server_keys(self) -> list[str]:
        return await self._run(self._session.repin())

    @overload
    async def generate(
        self,
        *,
        emp_id: str,
        emp_code: str,
        emp_name: str,
        emp_grade: str,
        working_days: int,
        period: str | None = None,
        format: Literal["json"] = "json",
    ) -> dict[str, Any]: ...

    @overload
    async def generate(
        self,
        *,
        emp_id: str,
        emp_code: str,
        emp_name: str,
        emp_grade: str,
        working_days: int,
        period: str | None = None,
        format: Literal["pdf"],
    ) -> bytes: ...

    async def generate(
        self,
        *,
        emp_id: str,
        emp_code: str,
        emp_name: str,
        emp_grade: str,
        working_days: int,
        period: str | None = None,
        format: Format = "json",
    ) -> Slip:
        payload = _payload(emp_id, emp_code, emp_name, emp_grade, working_days, period)
        return await self._run(self._session.generate(payload, format))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self: _Self) -> _Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert isinstance(self, AsyncClient)
        await self.aclose()
