// Slipgate web console: the wire protocol in the browser (SPEC §3.2.1, §3.8, §4;
// docs/wire-protocol.md §6–§10). No framework, no dependencies: WebCrypto only.
//
// - signed token requests (tag "httpsig-oauth-token-request", alg ecdsa-p256-sha256, pub = the
//   65-byte uncompressed point as an sf-binary),
// - requests with a key-bound token (Authorization: HTTPSig, tag "httpsig-oauth"),
// - the API's response signatures (label "res", Ed25519), verified before anything is shown.
//
// The private key is generated non-extractable and kept in IndexedDB as a CryptoKey object:
// script in this page can use it to sign but can never read its bytes.
"use strict";

const SlipgateSig = (() => {
  const enc = new TextEncoder();

  function b64(bytes) {
    let s = "";
    const u = new Uint8Array(bytes);
    for (let i = 0; i < u.length; i += 1) s += String.fromCharCode(u[i]);
    return btoa(s);
  }
  function b64url(bytes) {
    return b64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function unb64(text) {
    const s = atob(text);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i += 1) out[i] = s.charCodeAt(i);
    return out;
  }
  function unb64url(text) {
    if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error("not base64url");
    const std = text.replace(/-/g, "+").replace(/_/g, "/");
    return unb64(std + "===".slice((std.length + 3) % 4));
  }
  function bytesOf(body) {
    return typeof body === "string" ? enc.encode(body) : new Uint8Array(body);
  }

  /** 16 random bytes as base64url: 22 characters of the nonce alphabet. */
  function nonce() {
    return b64url(crypto.getRandomValues(new Uint8Array(16)));
  }

  /** `sha-256=:…:` over the exact bytes (RFC 9530). */
  async function contentDigest(body) {
    const hash = await crypto.subtle.digest("SHA-256", bytesOf(body));
    return `sha-256=:${b64(hash)}:`;
  }

  /** RFC 9421 §2.2.2 @target-uri of an absolute URL: scheme://authority/path?query, no default port. */
  function targetUri(url) {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}${u.search}`;
  }

  /** The signature base: one `"name": value` line per component, then @signature-params (no LF at the end). */
  function signatureBase(components, inner) {
    const lines = components.map(([name, value]) => {
      if (/[\r\n\0]/.test(value)) throw new Error(`component ${name} holds a line break`);
      return `"${name}": ${value}`;
    });
    lines.push(`"@signature-params": ${inner}`);
    return lines.join("\n");
  }

  /** A new non-extractable ECDSA P-256 key pair (SPEC §8). */
  function generateKey() {
    return crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
  }

  /** The 65-byte uncompressed point of a public key (what `pub` carries). */
  async function rawPublic(publicKey) {
    return new Uint8Array(await crypto.subtle.exportKey("raw", publicKey));
  }

  async function signBytes(privateKey, base) {
    const algo = privateKey.algorithm.name === "Ed25519"
      ? { name: "Ed25519" }
      : { name: "ECDSA", hash: "SHA-256" }; // WebCrypto gives raw r‖s, 64 bytes: the RFC 9421 form
    return new Uint8Array(await crypto.subtle.sign(algo, privateKey, enc.encode(base)));
  }

  function algName(key) {
    return key.algorithm.name === "Ed25519" ? "ed25519" : "ecdsa-p256-sha256";
  }

  /**
   * The headers of a signed token request (SPEC §4): Content-Type, Content-Digest,
   * Signature-Input, Signature. `opts.created` and `opts.nonce` fix the values (tests).
   */
  async function tokenRequestHeaders(url, body, keyPair, opts = {}) {
    const digest = await contentDigest(body);
    const created = opts.created ?? Math.floor(Date.now() / 1000);
    const pub = b64(opts.rawPublic ?? await rawPublic(keyPair.publicKey));
    const inner = `("@method" "@target-uri" "content-digest");created=${created};nonce="${opts.nonce ?? nonce()}"`
      + `;tag="httpsig-oauth-token-request";alg="${algName(keyPair.privateKey)}";pub=:${pub}:`;
    const base = signatureBase(
      [["@method", "POST"], ["@target-uri", targetUri(url)], ["content-digest", digest]],
      inner,
    );
    const sig = await signBytes(keyPair.privateKey, base);
    return {
      base,
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "Content-Digest": digest,
        "Signature-Input": `sig1=${inner}`,
        "Signature": `sig1=:${b64(sig)}:`,
      },
    };
  }

  /**
   * The headers of an API request with a key-bound token (SPEC §3.2.1).
   * Returns the headers, the base, and the raw signature (the response binds to it).
   */
  async function boundRequestHeaders(method, url, body, token, privateKey, opts = {}) {
    const digest = await contentDigest(body);
    const created = opts.created ?? Math.floor(Date.now() / 1000);
    const authorization = `HTTPSig ${token}`;
    const contentType = opts.contentType ?? "application/json";
    const inner = `("@method" "@target-uri" "authorization" "content-type" "content-digest");created=${created}`
      + `;nonce="${opts.nonce ?? nonce()}";tag="httpsig-oauth"`;
    const base = signatureBase(
      [
        ["@method", method],
        ["@target-uri", targetUri(url)],
        ["authorization", authorization],
        ["content-type", contentType],
        ["content-digest", digest],
      ],
      inner,
    );
    const sig = await signBytes(privateKey, base);
    return {
      base,
      signature: sig,
      headers: {
        "Content-Type": contentType,
        "Content-Digest": digest,
        "Authorization": authorization,
        "Signature-Input": `sig1=${inner}`,
        "Signature": `sig1=:${b64(sig)}:`,
      },
    };
  }

  /** Parses `res=(…);params` into its components and parameters (the forms SPEC §3.8 uses). */
  function parseResponseInput(field) {
    const close = field.indexOf(")");
    if (!field.startsWith("res=(") || close < 0) throw new Error("response Signature-Input is not labelled res");
    const list = field.slice(4, close + 1);
    const paramText = field.slice(close + 1);
    if (!/^(?:;[a-z]+=(?:"[^"]*"|\d+))*$/.test(paramText)) throw new Error("response signature parameters are malformed");
    const components = [];
    const re = /"([^"]*)"((?:;[a-z]+(?:="[^"]*")?)*)/g;
    let c;
    while ((c = re.exec(list)) !== null) {
      const params = {};
      for (const p of c[2].split(";").slice(1)) {
        const [k, v] = p.split("=");
        params[k] = v === undefined ? true : v.replace(/^"|"$/g, "");
      }
      components.push({ name: c[1], params, id: `"${c[1]}"${c[2]}` });
    }
    // Nothing but those components, one space apart: what was parsed is what was signed.
    if (`(${components.map((x) => x.id).join(" ")})` !== list) throw new Error("response Signature-Input is malformed");
    const params = {};
    for (const p of paramText.split(";").slice(1)) {
      const [k, v] = p.split("=");
      params[k] = v.replace(/^"|"$/g, "");
    }
    return { inner: list + paramText, components, params };
  }

  /**
   * Verifies an API response (SPEC §3.8) before its body is used: the digest over the bytes
   * received, then the Ed25519 signature over the base rebuilt from the response and from our
   * own request (`request.method`, `request.path`, `request.signature`, label sig1). Throws on
   * anything missing or wrong. `keys` maps kid → CryptoKey.
   */
  async function verifyResponse(response, bodyBytes, request, keys, now) {
    const input = response.headers.get("signature-input");
    const sigField = response.headers.get("signature");
    const digestField = response.headers.get("content-digest");
    if (!input || !sigField || !digestField) throw new Error("the response is not signed");
    const parsed = parseResponseInput(input);
    const sm = /^res=:([A-Za-z0-9+/=]+):$/.exec(sigField);
    if (!sm) throw new Error("response Signature is malformed");
    if (parsed.params.alg !== "ed25519") throw new Error("unexpected response signature algorithm");
    const key = keys.get(parsed.params.keyid);
    if (!key) throw new Error("the response is signed by a key this console does not trust");
    const created = Number(parsed.params.created);
    if (!Number.isInteger(created) || Math.abs(now - created) > 300) throw new Error("the response signature is stale");
    const ids = parsed.components.map((c) => c.id);
    const need = ['"@status"', '"content-digest"'];
    if (response.headers.get("content-type") !== null) need.push('"content-type"');
    if (request.signature) need.push('"@method";req', '"@path";req', '"signature";req;key="sig1"');
    for (const id of need) {
      if (!ids.includes(id)) throw new Error(`the response signature does not cover ${id}`);
    }
    // The digest over what arrived.
    const dm = /(?:^|,\s*)sha-256=:([A-Za-z0-9+/=]+):/.exec(digestField);
    if (!dm) throw new Error("the response has no sha-256 digest");
    const actual = b64(await crypto.subtle.digest("SHA-256", bodyBytes));
    if (actual !== dm[1]) throw new Error("the response body does not match its digest");
    const values = parsed.components.map((c) => {
      switch (c.id) {
        case '"@status"': return [c.id, String(response.status).padStart(3, "0")];
        case '"@method";req': return [c.id, request.method];
        case '"@path";req': return [c.id, request.path];
        case '"signature";req;key="sig1"': return [c.id, `:${b64(request.signature)}:`];
        default: {
          if (Object.keys(c.params).length) throw new Error(`unsupported component ${c.id}`);
          const v = response.headers.get(c.name);
          if (v === null) throw new Error(`covered field ${c.name} is missing`);
          return [c.id, v.trim()];
        }
      }
    });
    const base = values.map(([id, v]) => `${id}: ${v}`).concat([`"@signature-params": ${parsed.inner}`]).join("\n");
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, unb64(sm[1]), enc.encode(base));
    if (!ok) throw new Error("the response signature does not verify");
    return true;
  }

  /** Imports the API's response keys (a JWKS of Ed25519 keys) for verification. */
  async function importResponseKeys(jwks) {
    const keys = new Map();
    for (const jwk of jwks.keys || []) {
      if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.kid !== "string") continue;
      const key = await crypto.subtle.importKey(
        "jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x }, { name: "Ed25519" }, false, ["verify"],
      );
      keys.set(jwk.kid, key);
    }
    return keys;
  }

  /** PKCE (RFC 7636): a 43-character verifier and its S256 challenge. */
  async function pkce() {
    const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
    const challenge = b64url(await crypto.subtle.digest("SHA-256", enc.encode(verifier)));
    return { verifier, challenge };
  }

  return {
    b64, b64url, unb64, unb64url, nonce, contentDigest, targetUri, signatureBase, generateKey, rawPublic,
    tokenRequestHeaders, boundRequestHeaders, verifyResponse, importResponseKeys, pkce, parseResponseInput,
  };
})();
