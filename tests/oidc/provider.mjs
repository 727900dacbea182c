// An OpenID provider configured like FranceConnect v2, for the identity service's tests.
//
// It is panva's oidc-provider (what FranceConnect itself runs on) with FranceConnect's choices:
// issuer path /api/v2, ES256 ID tokens, userinfo as a signed JWT, the claims parameter,
// RP-initiated logout, acr values eidas1-3, FranceConnect's claim names and token lifetimes, no
// consent screen. devInteractions are off: a small scripted login form below sets acr and amr.
//
// Usage: node provider.mjs <config.json>; prints "READY <port>" once listening.
// The config names the port (0: any), the clients (a FranceConnect+ client adds encryption
// metadata) and the test identities. With
// "test_switches": true it also answers POST /test/rotate-key (a new signing key, published
// first and signing from then on), which the tests use for the kid-rotation case, and
// POST /test/replace-key (a new signing key under the same kid, replacing the old one), and
// POST /test/jwks-silent?on=1 (or on=0): while on, a JWKS request is accepted and never
// answered, as a provider whose key endpoint hangs behind its load balancer.

import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const PREFIX = '/api/v2';

const accounts = new Map(config.identities.map((identity) => [identity.login, identity]));
const bySub = new Map(config.identities.map((identity) => [identity.sub, identity]));

function newSigningKey() {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'ES256', use: 'sig' };
}

// Newest first: oidc-provider signs with the first key that fits the algorithm.
let signingKeys = [newSigningKey()];
const cookieKeys = [randomUUID(), randomUUID()];

const PIVOT = ['given_name', 'family_name', 'birthdate', 'gender', 'birthplace', 'birthcountry'];

function providerConfiguration() {
  return {
    clients: config.clients.map((client) => ({
      client_id: client.client_id,
      client_secret: client.client_secret,
      redirect_uris: client.redirect_uris,
      post_logout_redirect_uris: client.post_logout_redirect_uris,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_post',
      id_token_signed_response_alg: 'ES256',
      userinfo_signed_response_alg: 'ES256',
      // FranceConnect+ clients: jwks (their public encryption key) and *_encrypted_response_*.
      ...(client.metadata ?? {}),
    })),
    jwks: { keys: signingKeys },
    cookies: { keys: cookieKeys },
    features: {
      devInteractions: { enabled: false },
      jwtUserinfo: { enabled: true },
      claimsParameter: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      // FranceConnect+: ID token and userinfo encrypted to the client's key.
      encryption: { enabled: true },
    },
    acrValues: ['eidas1', 'eidas2', 'eidas3'],
    claims: {
      openid: ['sub'],
      amr: ['amr'],
      given_name: ['given_name'],
      family_name: ['family_name'],
      birthdate: ['birthdate'],
      gender: ['gender'],
      birthplace: ['birthplace'],
      birthcountry: ['birthcountry'],
      email: ['email'],
      preferred_username: ['preferred_username'],
      identite_pivot: PIVOT,
      profile: [...PIVOT.slice(0, 4), 'preferred_username'],
      birth: ['birthplace', 'birthcountry'],
    },
    // FranceConnect's lifetimes (seconds).
    ttl: { AccessToken: 60, AuthorizationCode: 30, IdToken: 60, Interaction: 600, Session: 600, Grant: 600 },
    routes: {
      authorization: '/authorize',
      token: '/token',
      userinfo: '/userinfo',
      jwks: '/jwks',
      end_session: '/session/end',
    },
    // Required, as the relying party always sends it (S256; the verifier proves the browser).
    pkce: { required: () => true, methods: ["S256"] },
    async findAccount(ctx, sub) {
      const identity = bySub.get(sub);
      if (!identity) return undefined;
      return {
        accountId: sub,
        async claims() {
          const { login, password, max_acr: _maxAcr, sub: _sub, ...claims } = identity;
          return { sub, ...claims };
        },
      };
    },
    // FranceConnect shows no consent screen: every requested scope and claim is granted.
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
      grant.addOIDCClaims([...ctx.oidc.requestParamClaims]);
      await grant.save();
      return grant;
    },
    async logoutSource(ctx, form) {
      ctx.body = `<!DOCTYPE html><html><body>${form}<button type="submit" form="op.logoutForm" value="yes" name="logout">yes</button></body></html>`;
    },
    async renderError(ctx, out) {
      ctx.type = 'json';
      ctx.body = out;
    },
  };
}

