#!/usr/bin/env node
/**
 * A real OpenID Connect provider for postscope's integration tests.
 *
 * Built on panva's oidc-provider 8.x (the newest line that runs on Node 18
 * and 20).  Binds 127.0.0.1 on a free port, prints exactly one line
 * `ISSUER http://127.0.0.1:<port>` on stdout once ready (everything else goes
 * to stderr) and serves until stdin reaches EOF (the Rust harness holds stdin
 * as a pipe) or SIGTERM/SIGINT.
 *
 *   node server.mjs [--access-ttl SECS] [--device-interval SECS] [--ignore-stdin]
 *
 * Two static native-app clients: `postscope-public` (no secret) and
 * `postscope-secret` (client_secret_post, 'test-secret'); redirect URI
 * http://127.0.0.1/ on any port.  PKCE S256 required, device flow and
 * revocation on.  The default resource `urn:postscope:smtp` gets RS256 JWT
 * access tokens (aud = it, scope `smtp` if requested, claim `email`).  A
 * refresh token on every code/device exchange, rotated on every use.  Sign-in
 * is automatic: the account is the request's login_hint, else ada@example.org,
 * and consent grants everything requested.
 *
 * Test control endpoints (JSON, same port):
 *   POST /test/browse          {url, stop_at_redirect} -> acts as the browser
 *   POST /test/device/approve  {user_code, account, deny}
 *   POST /test/revoke-all      -> every grant / refresh token gone
 *   POST /test/settings        {access_ttl?, slow_down?}
 *   GET  /test/requests        -> authorization requests seen (query objects)
 */

import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as querystring from 'node:querystring';
import { promisify } from 'node:util';

// oidc-provider prints its development notices with console.info (stdout);
// stdout is reserved for the ISSUER line, so all console output goes to stderr.
console.log = console.info = console.debug = (...args) => console.error(...args);
const log = (...args) => console.error('oauth-server:', ...args);

// The signing key is made on a worker thread while oidc-provider loads.
const keyPair = promisify(crypto.generateKeyPair)('rsa', { modulusLength: 2048 });
const { default: Provider, errors } = await import('oidc-provider');

// ---------------------------------------------------------------- options
const opts = { accessTtl: 3600, deviceInterval: 1, ignoreStdin: false };
for (let i = 2; i < process.argv.length; i += 1) {
  const arg = process.argv[i];
  if (arg === '--ignore-stdin') {
    opts.ignoreStdin = true;
  } else if (arg === '--access-ttl' || arg === '--device-interval') {
    i += 1;
    const n = Number(process.argv[i]);
    if (!Number.isInteger(n) || n < 1) {
      log(`${arg} needs a whole number of seconds >= 1`);
      process.exit(2);
    }
    opts[arg === '--access-ttl' ? 'accessTtl' : 'deviceInterval'] = n;
  } else {
    log(`unknown argument ${arg}`);
    process.exit(2);
  }
}

const RESOURCE = 'urn:postscope:smtp'; // resource indicator == JWT `aud`
const DEFAULT_ACCOUNT = 'ada@example.org';
const OIDC_SCOPES = ['openid', 'email', 'offline_access'];
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const DAY = 24 * 3600;

// Changed at runtime through POST /test/settings.
const settings = { accessTtl: opts.accessTtl, slowDown: 0, deviceInterval: opts.deviceInterval };
const authRequests = []; // query objects of every GET /auth, for GET /test/requests

// ---------------------------------------------------------------- storage
// In memory, like oidc-provider's own MemoryAdapter but without its LRU
// eviction, and where /test/revoke-all can reach every grant and token.
const store = new Map(); // `${model}:${id}` -> { payload, expiresAt }
const index = new Map(); // `grant:${id}` -> Set(keys); `uid:${uid}`, `userCode:${code}` -> id
const now = () => Date.now();

class MemoryAdapter {
  constructor(model) { this.model = model; }

