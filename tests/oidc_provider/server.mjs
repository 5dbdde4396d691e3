// OpenID Connect provider for oO's tests: panva/oidc-provider (OpenID Certified) on loopback.
//
// Configuration (environment):
//   OIDC_PORT           port to listen on, on 127.0.0.1 (required)
//   OIDC_ISSUER         issuer URL (default http://127.0.0.1:$OIDC_PORT)
//   OIDC_CLIENT_ID      the one registered confidential client
//   OIDC_CLIENT_SECRET  its secret (client_secret_basic or client_secret_post)
//   OIDC_REDIRECT_URIS  comma-separated redirect URIs of that client
//   OIDC_CONSENT        "auto" (default: consent is granted without a page) or "prompt" (one-click page)
//   OIDC_EXIT_ON_STDIN_CLOSE  "1": exit when stdin closes, so a crashed parent leaves no orphan
//   OIDC_EXTRA_SCOPES   comma-separated API scopes the client may also ask for (e.g. Google's
//                       calendar.freebusy). A code granted with one of them also yields a refresh
//                       token (like Google's access_type=offline); tokens can be revoked
//                       (/token/revocation) and introspected (/token/introspection).
//   OIDC_APPLE_CLIENT_JWK  set to the client's public EC P-256 JWK to behave as Sign in with Apple:
//                       the client authenticates at /token with client_secret_post where the
//                       secret is an ES256 JWT it signed (header kid = OIDC_APPLE_KEY_ID; claims
//                       iss = OIDC_APPLE_TEAM_ID, sub = client id, aud = issuer, iat/exp at most
//                       6 months apart), verified here; OIDC_CLIENT_SECRET is then unused. The
//                       scopes are openid, email and name; the ID token carries email and
//                       email_verified as the strings Apple sends ("false" for a login that
//                       contains "unverified"), and no name.
//
// Accounts: any login name signs in, no password. sub = "sub-" + login; email = login when it
// contains "@", else login + "@example.test"; name = the part before "@", first letter upper-cased.
// Prints "OIDC READY <issuer>" on stdout once listening; the provider's own notices go to stderr.
import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider from 'oidc-provider';

const SUB_PREFIX = 'sub-';
const MAX_LOGIN_LENGTH = 200;

function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is required`);
    process.exit(2);
  }
  return value;
}

const port = Number.parseInt(requireEnv('OIDC_PORT'), 10);
const issuer = process.env.OIDC_ISSUER || `http://127.0.0.1:${port}`;
const consentMode = process.env.OIDC_CONSENT || 'auto';
const extraScopes = (process.env.OIDC_EXTRA_SCOPES || '').split(',').map((s) => s.trim()).filter(Boolean);

const appleJwk = process.env.OIDC_APPLE_CLIENT_JWK ? JSON.parse(process.env.OIDC_APPLE_CLIENT_JWK) : null;
const appleTeamId = process.env.OIDC_APPLE_TEAM_ID || '';
const appleKeyId = process.env.OIDC_APPLE_KEY_ID || '';
// In Apple mode the provider's own client secret never leaves this process.
const clientSecret = appleJwk ? crypto.randomBytes(32).toString('base64url') : requireEnv('OIDC_CLIENT_SECRET');
const APPLE_MAX_SECRET_SECONDS = 15777000;

function account(accountId) {
  const login = accountId.slice(SUB_PREFIX.length);
  const email = login.includes('@') ? login : `${login}@example.test`;
  const local = email.split('@')[0];
  return {
    accountId,
    async claims() {
      if (appleJwk) {
        return { sub: accountId, email, email_verified: login.includes('unverified') ? 'false' : 'true' };
      }
      return {
        sub: accountId,
        email,
        email_verified: true,
        name: local.charAt(0).toUpperCase() + local.slice(1),
      };
    },
  };
}

// A fresh signing key per run: tests must fetch the JWKS rather than pin a key.
const signingKey = {
  ...crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
  kid: crypto.randomUUID(),
  use: 'sig',
  alg: 'RS256',
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: requireEnv('OIDC_CLIENT_ID'),
    client_secret: clientSecret,
    redirect_uris: requireEnv('OIDC_REDIRECT_URIS').split(',').map((uri) => uri.trim()).filter(Boolean),
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    // A client registered for client_secret_basic may also send client_secret_post (same secret).
    token_endpoint_auth_method: appleJwk ? 'client_secret_post' : 'client_secret_basic',
  }],
  clientAuthMethods: appleJwk ? ['client_secret_post'] : ['client_secret_basic', 'client_secret_post'],
  responseTypes: ['code'],
  scopes: appleJwk ? ['openid', 'email', 'name'] : ['openid', 'email', 'profile', ...extraScopes],
  // Like Google's access_type=offline: a grant that includes an API scope also gets a refresh token.
  issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token')
    && (code.scopes.has('offline_access') || extraScopes.some((s) => code.scopes.has(s))),
  claims: appleJwk
    ? { openid: ['sub'], email: ['email', 'email_verified'], name: [] }
    : { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // Like Google, put the scope claims in the ID token too, not only at the userinfo endpoint.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true },
    introspection: { enabled: true },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: (ctx, id) => (id.startsWith(SUB_PREFIX) ? account(id) : undefined),
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  jwks: { keys: [signingKey] },
  async renderError(ctx, out) {
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = Object.entries(out).map(([key, value]) => `${key}: ${value}`).join('\n');
  },
});

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(res, title, body) {
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(`<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>`
    + `<body><h1>${title}</h1>${body}</body></html>`);
}

