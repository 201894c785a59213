// An independent OpenID provider for the test suite: panva's oidc-provider
// (an OpenID Certified implementation), issuing RFC 9068 JWT access tokens and
// opaque ones for RFC 7662 introspection, over HTTPS with the test's certificate.
//
// It is not configured like Slipgate's identity server on purpose: the claim
// names (employee_number, department, display_name, pay_grade) and scopes
// (payslip:own, payslip:all) differ, tokens are signed with RS256 by an RSA
// key, so the API's [auth.claims] / [auth.scopes] mapping and its JOSE code
// are really exercised. Tokens come from the client-credentials grant: each
// test client stands for one employee (extraTokenClaims), and a few clients
// get a token the API must refuse (see CLIENTS).
//
// Environment: OIDC_PROVIDER_NODE_MODULES (where `npm ci` installed
// package-lock.json), OIDC_CERT and OIDC_KEY (its TLS certificate and key), OIDC_SIGNING_KEY
// (an RSA PKCS#8 PEM it signs tokens with). It listens on
// 127.0.0.1, a free port, and prints one JSON line {"issuer": ..., "port": ...}
// once it accepts connections.

import { createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

// stdout carries the one start-up line; the test stops reading after it, so everything
// else (oidc-provider's notices use console.log/info) goes to stderr.
console.log = console.error;
console.info = console.error;

const modules = process.env.OIDC_PROVIDER_NODE_MODULES;
if (!modules) throw new Error('set OIDC_PROVIDER_NODE_MODULES to the node_modules directory of npm ci');
const { default: Provider, errors } = await import(
  pathToFileURL(join(modules, 'oidc-provider', 'lib', 'index.js')).href
);

// Resource servers (RFC 8707 resource indicators): the resource is the audience.
export const RESOURCES = {
  'https://slipgate.test/jwt': 'jwt',
  'https://slipgate.test/introspect': 'opaque',
  'https://reports.test/jwt': 'jwt',
  'https://reports.test/introspect': 'opaque',
};

const ALICE = {
  employee_number: '01234',
  department: 'ENG',
  display_name: 'John Doe',
  pay_grade: '7.1',
};
const PAULA = {
  employee_number: '00001',
  department: 'HR',
  display_name: 'Paula Payroll',
  pay_grade: '8.1',
};

// client_id -> [scope the client may ask for, extra claims of its tokens]
const CLIENTS = {
  // alice: payslip:own in the RFC 9068 `scope` claim.
  'alice-app': ['payslip:own', ALICE],
  // paula: no `scope` claim, the Okta-style `scp` array instead.
  'paula-app': ['', { ...PAULA, scp: ['payslip:all'] }],
  // alice's record without the pay grade.
  'nograde-app': ['payslip:own', { ...ALICE, pay_grade: undefined }],
  // our own scope name, which this provider's mapping does not grant.
  'literal-app': ['salaryslip:self', ALICE],
  // a JOSE header typ of JWT instead of at+jwt (formats.customizers below).
  'typ-app': ['payslip:own', ALICE],
  // a token whose lifetime ended an hour ago (formats.customizers below).
  'expired-app': ['payslip:own', ALICE],
};

const secret = (clientId) => `${clientId}-secret-${'x'.repeat(24)}`;

const clients = [
  ...Object.entries(CLIENTS).map(([clientId, [scope]]) => ({
    client_id: clientId,
    client_secret: secret(clientId),
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    ...(scope ? { scope } : {}),
  })),
  // The API introspects as this client.
  {
    client_id: 'slipgate-api',
    client_secret: secret('slipgate-api'),
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  },
];

// The RSA signing key comes from the test (OIDC_SIGNING_KEY, PKCS#8 PEM): Node 20 can deadlock
// exporting a freshly generated key as a JWK while the garbage collector frees its key-generation job.
const signingKey = {
  ...createPrivateKey(readFileSync(process.env.OIDC_SIGNING_KEY)).export({ format: 'jwk' }),
  kid: 'rsa-1',
  alg: 'RS256',
  use: 'sig',
};

const server = https.createServer({
  cert: readFileSync(process.env.OIDC_CERT),
  key: readFileSync(process.env.OIDC_KEY),
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `https://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'payslip:own', 'payslip:all', 'salaryslip:self'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => undefined,
      useGrantedResource: async () => false,
      getResourceServerInfo: async (_ctx, resource) => {
        const format = RESOURCES[resource];
        if (!format) throw new errors.InvalidTarget();
        return {
          scope: 'payslip:own payslip:all salaryslip:self',
          audience: resource,
          accessTokenTTL: 600,
          accessTokenFormat: format,
          ...(format === 'jwt' ? { jwt: { sign: { alg: 'RS256' } } } : {}),
        };
      },
    },
  },
  extraTokenClaims: async (_ctx, token) => {
    const claims = CLIENTS[token.clientId]?.[1];
    return claims ? Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined)) : undefined;
  },
  formats: {
    customizers: {
      jwt: async (_ctx, token, jwt) => {
        if (token.clientId === 'typ-app') {
          jwt.header = { typ: 'JWT' };
        }
        if (token.clientId === 'expired-app') {
          jwt.payload.iat -= 3600;
          jwt.payload.exp = jwt.payload.iat + 600;
        }
      },
    },
  },
});
provider.on('server_error', (_ctx, err) => console.error('oidc-provider server_error:', err));
server.on('request', provider.callback());

process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