  key(id) { return `${this.model}:${id}`; }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    store.set(key, { payload, expiresAt: expiresIn ? now() + expiresIn * 1000 : Infinity });
    if (this.model === 'Session') index.set(`uid:${payload.uid}`, id);
    if (payload.userCode) index.set(`userCode:${payload.userCode}`, id);
    if (payload.grantId && this.model !== 'Grant') {
      index.set(`grant:${payload.grantId}`, (index.get(`grant:${payload.grantId}`) || new Set()).add(key));
    }
  }

  async find(id) {
    const entry = store.get(this.key(id));
    return entry && entry.expiresAt > now() ? entry.payload : undefined;
  }

  async findByUid(uid) { return this.find(index.get(`uid:${uid}`)); }

  async findByUserCode(userCode) { return this.find(index.get(`userCode:${userCode}`)); }

  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(now() / 1000);
  }

  async destroy(id) { store.delete(this.key(id)); }

  async revokeByGrantId(grantId) {
    for (const key of index.get(`grant:${grantId}`) || []) store.delete(key);
    index.delete(`grant:${grantId}`);
  }
}

function revokeAll() {
  const revoked = { grants: 0, refresh_tokens: 0 };
  const doomed = new Set(['Grant', 'RefreshToken', 'AccessToken', 'AuthorizationCode', 'DeviceCode', 'Session']);
  for (const key of [...store.keys()]) {
    const model = key.slice(0, key.indexOf(':'));
    if (model === 'Grant') revoked.grants += 1;
    if (model === 'RefreshToken') revoked.refresh_tokens += 1;
    if (doomed.has(model)) store.delete(key);
  }
  for (const key of [...index.keys()]) if (key.startsWith('grant:')) index.delete(key);
  return revoked;
}

// ---------------------------------------------------------------- provider
function makeProvider(issuer, privateKey) {
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomBytes(6).toString('hex'), use: 'sig', alg: 'RS256' };
  const client = (id, extra) => ({
    client_id: id,
    application_type: 'native',
    redirect_uris: ['http://127.0.0.1/'], // native + loopback: any port matches (RFC 8252 §7.3)
    grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT],
    response_types: ['code'],
    ...extra,
  });

  return new Provider(issuer, {
    adapter: MemoryAdapter,
    jwks: { keys: [jwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    clients: [
      client('postscope-public', { token_endpoint_auth_method: 'none' }),
      client('postscope-secret', { token_endpoint_auth_method: 'client_secret_post', client_secret: 'test-secret' }),
    ],
    scopes: OIDC_SCOPES,
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    // Every account id exists; sub = email = the id.
    findAccount: (ctx, id) => ({ accountId: id, claims: () => ({ sub: id, email: id, email_verified: true }) }),
    pkce: { methods: ['S256'], required: () => true },
    conformIdTokenClaims: false, // the ID token carries `email` too
    // A refresh token on every exchange, whether or not offline_access survived
    // (oidc-provider drops offline_access unless prompt=consent is asked for).
    issueRefreshToken: (ctx, c) => c.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true, // so a used refresh token gets invalid_grant
    expiresWithSession: () => false, // tokens do not die with the browser session
    extraTokenClaims: (ctx, token) => ({ email: token.accountId }),
    features: {
      devInteractions: { enabled: false }, // replaced by autoApprove below
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE, // clients need not send resource=
        useGrantedResource: () => true, // nor at the token endpoint (even with openid)
        getResourceServerInfo(ctx, indicator) {
          if (indicator !== RESOURCE) throw new errors.InvalidTarget(`unknown resource ${indicator}`);
          return { scope: 'smtp', audience: RESOURCE, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
    // Every TTL set, so that oidc-provider prints no "you SHOULD change" notices.
    ttl: {
      AccessToken: () => settings.accessTtl, AuthorizationCode: 60, DeviceCode: 600, IdToken: 3600, Interaction: 600,
      BackchannelAuthenticationRequest: 600, ClientCredentials: 600, Grant: 14 * DAY, RefreshToken: 14 * DAY, Session: 14 * DAY,
    },
    // Error pages: plain text, and the error code in a header for /test/browse.
    renderError(ctx, out) {
      ctx.type = 'text/plain';
      ctx.set('X-OIDC-Error', String(out.error));
      ctx.body = `${Object.entries(out).map(([k, v]) => `${k}: ${v}`).join('\n')}\n`;
    },
  });
}

// ---------------------------------------------------------------- the browser
async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

// One GET with node:http (no keep-alive): status, headers and text.
function httpGet(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error('timed out')));
  });
}