function loginPage(res, uid, loginHint, error) {
  const prefill = loginHint ? ` value="${escapeHtml(loginHint)}"` : '';
  page(res, 'Sign-in', `${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<form id="login-form" method="post" action="/interaction/${uid}/login">
  <label for="login">Login</label>
  <input id="login" name="login" type="text" autocomplete="username" required autofocus${prefill}>
  <button id="sign-in" type="submit">Sign in</button>
</form>
<form id="abort-form" method="post" action="/interaction/${uid}/abort">
  <button id="cancel" type="submit">Cancel</button>
</form>`);
}

function consentPage(res, uid, scopes) {
  page(res, 'Authorize', `<p>Scopes: ${escapeHtml(scopes.join(' '))}</p>
<form id="consent-form" method="post" action="/interaction/${uid}/consent">
  <button id="allow" type="submit">Allow</button>
</form>
<form id="abort-form" method="post" action="/interaction/${uid}/abort">
  <button id="cancel" type="submit">Cancel</button>
</form>`);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 16384) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// The same grant devInteractions would build: everything the consent prompt says is missing.
async function grantConsent(req, res, details) {
  const {
    prompt, grantId, session, params,
  } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  const result = { consent: { grantId: await grant.save() } };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  const { prompt, params } = details;

  if (req.method === 'GET' && !action) {
    if (prompt.name === 'login') return loginPage(res, uid, params.login_hint);
    if (prompt.name === 'consent' && consentMode === 'prompt') {
      return consentPage(res, uid, prompt.details.missingOIDCScope || []);
    }
    if (prompt.name === 'consent') return grantConsent(req, res, details);
  } else if (req.method === 'POST' && action === 'login' && prompt.name === 'login') {
    const login = ((await readForm(req)).get('login') || '').trim();
    if (!login || login.length > MAX_LOGIN_LENGTH) return loginPage(res, uid, '', 'Enter a login name.');
    const result = { login: { accountId: SUB_PREFIX + login } };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  } else if (req.method === 'POST' && action === 'consent' && prompt.name === 'consent') {
    return grantConsent(req, res, details);
  } else if (req.method === 'POST' && action === 'abort') {
    const result = { error: 'access_denied', error_description: 'End-User aborted interaction' };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }
  res.writeHead(400, { 'content-type': 'text/plain' });
  return res.end(`unexpected ${req.method} for prompt ${prompt.name}`);
}

function appleSecretProblem(secret, clientId) {
  const parts = (secret || '').split('.');
  if (parts.length !== 3) return 'client_secret is not a JWT';
  let header;
  let claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return 'client_secret is not a JWT';
  }
  if (header.alg !== 'ES256') return `alg ${header.alg} is not ES256`;
  if (header.kid !== appleKeyId) return 'unknown kid';
  const key = crypto.createPublicKey({ key: appleJwk, format: 'jwk' });
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
  const signature = Buffer.from(parts[2], 'base64url');
  if (!crypto.verify('sha256', signed, { key, dsaEncoding: 'ieee-p1363' }, signature)) return 'bad signature';
  const now = Math.floor(Date.now() / 1000);
  if (claims.iss !== appleTeamId) return 'iss is not the team id';
  if (claims.sub !== clientId) return 'sub is not the client id';
  if (claims.aud !== issuer) return 'aud is not the issuer';
  if (!Number.isInteger(claims.iat) || !Number.isInteger(claims.exp)) return 'iat/exp missing';
  if (claims.exp <= now || claims.iat > now + 60) return 'expired or not yet valid';
  if (claims.exp - claims.iat > APPLE_MAX_SECRET_SECONDS) return 'valid for more than 6 months';
  return null;
}

// Apple's token endpoint: check the ES256 client secret, then hand the request to oidc-provider
// with the provider's own secret in its place (oidc-provider reads an already-read body from req.body).
async function appleToken(req, res) {
  const params = await readForm(req);
  const problem = appleSecretProblem(params.get('client_secret'), params.get('client_id'));
  if (problem) {
    console.error(`apple client secret refused: ${problem}`);
    res.writeHead(400, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ error: 'invalid_client' }));
  }
  params.set('client_secret', clientSecret);
  req.body = params.toString();
  return handleProvider(req, res);
}

const INTERACTION = /^\/interaction\/([\w-]+)(?:\/(login|consent|abort))?$/;
const handleProvider = provider.callback();

const server = http.createServer((req, res) => {
  const { pathname } = new URL(req.url, issuer);
  if (appleJwk && req.method === 'POST' && pathname === '/token') {
    return appleToken(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'invalid_request', error_description: err.message }));
    });
  }
  const match = INTERACTION.exec(pathname);
  if (!match) return handleProvider(req, res);
  return interaction(req, res, match[1], match[2]).catch((err) => {
    console.error(`interaction error: ${err.message}`);
    if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`interaction error: ${err.message}`);
  });
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
}

process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
if (process.env.OIDC_EXIT_ON_STDIN_CLOSE === '1') {
  process.stdin.on('end', shutdown);
  process.stdin.on('close', shutdown);
  process.stdin.resume();
}

server.listen(port, '127.0.0.1', () => {
  console.log(`OIDC READY ${issuer}`);
});