let provider = null;
let handler = null;
let jwksSilent = false;

function rebuild() {
  const issuer = `http://127.0.0.1:${server.address().port}${PREFIX}`;
  provider = new Provider(issuer, providerConfiguration());
  provider.proxy = false;
  handler = provider.callback();
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

const LEVELS = ['eidas1', 'eidas2', 'eidas3'];

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, 'text/plain', 'interaction mismatch');
  if (action === undefined) {
    // The scripted login form: what a test "user" fills in.
    return send(
      res,
      200,
      'text/html',
      `<!DOCTYPE html><html><body><form method="post" action="/interaction/${uid}/login">` +
        '<input name="login"><input name="password" type="password"><button>login</button>' +
        '</form></body></html>',
    );
  }
  if (action !== 'login' || req.method !== 'POST') return send(res, 404, 'text/plain', 'not found');
  const form = new URLSearchParams(await readBody(req));
  const identity = accounts.get(form.get('login') ?? '');
  if (!identity || identity.password !== form.get('password')) {
    return send(res, 401, 'text/plain', 'wrong login or password');
  }
  // The level actually reached: the identity's own, which may be below what was asked.
  const requested = String(details.params.acr_values ?? 'eidas1').split(' ')[0];
  const maxLevel = LEVELS.indexOf(identity.max_acr ?? 'eidas1');
  const level = Math.min(Math.max(LEVELS.indexOf(requested), 0), maxLevel);
  const result = { login: { accountId: identity.sub, acr: LEVELS[level], amr: ['pwd'] } };
  return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://127.0.0.1');
    const match = url.pathname.match(/^\/interaction\/([^/]+)(?:\/([a-z]+))?$/);
    if (match) return await interaction(req, res, match[1], match[2]);
    if (config.test_switches && req.method === 'POST' && url.pathname === '/test/replace-key') {
      // A new key under the current key's kid (a provider that reuses its kid): the old key
      // is gone from the JWKS, and what it signed no longer verifies.
      signingKeys = [{ ...newSigningKey(), kid: signingKeys[0].kid }, ...signingKeys.slice(1)];
      rebuild();
      return send(res, 200, 'application/json', JSON.stringify({ kid: signingKeys[0].kid }));
    }
    if (config.test_switches && req.method === 'POST' && url.pathname === '/test/rotate-key') {
      signingKeys = [newSigningKey(), ...signingKeys];
      rebuild();
      return send(res, 200, 'application/json', JSON.stringify({ kid: signingKeys[0].kid }));
    }
    if (config.test_switches && req.method === 'POST' && url.pathname === '/test/jwks-silent') {
      jwksSilent = url.searchParams.get('on') === '1';
      return send(res, 200, 'application/json', JSON.stringify({ silent: jwksSilent }));
    }
    if (jwksSilent && url.pathname === `${PREFIX}/jwks`) return; // held open, never answered
    if (url.pathname === PREFIX || url.pathname.startsWith(`${PREFIX}/`)) {
      // Mounted under the issuer's path, as connect/express would do it.
      req.originalUrl = req.url;
      req.url = req.url.slice(PREFIX.length) || '/';
      return handler(req, res);
    }
    return send(res, 404, 'text/plain', 'not found');
  } catch (err) {
    return send(res, 500, 'text/plain', String(err?.message ?? err));
  }
});

server.listen(config.port ?? 0, '127.0.0.1', () => {
  rebuild();
  process.stdout.write(`READY ${server.address().port}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