// A cookie jar good enough for the provider's own cookies (name + path).
class CookieJar {
  cookies = new Map();

  store(setCookie = []) {
    for (const line of setCookie) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const name = pair.slice(0, pair.indexOf('='));
      const attr = Object.fromEntries(attrs.map((a) => [a.split('=')[0].toLowerCase(), a.split('=').slice(1).join('=')]));
      const path = attr.path || '/';
      if (attr['max-age'] === '0' || (attr.expires && Date.parse(attr.expires) <= now())) {
        this.cookies.delete(`${name};${path}`);
      } else {
        this.cookies.set(`${name};${path}`, { pair, path });
      }
    }
  }

  header(url) {
    const { pathname } = new URL(url);
    return [...this.cookies.values()]
      .filter(({ path }) => pathname === path || pathname.startsWith(path.endsWith('/') ? path : `${path}/`))
      .map(({ pair }) => pair)
      .join('; ');
  }
}

// POST /test/browse: follow the authorization request like a browser until
// the provider redirects off-site (to the client's loopback redirect_uri).
async function browse(issuer, { url, stop_at_redirect: stopAtRedirect = false }) {
  if (typeof url !== 'string') return { error: 'missing url', status: 0, body: '' };
  const jar = new CookieJar();
  let current = url;
  for (let hop = 0; hop < 20; hop += 1) {
    if (new URL(current).origin !== issuer) {
      if (stopAtRedirect) return { location: current };
      try {
        const final = await httpGet(current); // the app's one-shot loopback listener
        return { location: current, status: final.status, body: final.body };
      } catch (err) {
        return { location: current, error: `GET ${current} failed: ${err.message}`, status: 0, body: '' };
      }
    }
    const res = await httpGet(current, { cookie: jar.header(current), accept: 'text/html' });
    jar.store(res.headers['set-cookie']);
    if (res.status >= 300 && res.status < 400 && res.headers.location) {
      current = new URL(res.headers.location, current).href;
    } else {
      const error = res.headers['x-oidc-error'] || `provider answered ${res.status} at ${current}`;
      return { error, status: res.status, body: res.body };
    }
  }
  return { error: 'too many redirects', status: 0, body: '' };
}

// ---------------------------------------------------------------- the user
// The interaction step without HTML: log in as login_hint (or the default
// account), then consent to everything asked for (and the smtp scope).
async function autoApprove(provider, ctx) {
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params, session } = details;
  let result;
  if (prompt.name === 'login') {
    result = { login: { accountId: params.login_hint || DEFAULT_ACCOUNT } };
  } else if (prompt.name === 'consent') {
    const grant = (details.grantId && await provider.Grant.find(details.grantId))
      || new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes = {} } = prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missingResourceScopes)) grant.addResourceScope(indicator, scopes.join(' '));
    grant.addResourceScope(RESOURCE, 'smtp');
    result = { consent: { grantId: await grant.save() } };
  } else {
    result = { error: 'access_denied', error_description: `unexpected prompt ${prompt.name}` };
  }
  log(`interaction ${details.uid}: ${prompt.name} (${session?.accountId || result.login?.accountId})`);
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  ctx.status = 303;
  ctx.redirect(returnTo);
}

// POST /test/device/approve: what the user would do on the verification page.
async function deviceDecision(provider, { user_code: userCode, account = DEFAULT_ACCOUNT, deny = false }) {
  const dc = await provider.DeviceCode.findByUserCode(String(userCode || '').toUpperCase().replace(/\W/g, ''));
  if (!dc) return [404, { error: 'no such pending user_code', user_code: userCode }];
  if (dc.accountId || dc.error) return [409, { error: 'user_code already decided', user_code: userCode }];
  if (deny) {
    Object.assign(dc, { error: 'access_denied', errorDescription: 'End-User denied the authorization request' });
  } else {
    const requested = (dc.params.scope || '').split(' ').filter(Boolean);
    const oidc = requested.filter((s) => OIDC_SCOPES.includes(s));
    const grant = new provider.Grant({ accountId: account, clientId: dc.clientId });
    if (oidc.length) grant.addOIDCScope(oidc.join(' '));
    grant.addResourceScope(RESOURCE, 'smtp');
    Object.assign(dc, {
      accountId: account,
      grantId: await grant.save(),
      authTime: Math.floor(now() / 1000),
      scope: requested.filter((s) => oidc.includes(s) || s === 'smtp').join(' '),
      resource: RESOURCE,
    });
  }
  await dc.save();
  log(`device code ${userCode}: ${deny ? 'denied' : `approved for ${account}`}`);
  return [200, { ok: true }];
}

