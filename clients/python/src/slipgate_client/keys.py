"""Signing keys: the device key a login binds the token to, and registry keys for service clients.

- :class:`DeviceKey` is an Ed25519 key this client makes itself (SPEC §4, signed token requests).
  By default it lives in memory only and dies with the client; :meth:`DeviceKey.load_or_create`
  keeps it in a PKCS#8 PEM file created with mode 0600 (its directory 0700), so a later process
  can refresh the same bound session. Whoever reads that file can use the token: keep it private.
- :class:`RegistryKey` is a key registered in the API's ``signature.keys`` (``slipgate keys new``):
  ``key_id`` plus an HMAC secret, or a PKCS#8 Ed25519/P-256 private key file.

``repr`` never shows key material.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

__all__ = ["DeviceKey", "RegistryKey", "SigningKey", "verify_ed25519"]


class SigningKey(Protocol):
    """Anything that signs a signature base under an RFC 9421 algorithm name."""

    @property
    def alg(self) -> str: ...

    def sign(self, base: bytes) -> bytes: ...


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class _Hmac:
    alg = "hmac-sha256"

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("an HMAC secret must be at least 32 bytes")
        self._secret = secret

    def sign(self, base: bytes) -> bytes:
        return hmac.new(self._secret, base, hashlib.sha256).digest()

    def __repr__(self) -> str:
        return "HmacSha256(<redacted>)"


class _Ed25519:
    alg = "ed25519"

    def __init__(self, key: ed25519.Ed25519PrivateKey) -> None:
        self._key = key

    def sign(self, base: bytes) -> bytes:
        return self._key.sign(base)

    def __repr__(self) -> str:
        return "Ed25519(<redacted>)"


class _P256:
    alg = "ecdsa-p256-sha256"

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("an ECDSA key must be on P-256")
        self._key = key

    def sign(self, base: bytes) -> bytes:
        # RFC 9421 §3.3.4: r‖s, 32 bytes each, not DER.
        r, s = decode_dss_signature(self._key.sign(base, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def __repr__(self) -> str:
        return "EcdsaP256Sha256(<redacted>)"


def _load_private_pem(pem: bytes, shown: str) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{shown} is not an unencrypted PKCS#8 private key: {e}") from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return _Ed25519(key)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return _P256(key)
    raise ValueError(f"{shown} holds neither an Ed25519 nor a P-256 key")


class RegistryKey:
    """A key from the API's registry (SPEC §3.2), for service clients and ``Bearer`` tokens.

    Give exactly one of ``hmac_secret`` (the raw bytes, or the base64 text that
    ``slipgate keys new`` writes to ``<id>.secret``), ``secret_file`` or ``private_key_file``
    (PKCS#8 PEM, Ed25519 or P-256).
    """

    def __init__(
        self,
        key_id: str,
        *,
        hmac_secret: bytes | str | None = None,
        secret_file: str | os.PathLike[str] | None = None,
        private_key_file: str | os.PathLike[str] | None = None,
    ) -> None:
        given = [x for x in (hmac_secret, secret_file, private_key_file) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of hmac_secret, secret_file, private_key_file")
        if not key_id or len(key_id) > 128 or not key_id.isascii() or not key_id.isprintable():
            raise ValueError("key_id must be 1-128 printable ASCII characters")
        self.key_id = key_id
        self._key: SigningKey
        if private_key_file is not None:
            self._key = _load_private_pem(Path(private_key_file).read_bytes(), str(private_key_file))
            return
        if secret_file is not None:
            hmac_secret = Path(secret_file).read_text(encoding="ascii")
        if isinstance(hmac_secret, str):
            try:
                hmac_secret = base64.b64decode(hmac_secret.strip(), validate=True)
            except ValueError:
                raise ValueError("the HMAC secret is not base64") from None
        assert isinstance(hmac_secret, bytes)
        self._key = _Hmac(hmac_secret)

    @property
    def alg(self) -> str:
        return self._key.alg

    def sign(self, base: bytes) -> bytes:
        return self._key.sign(base)

    def __repr__(self) -> str:
        return f"RegistryKey(key_id={self.key_id!r}, alg={self.alg!r})"


class DeviceKey:
    """The client's own Ed25519 key; a login binds the token to it (``cnf.htsk``)."""

    alg = "ed25519"

    def __init__(self, key: ed25519.Ed25519PrivateKey, path: Path | None = None) -> None:
        self._key = key
        self.path = path
        """The file holding it, or ``None`` when it lives in memory only."""

    @classmethod
    def generate(cls) -> DeviceKey:
        """A fresh key, in memory only."""
        return cls(ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: str | os.PathLike[str]) -> DeviceKey:
        """The key in ``path`` (PKCS#8 PEM), or a new one written there with mode 0600.

        The directory is created 0700 when missing. An existing file that group or others may
        read is refused, as is a symbolic link.
        """
        file = Path(path)
        if file.parent != Path() and not file.parent.exists():
            file.parent.mkdir(mode=0o700, parents=True)
        try:
            fd = os.open(file, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return cls._create(file)
        with os.fdopen(fd, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            if not stat.S_ISREG(mode) or mode & 0o077:
                raise PermissionError(f"{file} must be a regular file readable by its owner only (0600)")
            key = serialization.load_pem_private_key(f.read(), password=None)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise ValueError(f"{file} does not hold an Ed25519 key")
        return cls(key, file)

    @classmethod
    def _create(cls, file: Path) -> DeviceKey:
        key = ed25519.Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        return cls(key, file)

    def delete(self) -> None:
        """Removes the key file (``logout``); a memory-only key is simply dropped."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)

    def sign(self, base: bytes) -> bytes:
        return self._key.sign(base)

    @property
    def public_raw(self) -> bytes:
        """The 32-byte RFC 8032 public key, as the ``pub`` parameter carries it."""
        return self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def htsk(self) -> dict[str, str]:
        """The ``cnf.htsk`` a token bound to this key carries."""
        return {"alg": "ed25519", "pub": _b64url(self.public_raw)}

    @property
    def thumbprint(self) -> str:
        """RFC 7638 JWK thumbprint (what ``slipgate idp session list`` shows)."""
        jwk = {"crv": "Ed25519", "kty": "OKP", "x": _b64url(self.public_raw)}
        canonical = json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode("ascii")
        return _b64url(hashlib.sha256(canonical).digest())

    def __repr__(self) -> str:
        where = str(self.path) if self.path else "memory"
        return f"DeviceKey(thumbprint={self.thumbprint!r}, in={where!r})"


def verify_ed25519(public_raw: bytes, signature: bytes, base: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``base`` under ``public_raw``."""
    if len(public_raw) != 32 or len(signature) != 64:
        return False
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, base)
    except InvalidSignature:
        return False
    return True
