"""A man in the middle: a TLS proxy presenting ``slipgate dev``'s own server certificate (so the
client trusts it, as it would trust any certificate from a CA it trusts) in front of the real API.
It passes requests through unchanged and, depending on ``mode``, changes the answers."""

from __future__ import annotations

import base64
import json
import socket
import ssl
import threading
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from slipgate_client.httpsig import Message, SignatureInput, content_digest, signature_base
from slipgate_client.verify import required_components

MODES = ("pass", "flip_body", "flip_body_fix_digest", "replay", "strip_signature", "resign")


def _read_head(sock: ssl.SSLSocket, buf: bytearray) -> bytes | None:
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    buf[:] = rest
    return head


def _headers(head: bytes) -> list[tuple[str, str]]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines)]


def _read_exact(sock: ssl.SSLSocket, buf: bytearray, n: int) -> bytes:
    while len(buf) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("short body")
        buf += chunk
    out = bytes(buf[:n])
    buf[:] = buf[n:]
    return out


def _read_body(sock: ssl.SSLSocket, buf: bytearray, headers: list[tuple[str, str]]) -> bytes:
    fields = {k.lower(): v for k, v in headers}
    if "content-length" in fields:
        return _read_exact(sock, buf, int(fields["content-length"]))
    if fields.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            while b"\r\n" not in buf:
                buf += sock.recv(65536)
            size_line, _, rest = bytes(buf).partition(b"\r\n")
            buf[:] = rest
            size = int(size_line.split(b";")[0], 16)
            chunk = _read_exact(sock, buf, size + 2)
            if size == 0:
                return bytes(body)
            body += chunk[:-2]
    return b""


class Mitm:
    def __init__(self, data_dir: Path, api_url: str, ca: str) -> None:
        self.mode = "pass"
        self.upstream = api_url.removeprefix("https://").rsplit(":", 1)
        self.key = ed25519.Ed25519PrivateKey.generate()
        self.kid = "mitm-key"
        self.seen: list[int] = []
        self._last: tuple[bytes, list[tuple[str, str]], bytes] | None = None
        self._server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._server_tls.load_cert_chain(data_dir / "server.pem", data_dir / "server-key.pem")
        self._client_tls = ssl.create_default_context(cafile=ca)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"https://127.0.0.1:{self._listener.getsockname()[1]}"
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stop = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with self._server_tls.wrap_socket(conn, server_side=True) as client:
                raw = socket.create_connection((self.upstream[0], int(self.upstream[1])), timeout=30)
                with self._client_tls.wrap_socket(raw, server_hostname=self.upstream[0]) as up:
                    cbuf, ubuf = bytearray(), bytearray()
                    while True:
                        head = _read_head(client, cbuf)
                        if head is None:
                            return
                        headers = _headers(head)
                        body = _read_body(client, cbuf, headers)
                        if self.mode == "resign" and head.startswith(b"GET /.well-known/slipgate-keys"):
                            client.sendall(self._own_keys())
                            continue
                        up.sendall(head + b"\r\n\r\n" + body)
                        rhead = _read_head(up, ubuf)
                        if rhead is None:
                            return
                        rheaders = _headers(rhead)
                        rbody = _read_body(up, ubuf, rheaders)
                        self.seen.append(int(rhead.split(b" ")[1]))
                        client.sendall(self._answer(head, headers, rhead, rheaders, rbody))
        except (OSError, ConnectionError, ValueError):
            return

    def _own_keys(self) -> bytes:
        x = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        jwk = {
            "kty": "OKP",
            "crv": "Ed25519",
            "kid": self.kid,
            "alg": "EdDSA",
            "x": base64.urlsafe_b64encode(x).rstrip(b"=").decode(),
        }
        body = json.dumps({"keys": [jwk]}).encode()
        return (
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )

    def _answer(
        self,
        request_head: bytes,
        request_headers: list[tuple[str, str]],
        head: bytes,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> bytes:
        status_line = head.split(b"\r\n")[0]
        status = int(status_line.split(b" ")[1])
        mode = self.mode
        headers = [(k, v) for k, v in headers if k.lower() not in ("content-length", "transfer-encoding")]
        current = (status_line, headers, body)
        if request_head.startswith(b"POST "):  # replay an earlier slip, not the key set
            if mode == "replay" and self._last is not None:
                status_line, headers, body = self._last
            self._last = current
        if mode in ("flip_body", "flip_body_fix_digest") and body:
            # A salary figure changed: the first digit in the body becomes another one.
            i = next(i for i, b in enumerate(body) if 0x30 <= b <= 0x39)
            body = body[:i] + bytes([0x30 + (body[i] - 0x30 + 1) % 10]) + body[i + 1 :]
            if mode == "flip_body_fix_digest":
                headers = [
                    (k, content_digest(body) if k.lower() == "content-digest" else v) for k, v in headers
                ]
        if mode == "strip_signature":
            headers = [(k, v) for k, v in headers if k.lower() not in ("signature", "signature-input")]
        if mode == "resign":
            headers = self._resign(request_head, request_headers, status, headers, body)
        lines = [status_line] + [f"{k}: {v}".encode("latin-1") for k, v in headers]
        lines.append(b"content-length: " + str(len(body)).encode())
        return b"\r\n".join(lines) + b"\r\n\r\n" + body

    def _resign(
        self,
        request_head: bytes,
        request_headers: list[tuple[str, str]],
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> list[tuple[str, str]]:
        method, target = request_head.split(b" ")[:2]
        host = next(v for k, v in request_headers if k.lower() == "host")
        request = Message(request_headers, method=method.decode(), url=f"https://{host}{target.decode()}")
        headers = [(k, v) for k, v in headers if k.lower() not in ("signature", "signature-input")]
        sig = SignatureInput(
            tuple(required_components("sig1")),
            (("created", int(time.time())), ("keyid", self.kid), ("alg", "ed25519")),
        )
        base = signature_base(sig, Message(headers, status=status, request=request))
        value = base64.b64encode(self.key.sign(base)).decode()
        return [*headers, ("Signature-Input", f"res={sig.serialize()}"), ("Signature", f"res=:{value}:")]