// ---------------------------------------------------------------- /test/*
async function testEndpoint(provider, issuer, ctx) {
  const { method, path } = ctx;
  if (method === 'GET' && path === '/test/requests') return [200, authRequests];
  if (method !== 'POST') return [405, { error: 'method not allowed' }];
  const body = await readBody(ctx.req).then((text) => (text.trim() ? JSON.parse(text) : {})).catch(() => null);
  if (body === null || typeof body !== 'object') return [400, { error: 'body is not a JSON object' }];
  switch (path) {
    case '/test/browse':
      return [200, await browse(issuer, body)];
    case '/test/device/approve':
      return deviceDecision(provider, body);
    case '/test/revoke-all':
      return [200, { ok: true, revoked: revokeAll() }];
    case '/test/settings':
      for (const [field, key] of [['access_ttl', 'accessTtl'], ['slow_down', 'slowDown']]) {
        if (field in body) {
          const n = Number(body[field]);
          if (!Number.isInteger(n) || n < 0) return [400, { error: `${field} must be a whole number` }];
          settings[key] = n;
        }
      }
      return [200, { access_ttl: settings.accessTtl, slow_down: settings.slowDown, device_interval: settings.deviceInterval }];
    default:
      return [404, { error: `no test endpoint ${path}` }];
  }
}

function install(provider, issuer) {
  for (const event of ['server_error', 'grant.error', 'authorization.error', 'revocation.error', 'device_authorization.error']) {
    provider.on(event, (ctx, err) => log(`${event}: ${err.error || err.name}: ${err.error_detail || err.error_description || err.message}`));
  }

  // Runs before oidc-provider's own routes.
  provider.use(async (ctx, next) => {
    const { method, path } = ctx;

    if (path.startsWith('/test/')) {
      try {
        [ctx.status, ctx.body] = await testEndpoint(provider, issuer, ctx);
      } catch (err) {
        log(`${path}: ${err.stack}`);
        [ctx.status, ctx.body] = [500, { error: String(err.message || err) }];
      }
      return undefined;
    }

    if (method === 'GET' && path === '/auth') authRequests.push({ ...ctx.query });

    if (method === 'GET' && path.startsWith('/interaction/')) return autoApprove(provider, ctx);

    // slow_down knob (RFC 8628 §3.5): answer the next N device_code polls with
    // slow_down.  The body read here is handed on as req.body, which
    // oidc-provider accepts (with a one-time warning on stderr).
    if (method === 'POST' && path === '/token' && settings.slowDown > 0) {
      ctx.req.body = await readBody(ctx.req);
      if (querystring.parse(ctx.req.body).grant_type === DEVICE_GRANT) {
        settings.slowDown -= 1;
        ctx.set('Cache-Control', 'no-store');
        [ctx.status, ctx.body] = [400, { error: 'slow_down', error_description: 'polling too fast, add 5 seconds' }];
        return undefined;
      }
    }

    await next();

    // oidc-provider leaves out the polling interval; RFC 8628 §3.2 has it.
    if (path === '/device/auth' && ctx.status === 200 && ctx.body?.device_code) {
      ctx.body.interval = settings.deviceInterval;
    }
    return undefined;
  });
}

// ---------------------------------------------------------------- main
const { privateKey } = await keyPair;
let handler = (req, res) => { res.statusCode = 503; res.end(); };
const server = http.createServer((req, res) => handler(req, res));
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = makeProvider(issuer, privateKey);
  install(provider, issuer);
  handler = provider.callback();
  log(`listening, access ttl ${settings.accessTtl}s, device interval ${settings.deviceInterval}s`);
  process.stdout.write(`ISSUER ${issuer}\n`);
});

const stop = (why) => { log(`stopping (${why})`); process.exit(0); };
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
if (!opts.ignoreStdin) {
  process.stdin.on('end', () => stop('stdin EOF'));
  process.stdin.on('error', () => stop('stdin error'));
  process.stdin.resume();
}
