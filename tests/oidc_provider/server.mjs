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

function account(accountId) {
  const login = accountId.slice(SUB_PREFIX.length);
  const email = login.includes('@') ? login : `${login}@example.test`;
  const local = email.split('@')[0];
  return {
    accountId,
    async claims() {
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
    client_secret: requireEnv('OIDC_CLIENT_SECRET'),
    redirect_uris: requireEnv('OIDC_REDIRECT_URIS').split(',').map((uri) => uri.trim()).filter(Boolean),
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    // A client registered for client_secret_basic may also send client_secret_post (same secret).
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  responseTypes: ['code'],
  scopes: ['openid', 'email', 'profile', ...extraScopes],
  // Like Google's access_type=offline: a grant that includes an API scope also gets a refresh token.
  issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token')
    && (code.scopes.has('offline_access') || extraScopes.some((s) => code.scopes.has(s))),
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
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

const INTERACTION = /^\/interaction\/([\w-]+)(?:\/(login|consent|abort))?$/;
const handleProvider = provider.callback();

const server = http.createServer((req, res) => {
  const match = INTERACTION.exec(new URL(req.url, issuer).pathname);
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
