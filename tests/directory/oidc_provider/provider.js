// A real OpenID provider for the tests (the certified oidc-provider package), on loopback.
//
// Started by tests/directory/oidc_server.py: `node provider.js` with PORT, CLIENT_ID,
// CLIENT_SECRET, REDIRECT_URIS and POST_LOGOUT_REDIRECT_URIS in the environment. It holds a
// small synthetic Vietnamese directory (below), asks for a login and a password on its own
// page (the test drives it with an HTTP client, the e2e test with Chromium), and skips the
// consent screen for the one client (a first-party application).
//
// For the refusal tests only: POST /test/next-token with mode=claims|audience changes the next
// ID token the token endpoint hands out (claims: a claim changed, signature kept, i.e. a
// tampered token; audience: re-signed with the provider's own key for another client).

import { generateKeyPair, exportJWK, SignJWT, decodeJwt, decodeProtectedHeader, importJWK } from 'jose';
import Provider from 'oidc-provider';

const env = (name, fallback) => process.env[name] ?? fallback;
const PORT = Number(env('PORT', '0'));
const ISSUER = `http://127.0.0.1:${PORT}`;
const CLIENT_ID = env('CLIENT_ID', 'mooc');

// login -> account. Passwords are the directory's, not the platform's.
const DIRECTORY = {
  'mai.tran': { password: 'mat-khau-mai', name: 'Trần Thị Mai', email: 'mai.tran@thanhtra.gov.vn', staff_code: '00123' },
  'nam.le': { password: 'mat-khau-nam', name: 'Lê Văn Nam', email: 'nam.le@thanhtra.gov.vn', staff_code: '00456' },
  'khach.pham': { password: 'mat-khau-khach', name: 'Phạm Thu Khách', email: 'khach.pham@thanhtra.gov.vn', staff_code: '99999' },
  // An address with Vietnamese capitals, as a provider may send it (on no roster).
  'dao.an': { password: 'mat-khau-an', name: 'Đào Văn An', email: 'ĐÀO.AN@THANHTRA.GOV.VN', staff_code: '00321' },
};

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body><main><h1>${escape(title)}</h1>${body}</main></body></html>`;

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await exportJWK(privateKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };

const configuration = {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: env('CLIENT_SECRET', 'bi-mat-cua-ung-dung'),
    redirect_uris: env('REDIRECT_URIS', '').split(',').filter(Boolean),
    post_logout_redirect_uris: env('POST_LOGOUT_REDIRECT_URIS', '').split(',').filter(Boolean),
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [signingJwk] },
  cookies: { keys: ['khoa-cookie-cua-bai-kiem-thu'] },
  pkce: { required: () => true },  // every authorisation request must carry an S256 challenge
  features: { devInteractions: { enabled: false }, rpInitiatedLogout: {
    enabled: true,
    logoutSource: async (ctx, form) => {
      ctx.body = page('Đăng xuất', `${form}<button type="submit" form="op.logoutForm" value="yes" name="logout">Đăng xuất</button>`);
    },
    postLogoutSuccessSource: async (ctx) => { ctx.body = page('Đã đăng xuất', ''); },
  } },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Lỗi', `<pre>${escape(JSON.stringify(out))}</pre>`);
  },
  scopes: ['openid', 'email', 'profile', 'staff'],
  claims: { openid: ['sub', 'amr', 'acr'], email: ['email', 'email_verified'], profile: ['name'], staff: ['staff_code'] },
  // CONFORM=1: the package's default, the ID token of the code flow carries no claim of the
  // scopes asked for (the app reads them from UserInfo); else the ID token carries them
  conformIdTokenClaims: env('CONFORM', '') === '1',
  async findAccount(ctx, id) {
    const person = DIRECTORY[id];
    if (!person) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, name: person.name, email: person.email, email_verified: true, staff_code: person.staff_code };
      },
    };
  },
  // A first-party client: no consent screen, the grant covers what it asked for.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const grant = await ctx.oidc.provider.Grant.find(grantId);
      if (grant) return grant;
    }
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile staff');
    grant.addOIDCClaims(['sub', 'name', 'email', 'email_verified', 'staff_code', 'amr', 'acr', 'auth_time']);
    await grant.save();
    return grant;
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { Interaction: 600, Session: 3600, Grant: 3600, AuthorizationCode: 60, AccessToken: 600, IdToken: 600 },
};

const provider = new Provider(ISSUER, configuration);

async function formBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

let nextTokenMode = 'none';

async function tamper(idToken) {
  const header = decodeProtectedHeader(idToken);
  const claims = decodeJwt(idToken);
  if (nextTokenMode === 'claims') {
    // Someone else's staff code, the provider's signature kept: the signature no longer matches.
    const [head, , signature] = idToken.split('.');
    const payload = Buffer.from(JSON.stringify({ ...claims, staff_code: '00123', sub: 'mai.tran' })).toString('base64url');
    return `${head}.${payload}.${signature}`;
  }
  if (nextTokenMode === 'audience') {
    // A genuine token of this provider, minted for another client.
    const key = await importJWK(signingJwk, 'RS256');
    return new SignJWT({ ...claims, aud: 'another-application', azp: 'another-application' })
      .setProtectedHeader(header).sign(key);
  }
  return idToken;
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/favicon.ico') {  // browsers ask for one; none here
    ctx.status = 204;
    return;
  }
  if (ctx.path === '/test/next-token' && ctx.method === 'POST') {
    nextTokenMode = (await formBody(ctx.req)).get('mode') || 'none';
    ctx.body = { mode: nextTokenMode };
    return;
  }
  const interaction = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (interaction && ctx.method === 'GET') {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    ctx.type = 'html';
    ctx.body = page('Đăng nhập bằng tài khoản ngành', `
<form method="post" action="/interaction/${escape(details.uid)}">
  <p><label for="login">Tên đăng nhập</label> <input id="login" name="login" autocomplete="off" required></p>
  <p><label for="password">Mật khẩu</label> <input id="password" name="password" type="password" required></p>
  <p><label><input type="checkbox" name="otp" value="1"> Đã xác thực mã OTP</label></p>
  <button type="submit">Đăng nhập</button>
</form>`);
    return;
  }
  if (interaction && ctx.method === 'POST') {
    await provider.interactionDetails(ctx.req, ctx.res);  // the interaction must be this browser's
    const form = await formBody(ctx.req);
    const person = DIRECTORY[form.get('login')];
    if (!person || person.password !== form.get('password')) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = page('Sai tên đăng nhập hoặc mật khẩu', '');
      return;
    }
    const amr = form.get('otp') ? ['pwd', 'otp', 'mfa'] : ['pwd'];
    await provider.interactionFinished(ctx.req, ctx.res,
      { login: { accountId: form.get('login'), amr } }, { mergeWithLastSubmission: false });
    ctx.respond = false;
    return;
  }
  await next();
  if (ctx.path === '/token' && ctx.status === 200 && nextTokenMode !== 'none' && ctx.body?.id_token) {
    ctx.body = { ...ctx.body, id_token: await tamper(ctx.body.id_token) };
    nextTokenMode = 'none';
  }
});

const server = provider.listen(PORT, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${ISSUER}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
