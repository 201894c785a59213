#!/usr/bin/env python3
"""Log in to Slipgate with a key of your own and get a salary slip, from scratch.

Python 3.11+ standard library plus `cryptography` (for Ed25519). Every signature base is built
here, line by line, from RFC 9421 and docs/wire-protocol.md §10 -- not from the Slipgate SDK.
For real programs use the SDK (clients/python, `pip install clients/python`), which also pins
the server keys, refreshes tokens, retries and maps errors.

1. make an Ed25519 key (in memory; it dies with this process),
2. signed token request (SPEC §4): POST /oauth/token with the password grant, signed with
   tag="httpsig-oauth-token-request" and the raw public key in `pub`; the answer is a token
   bound to that key (token_type "httpsig", cnf.htsk),
3. bound request (SPEC §3.2.1): POST /generate/salaryslip with `Authorization: HTTPSig <token>`,
   signed with tag="httpsig-oauth" and no keyid/alg/pub,
4. check the answer's Content-Digest and its signature (SPEC §3.8) against the keys the API
   publishes at /.well-known/slipgate-keys, then print the slip.

Against `slipgate dev` (reads the URLs, the CA file and alice's password from dev.json):

    python3 docs/examples/slipgate_login.py --dev-json .slipgate-dev/dev.json

Elsewhere (the password is read from stdin, never from the command line):

    python3 docs/examples/slipgate_login.py --api https://api.example:8443 \
        --idp https://idp.example:8444 --cacert ca.pem --username alice --password-stdin

Print the signed token request and bound request of docs/wire-protocol.md §10 instead:

    python3 docs/examples/slipgate_login.py --show-example \
        --key crates/test-support/fixtures/rfc9421/test-key-ed25519.key.pem
"""

import argparse
import base64
import hashlib
import json
import secrets
import ssl
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519


def b64(raw):
    return base64.b64encode(raw).decode("ascii")


def digest(body):
    """RFC 9530 Content-Digest, SHA-256 over the exact body bytes."""
    return "sha-256=:" + b64(hashlib.sha256(body).digest()) + ":"


def target_uri(url):
    """RFC 9421 @target-uri: scheme://host[:port]/path?query, host lowercased, no :443."""
    parts = urlsplit(url)
    host = parts.hostname.lower()
    port = "" if parts.port in (None, 443) else f":{parts.port}"
    return f"https://{host}{port}{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")


def sign(key, lines, params):
    """RFC 9421 §2.5: the component lines, then "@signature-params", LF-joined, no final LF.
    `params` is the inner list exactly as it goes into Signature-Input after `sig1=`."""
    base = "\n".join([*lines, f'"@signature-params": {params}']).encode("ascii")
    return base, "sig1=:" + b64(key.sign(base)) + ":"


def token_request(key, url, body, created, nonce):
    """The fields of a signed token request (draft-richer-oauth-httpsig-03 §2.3)."""
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    content_digest = digest(body)
    params = (
        '("@method" "@target-uri" "content-digest")'
        f';created={created};nonce="{nonce}";tag="httpsig-oauth-token-request";alg="ed25519";pub=:{b64(pub)}:'
    )
    lines = ['"@method": POST', f'"@target-uri": {target_uri(url)}', f'"content-digest": {content_digest}']
    base, signature = sign(key, lines, params)
    fields = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Content-Digest": content_digest,
        "Signature-Input": f"sig1={params}",
        "Signature": signature,
    }
    return fields, base


def bound_request(key, url, token, body, created, nonce):
    """The fields of a request with a bound token (draft-richer-oauth-httpsig-03 §7)."""
    content_digest = digest(body)
    authorization = f"HTTPSig {token}"
    params = (
        '("@method" "@target-uri" "authorization" "content-type" "content-digest")'
        f';created={created};nonce="{nonce}";tag="httpsig-oauth"'
    )
    lines = [
        '"@method": POST',
        f'"@target-uri": {target_uri(url)}',
        f'"authorization": {authorization}',
        '"content-type": application/json',
        f'"content-digest": {content_digest}',
    ]
    base, signature = sign(key, lines, params)
    fields = {
        "Content-Type": "application/json",
        "Content-Digest": content_digest,
        "Authorization": authorization,
        "Signature-Input": f"sig1={params}",
        "Signature": signature,
    }
    return fields, base


def post(url, fields, body, context, accept="application/json"):
    request = urllib.request.Request(url, data=body, method="POST", headers={**fields, "Accept": accept})
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def server_keys(api, context):
    with urllib.request.urlopen(api + "/.well-known/slipgate-keys", context=context, timeout=30) as r:
        jwks = json.load(r)
    keys = {}
    for jwk in jwks["keys"]:
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
            x = jwk["x"] + "=" * (-len(jwk["x"]) % 4)
            keys[jwk["kid"]] = ed25519.Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x))
    return keys


