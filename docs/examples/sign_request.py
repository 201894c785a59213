#!/usr/bin/env python3
"""Sign (and optionally send) a Slipgate salary-slip request with an HMAC key.

Python 3 standard library only. See docs/wire-protocol.md for the protocol.

Print the headers of the worked example (docs/wire-protocol.md §6):

    sign_request.py https://127.0.0.1:8443/generate/salaryslip \
        --key-id dev-hmac --secret AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA= \
        --token example-token --created 1767225600 --nonce q4Kj2dVbX8mNcP1a --show-base

Send a fresh request to `slipgate dev`:

    sign_request.py https://127.0.0.1:8443/generate/salaryslip --key-id dev-hmac \
        --secret "$(jq -r '.keys[0].secret_b64' .slipgate-dev/dev.json)" \
        --token "$TOKEN" --send --cacert .slipgate-dev/ca.pem

The body is the seed request below unless --body FILE (or --body - for stdin) is
given; its bytes are sent exactly as read.
"""

import argparse
import base64
import hashlib
import hmac
import secrets
import ssl
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

SEED_BODY = (b'{"emp_id":"01234","emp_code":"ENG","emp_name":"John Doe",'
             b'"emp_grade":"7.1","working_days":24}')
COMPONENTS = ("@method", "@path", "@authority", "content-type", "content-digest", "authorization")
NONCE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~+/=-")


def sf_string(value):
    """An RFC 8941 sf-string: printable ASCII, with \\ and " escaped."""
    if any(not 0x20 <= ord(c) <= 0x7E for c in value):
        raise ValueError(f"{value!r} is not printable ASCII")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def authority_of(url):
    """RFC 9421 @authority: host[:port], lowercase, default port omitted."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2].lower()
    default = {"https": ":443", "http": ":80"}.get(parts.scheme.lower())
    if default and netloc.endswith(default):
        netloc = netloc[: -len(default)]
    return netloc


def sign(url, body, keyid, secret, token, created, nonce, expires=None, method="POST"):
    """Returns (headers as an ordered list of (name, value), signature base bytes)."""
    parts = urlsplit(url)
    if parts.query:
        raise ValueError("this endpoint takes no query string")
    if not (8 <= len(nonce) <= 128 and set(nonce) <= NONCE_CHARS):
        raise ValueError("nonce must be 8-128 chars of [A-Za-z0-9._~+/=-]")
    content_type = "application/json"
    authorization = f"Bearer {token}"
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    values = {
        "@method": method.upper(),
        "@path": parts.path or "/",
        "@authority": authority_of(url),
        "content-type": content_type,
        "content-digest": digest,
        "authorization": authorization,
    }
    params = "(" + " ".join(f'"{c}"' for c in COMPONENTS) + ")"
    params += f";created={created}"
    if expires is not None:
        params += f";expires={expires}"
    params += f";nonce={sf_string(nonce)};keyid={sf_string(keyid)};alg=\"hmac-sha256\""
    lines = [f'"{c}": {values[c]}' for c in COMPONENTS]
    lines.append(f'"@signature-params": {params}')
    base = "\n".join(lines).encode("ascii")  # no trailing newline
    tag = hmac.new(secret, base, hashlib.sha256).digest()
    headers = [
        ("Host", values["@authority"]),
        ("Content-Type", content_type),
        ("Content-Digest", digest),
        ("Authorization", authorization),
        ("Signature-Input", f"sig1={params}"),
        ("Signature", "sig1=:" + base64.b64encode(tag).decode() + ":"),
    ]
    return headers, base


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url", help="e.g. https://127.0.0.1:8443/generate/salaryslip")
    ap.add_argument("--key-id", required=True, help="the keyid registered on the server")
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--secret", help="the HMAC secret, base64")
    group.add_argument("--secret-file", help="a file holding the base64 HMAC secret (as `slipgate keys new` writes)")
    ap.add_argument("--token", required=True, help="the bearer access token")
    ap.add_argument("--body", help="a file with the JSON body, or - for stdin (default: the seed request)")
    ap.add_argument("--created", type=int, help="override created (unix seconds; default: now)")
    ap.add_argument("--nonce", help="override the nonce (default: 16 random bytes, hex)")
    ap.add_argument("--expires-in", type=int, help="add expires = created + this many seconds")
    ap.add_argument("--show-base", action="store_true", help="also print the signature base")
    ap.add_argument("--send", action="store_true", help="send the request and print the response")
    ap.add_argument("--cacert", help="CA file to trust for --send (default: the system store)")
    args = ap.parse_args()

    if args.secret_file:
        with open(args.secret_file, encoding="ascii") as f:
            secret_b64 = f.read()
    else:
        secret_b64 = args.secret
    secret = base64.b64decode(secret_b64.strip(), validate=True)
    if len(secret) < 32:
        sys.exit("error: the HMAC secret must be at least 32 bytes")
    if args.body == "-":
        body = sys.stdin.buffer.read()
    elif args.body:
        with open(args.body, "rb") as f:
            body = f.read()
    else:
        body = SEED_BODY
    created = args.created if args.created is not None else int(time.time())
    nonce = args.nonce or secrets.token_hex(16)
    expires = created + args.expires_in if args.expires_in is not None else None

    headers, base = sign(args.url, body, args.key_id, secret, args.token, created, nonce, expires)
    if not args.send:
        for name, value in headers:
            print(f"{name}: {value}")
        if args.show_base:
            print("\n--- signature base ---")
            print(base.decode())
        return 0

    context = ssl.create_default_context(cafile=args.cacert)
    request = urllib.request.Request(args.url, data=body, method="POST", headers=dict(headers))
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            status, reply = response.status, response.read()
            reply_headers = response.headers
    except urllib.error.HTTPError as e:
        status, reply, reply_headers = e.code, e.read(), e.headers
    except urllib.error.URLError as e:
        sys.exit(f"error: {e.reason}")
    print(f"HTTP {status}", file=sys.stderr)
    for name in ("Content-Type", "WWW-Authenticate", "X-Request-Id"):
        if reply_headers.get(name):
            print(f"{name}: {reply_headers[name]}", file=sys.stderr)
    print(reply.decode("utf-8", "replace"))
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