def check_answer(status, headers, body, request_path, request_signature, keys):
    """SPEC §3.8. The API writes its Signature-Input exactly as below, so rebuilding it from the
    received text is a matter of reading created and keyid; anything else is refused."""
    if headers.get_all("Content-Digest") != [digest(body)]:
        sys.exit("refused: the answer's body does not match its Content-Digest")
    sig_input, signature = headers.get("Signature-Input", ""), headers.get("Signature", "")
    covered = ('res=("@status" "content-type" "content-digest" "@method";req "@path";req '
               '"signature";req;key="sig1");created=')
    if not sig_input.startswith(covered) or not signature.startswith("res=:"):
        sys.exit(f"refused: the answer is not signed as SPEC §3.8 says: {sig_input!r}")
    params = sig_input[len("res="):]
    created, _, rest = sig_input[len(covered):].partition(";keyid=\"")
    keyid, _, alg = rest.partition('"')
    if not created.isdigit() or alg != ';alg="ed25519"' or keyid not in keys:
        sys.exit(f"refused: unexpected signature parameters {params!r}")
    lines = [
        f'"@status": {status}',
        f'"content-type": {headers.get("Content-Type")}',
        f'"content-digest": {digest(body)}',
        '"@method";req: POST',
        f'"@path";req: {request_path}',
        f'"signature";req;key="sig1": {request_signature[len("sig1="):]}',
        f'"@signature-params": {params}',
    ]
    try:
        keys[keyid].verify(base64.b64decode(signature[len("res=:"):-1]), "\n".join(lines).encode())
    except InvalidSignature:
        sys.exit("refused: the answer's signature does not verify")


def show_example(key_file):
    with open(key_file, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    form = b"grant_type=password&username=alice&password=example-password&scope=salaryslip%3Aself"
    fields, base = token_request(key, "https://127.0.0.1:8444/oauth/token", form, 1767225600,
                                 "b3k2pp5k7z-50gnX1b06")
    print("--- signed token request ---")
    for name, value in fields.items():
        print(f"{name}: {value}")
    print("--- its signature base ---")
    print(base.decode())
    body = (b'{"emp_id":"01234","emp_code":"ENG","emp_name":"John Doe",'
            b'"emp_grade":"7.1","working_days":24}')
    fields, base = bound_request(key, "https://127.0.0.1:8443/generate/salaryslip", "example-token", body,
                                 1767225600, "k9Jyxempel2305Nmx7Rk")
    print("--- bound request ---")
    for name, value in fields.items():
        print(f"{name}: {value}")
    print("--- its signature base ---")
    print(base.decode())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dev-json", help="slipgate dev's dev.json: URLs, CA file, alice's password")
    ap.add_argument("--api", help="the API's origin, e.g. https://127.0.0.1:8443")
    ap.add_argument("--idp", help="the identity server's origin")
    ap.add_argument("--cacert", help="CA file to trust (default: the system store)")
    ap.add_argument("--username", default="alice")
    ap.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    ap.add_argument("--emp-id", default="01234")
    ap.add_argument("--emp-code", default="ENG")
    ap.add_argument("--emp-name", default="Alice Example")
    ap.add_argument("--grade", default="7.1")
    ap.add_argument("--working-days", type=int, default=24)
    ap.add_argument("--show-example", action="store_true", help="print docs/wire-protocol.md §10's example")
    ap.add_argument("--key", help="with --show-example: the Ed25519 PKCS#8 key to sign with")
    args = ap.parse_args()

    if args.show_example:
        if not args.key:
            sys.exit("--show-example needs --key")
        show_example(args.key)
        return 0
    password = None
    if args.dev_json:
        with open(args.dev_json, encoding="utf-8") as f:
            dev = json.load(f)
        args.api, args.idp, args.cacert = dev["api_url"], dev["idp_url"], dev["ca_file"]
        password = next(u["password"] for u in dev["users"] if u["username"] == args.username)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    if not (args.api and args.idp and password):
        sys.exit("give --dev-json, or --api, --idp and --password-stdin")
    context = ssl.create_default_context(cafile=args.cacert)
    context.minimum_version = ssl.TLSVersion.TLSv1_2

    key = ed25519.Ed25519PrivateKey.generate()
    token_url = args.idp.rstrip("/") + "/oauth/token"
    form = urlencode({"grant_type": "password", "username": args.username, "password": password}).encode()
    fields, _ = token_request(key, token_url, form, int(time.time()), secrets.token_hex(16))
    status, _, reply = post(token_url, fields, form, context)
    if status != 200:
        sys.exit(f"login refused: {status} {reply.decode('utf-8', 'replace')}")
    tokens = json.loads(reply)
    if tokens.get("token_type", "").lower() != "httpsig":
        sys.exit(f"the identity server did not bind the token (token_type {tokens.get('token_type')!r})")
    print(f"logged in as {args.username}; token bound to this process's key", file=sys.stderr)

    api_url = args.api.rstrip("/") + "/generate/salaryslip"
    body = json.dumps({"emp_id": args.emp_id, "emp_code": args.emp_code, "emp_name": args.emp_name,
                       "emp_grade": args.grade, "working_days": args.working_days},
                      separators=(",", ":")).encode()
    fields, _ = bound_request(key, api_url, tokens["access_token"], body, int(time.time()),
                              secrets.token_hex(16))
    status, headers, reply = post(api_url, fields, body, context)
    check_answer(status, headers, reply, urlsplit(api_url).path, fields["Signature"],
                 server_keys(args.api.rstrip("/"), context))
    print(f"HTTP {status} (response signature verified)", file=sys.stderr)
    print(reply.decode("utf-8"))
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
