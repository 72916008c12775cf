// The identity providers federated sign-in is tested against, on one loopback
// port, in Node: panva's oidc-provider (OpenID Certified) as a generic OpenID
// provider and, with their issuers, claims and response modes, as stand-ins
// for Google (`hd`, gmail), Microsoft (the multi-tenant issuer template with
// the token's `tid`, `xms_edov`) and Apple (form_post, the name only on the
// first authorization, `email_verified` as a string, a refresh token, and its
// ES256 client secret checked here against the team's key); and a small
// server with GitHub's documented OAuth and REST shapes, since GitHub is not
// OpenID. Nothing reaches the internet.
//
//   /generic/...             OpenID provider (clients acme, untrusted, native)
//   /google/...              Google stand-in
//   /ms/common/v2.0/.well-known/openid-configuration   Microsoft's template metadata
//   /ms/<TENANT>/v2.0/...    Microsoft stand-in (one tenant)
//   /apple/...               Apple stand-in
//   /github/login/oauth/authorize, /github/login/oauth/access_token, /github/user, /github/user/emails
//   /<provider>/interaction/<uid>?login=<sub>   signs <sub> in (without `login`: a form, for the browser)
//   POST /control/accounts {sub, claims}        the claims an OpenID account has (any provider)
//   POST /control/github-users {id, login, name, emails}
//   GET  /control/apple-revocations             the refresh tokens revoked at the Apple stand-in, as a count
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { importSPKI, jwtVerify } from "jose";
import Provider, { type Configuration, type KoaContextWithOIDC } from "oidc-provider";

/** Microsoft's consumer tenant id, the one tenant of the stand-in. */
export const MICROSOFT_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad";

/** The clients the stand-ins know, by the variables the Worker is configured with in the tests. */
export const TEST_CLIENTS = {
  acme: { clientId: "acme-client", clientSecret: "acme-secret", nativeClientId: "acme-native" },
  untrusted: { clientId: "untrusted-client", clientSecret: "untrusted-secret" },
  google: { clientId: "google-client", clientSecret: "google-secret", nativeClientId: "google-ios" },
  microsoft: { clientId: "microsoft-client", clientSecret: "microsoft-secret" },
  apple: { clientId: "com.example.web", teamId: "TEAM123456", keyId: "KEY1234567", nativeClientId: "com.example.ios" },
  github: { clientId: "github-client", clientSecret: "github-secret" },
} as const;

/** Where native apps' test tokens are sent back to (a code flow run by the test itself). */
export const NATIVE_REDIRECT = "https://app.example.com/native";

export type IdentityProvidersServer = {
  url: string;
  /** Apple's Sign in with Apple key (PKCS #8 PEM): APPLE_PRIVATE_KEY in the tests. */
  applePrivateKey: string;
  close(): Promise<void>;
};

/** The claims each account has, by subject, whatever provider it signs in at. */
const accounts = new Map<string, Record<string, unknown>>();
/** The claims of an account no test registered (none; `npm run dev:providers` gives every name an address). */
let defaultClaims: (sub: string) => Record<string, unknown> = () => ({});
type GithubUser = { id: number; login: string; name: string | null; emails: unknown[] };
const githubUsers = new Map<string, GithubUser>();
const githubCodes = new Map<string, { user: GithubUser; redirectUri: string; challenge: string | null }>();
const githubTokens = new Map<string, GithubUser>();
const appleRevocations: string[] = [];
const appleAuthorized = new Set<string>();

/** oidc-provider's storage, in memory (its own default says so on every start; this one is quiet). */
const stored = new Map<string, Record<string, unknown>>();
class MemoryAdapter {
  private readonly model: string;
  constructor(model: string) {
    this.model = model;
  }
  private key(id: string) {
    return `${this.model}:${id}`;
  }
  async upsert(id: string, payload: Record<string, unknown>) {
    stored.set(this.key(id), payload);
  }
  async find(id: string) {
    return stored.get(this.key(id));
  }
  async findByUid(uid: string) {
    return [...stored.entries()].find(([k, v]) => k.startsWith(`${this.model}:`) && v.uid === uid)?.[1];
  }
  async findByUserCode(userCode: string) {
    return [...stored.entries()].find(([k, v]) => k.startsWith(`${this.model}:`) && v.userCode === userCode)?.[1];
  }
  async consume(id: string) {
    const found = stored.get(this.key(id));
    if (found) found.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string) {
    stored.delete(this.key(id));
  }
  async revokeByGrantId(grantId: string) {
    for (const [k, v] of stored) if (v.grantId === grantId) stored.delete(k);
  }
}

function providerFor(issuer: string, prefix: string, extra: Partial<Configuration>, clients: Configuration["clients"]) {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const config: Configuration = {
    adapter: MemoryAdapter,
    clients,
    jwks: { keys: [{ ...privateKey.export({ format: "jwk" }), kid: `${prefix}-key`, use: "sig", alg: "RS256" }] },
    cookies: { keys: [randomBytes(16).toString("hex")] },
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    claims: {
      openid: ["sub", "hd", "tid", "xms_edov"],
      email: ["email", "email_verified"],
      profile: ["name", "given_name", "family_name"],
    },
    features: { devInteractions: { enabled: false }, revocation: { enabled: true } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/${prefix}/interaction/${interaction.uid}` },
    findAccount: async (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: async () => ({ sub, ...(accounts.get(sub) ?? defaultClaims(sub)) }),
    }),
    // Consent is given: the stand-ins test sign-in, not a consent screen.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const { Grant } = ctx.oidc.provider;
      const grantId = ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
      if (grantId) {
        const found = await Grant.find(grantId);
        if (found) return found;
      }
      const grant = new Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId });
      grant.addOIDCScope(String(ctx.oidc.params?.scope ?? "openid"));
      await grant.save();
      ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId, grant.jti);
      return grant;
    },
    ttl: {
      IdToken: 3600,
      AccessToken: 600,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 600,
      Grant: 600,
      RefreshToken: 3600,
    },
    ...extra,
  };
  const provider = new Provider(issuer, config);
  provider.on("server_error", (_ctx, error) => console.error(`[${prefix}] server_error`, error));
  return provider;
}

/** The service origins whose callbacks the stand-ins' web clients accept: the tests' and any given. */
let serviceOrigins: string[] = ["https://auth.test"];

const webClient = (id: string, secret: string, callbackId: string) => ({
  client_id: id,
  client_secret: secret,
  redirect_uris: serviceOrigins.map((origin) => `${origin}/auth/oauth/${callbackId}/callback`),
  token_endpoint_auth_method: "client_secret_post" as const,
});
const nativeClient = (id: string) => ({
  client_id: id,
  redirect_uris: [NATIVE_REDIRECT],
  token_endpoint_auth_method: "none" as const,
});

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function send(res: ServerResponse, status: number, body: unknown, type = "application/json") {
  res.writeHead(status, { "Content-Type": type });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
}

/** Hands a request to an oidc-provider mounted at `prefix`, with `body` in place of what was read. */
function handOver(provider: Provider, prefix: string, req: IncomingMessage, res: ServerResponse, body?: string) {
  let request: IncomingMessage = req;
  if (body !== undefined) {
    const replay = Readable.from([Buffer.from(body)]) as unknown as IncomingMessage;
    Object.assign(replay, {
      headers: { ...req.headers, "content-length": String(Buffer.byteLength(body)) },
      method: req.method,
      url: req.url,
      httpVersion: req.httpVersion,
      socket: req.socket,
      connection: req.socket,
    });
    request = replay;
  }
  (request as IncomingMessage & { originalUrl?: string }).originalUrl = req.url;
  request.url = req.url!.slice(prefix.length) || "/";
  provider.callback()(request, res);
}

/** A login form for the browser, or the interaction finished for `login`. */
async function interaction(provider: Provider, req: IncomingMessage, res: ServerResponse, url: URL) {
  const login = url.searchParams.get("login");
  if (!login) {
    send(
      res,
      200,
      `<!doctype html><title>Test provider</title><form method="get"><label>Account <input name="login"></label>` +
        `<button type="submit">Sign in</button></form>`,
      "text/html",
    );
    return;
  }
  await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
}

/**
 * Apple's form_post answer carries `user` (the name, as JSON) on an account's
 * first authorization only; Apple never puts the name in the ID token.
 */
function appleFirstAuthorizationName(ctx: KoaContextWithOIDC) {
  const body = ctx.body;
  const accountId = ctx.oidc?.session?.accountId;
  if (typeof body !== "string" || !body.includes('name="code"') || !accountId) return;
  if (appleAuthorized.has(accountId)) return;
  appleAuthorized.add(accountId);
  const claims = accounts.get(accountId) ?? {};
  const user = JSON.stringify({
    name: { firstName: claims.given_name ?? "", lastName: claims.family_name ?? "" },
    email: claims.email,
  });
  const escaped = user.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  ctx.body = body.replace('name="code"', `name="user" value="${escaped}"/>\n<input type="hidden" name="code"`);
}

/** Apple's client secret: an ES256 JWT by the team's key, checked as Apple does, before the stand-in sees it. */
async function checkAppleSecret(body: string, publicKeyPem: string): Promise<string | undefined> {
  const form = new URLSearchParams(body);
  const secret = form.get("client_secret");
  if (!secret) return undefined;
  try {
    const key = await importSPKI(publicKeyPem, "ES256");
    const { payload, protectedHeader } = await jwtVerify(secret, key, {
      issuer: TEST_CLIENTS.apple.teamId,
      subject: TEST_CLIENTS.apple.clientId,
      audience: "https://appleid.apple.com",
      algorithms: ["ES256"],
    });
    if (protectedHeader.kid !== TEST_CLIENTS.apple.keyId || !payload.exp) return undefined;
  } catch {
    return undefined;
  }
  form.set("client_secret", "apple-stand-in-secret");
  return form.toString();
}

async function github(req: IncomingMessage, res: ServerResponse, url: URL) {
  const path = url.pathname.slice("/github".length);
  if (path === "/login/oauth/authorize") {
    const login = url.searchParams.get("login");
    const redirectUri = url.searchParams.get("redirect_uri")!;
    if (url.searchParams.get("client_id") !== TEST_CLIENTS.github.clientId) return send(res, 400, "unknown client");
    if (!login) {
      const hidden = [...url.searchParams]
        .map(([k, v]) => `<input type="hidden" name="${k}" value="${v.replace(/"/g, "&quot;")}">`)
        .join("");
      return send(
        res,
        200,
        `<!doctype html><title>GitHub stand-in</title><form method="get">${hidden}` +
          `<label>Account <input name="login"></label><button type="submit">Sign in</button></form>`,
        "text/html",
      );
    }
    let user = githubUsers.get(login);
    const claims = defaultClaims(login);
    if (!user && typeof claims.email === "string") {
      // `npm run dev:providers`: any name is a GitHub user with a verified primary address.
      const id = Number.parseInt(createHash("sha256").update(login).digest("hex").slice(0, 8), 16);
      user = { id, login, name: null, emails: [{ email: claims.email, primary: true, verified: true }] };
      githubUsers.set(login, user);
    }
    const target = new URL(redirectUri);
    if (!user) {
      target.searchParams.set("error", "access_denied");
    } else {
      const code = randomBytes(16).toString("hex");
      githubCodes.set(code, { user, redirectUri, challenge: url.searchParams.get("code_challenge") });
      target.searchParams.set("code", code);
    }
    target.searchParams.set("state", url.searchParams.get("state") ?? "");
    res.writeHead(302, { Location: target.href });
    return res.end();
  }
  if (path === "/login/oauth/access_token" && req.method === "POST") {
    const form = new URLSearchParams(await readBody(req));
    const grant = githubCodes.get(form.get("code") ?? "");
    githubCodes.delete(form.get("code") ?? "");
    const verifier = form.get("code_verifier") ?? "";
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    if (
      !grant ||
      form.get("client_id") !== TEST_CLIENTS.github.clientId ||
      form.get("client_secret") !== TEST_CLIENTS.github.clientSecret ||
      form.get("redirect_uri") !== grant.redirectUri ||
      (grant.challenge !== null && grant.challenge !== challenge)
    ) {
      // GitHub answers a bad code with 200 and an error body.
      return send(res, 200, { error: "bad_verification_code", error_description: "The code is incorrect or expired." });
    }
    const token = `gho_${randomBytes(18).toString("hex")}`;
    githubTokens.set(token, grant.user);
    return send(res, 200, { access_token: token, token_type: "bearer", scope: "read:user,user:email" });
  }
  if (path === "/user" || path === "/user/emails") {
    // GitHub refuses API requests without a User-Agent.
    if (!req.headers["user-agent"]) return send(res, 403, { message: "Request forbidden by administrative rules." });
    const user = githubTokens.get((req.headers.authorization ?? "").replace(/^Bearer /, ""));
    if (!user) return send(res, 401, { message: "Bad credentials" });
    if (path === "/user/emails") return send(res, 200, user.emails);
    return send(res, 200, { id: user.id, login: user.login, name: user.name, email: null });
  }
  send(res, 404, { message: "Not Found" });
}

/**
 * Starts the stand-ins on `port` (any free one by default) for a service at
 * `origins` (its provider callbacks are registered with every client).
 */
export async function startIdentityProviders(
  options: { port?: number; origins?: string[]; defaultClaims?: (sub: string) => Record<string, unknown> } = {},
): Promise<IdentityProvidersServer> {
  serviceOrigins = options.origins ?? ["https://auth.test"];
  defaultClaims = options.defaultClaims ?? (() => ({}));
  const port = options.port ?? 0;
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const applePrivateKey = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  const applePublicKey = publicKey.export({ format: "pem", type: "spki" }).toString();

  const msPrefix = `ms/${MICROSOFT_TENANT}/v2.0`;
  const instances: Record<string, Provider> = {
    generic: providerFor(`${base}/generic`, "generic", {}, [
      webClient(TEST_CLIENTS.acme.clientId, TEST_CLIENTS.acme.clientSecret, "acme"),
      webClient(TEST_CLIENTS.untrusted.clientId, TEST_CLIENTS.untrusted.clientSecret, "untrusted"),
      nativeClient(TEST_CLIENTS.acme.nativeClientId),
    ]),
    google: providerFor(`${base}/google`, "google", {}, [
      webClient(TEST_CLIENTS.google.clientId, TEST_CLIENTS.google.clientSecret, "google"),
      nativeClient(TEST_CLIENTS.google.nativeClientId),
    ]),
    [msPrefix]: providerFor(`${base}/${msPrefix}`, msPrefix, {}, [
      webClient(TEST_CLIENTS.microsoft.clientId, TEST_CLIENTS.microsoft.clientSecret, "microsoft"),
    ]),
    apple: providerFor(
      `${base}/apple`,
      "apple",
      {
        scopes: ["openid", "email", "name", "offline_access"],
        responseTypes: ["code"],
        issueRefreshToken: async () => true,
      },
      [
        {
          ...webClient(TEST_CLIENTS.apple.clientId, "apple-stand-in-secret", "apple"),
          grant_types: ["authorization_code", "refresh_token"],
        },
        nativeClient(TEST_CLIENTS.apple.nativeClientId),
      ],
    ),
  };
  instances.apple!.use(async (ctx, next) => {
    await next();
    appleFirstAuthorizationName(ctx as KoaContextWithOIDC);
  });

  server.on("request", (req, res) => {
    void (async () => {
      const url = new URL(req.url!, base);
      if (url.pathname === "/control/accounts" && req.method === "POST") {
        const { sub, claims } = JSON.parse(await readBody(req)) as { sub: string; claims: Record<string, unknown> };
        accounts.set(sub, claims);
        return send(res, 204, "");
      }
      if (url.pathname === "/control/github-users" && req.method === "POST") {
        const user = JSON.parse(await readBody(req)) as GithubUser;
        githubUsers.set(user.login, user);
        return send(res, 204, "");
      }
      if (url.pathname === "/control/apple-revocations") return send(res, 200, { count: appleRevocations.length });
      if (url.pathname.startsWith("/github/")) return github(req, res, url);
      if (url.pathname === "/ms/common/v2.0/.well-known/openid-configuration") {
        // Microsoft's multi-tenant metadata: the issuer is a template, the endpoints the tenant's.
        const tenant = await fetch(`${base}/${msPrefix}/.well-known/openid-configuration`);
        const metadata = (await tenant.json()) as Record<string, unknown>;
        return send(res, 200, { ...metadata, issuer: `${base}/ms/{tenantid}/v2.0` });
      }
      const prefix = Object.keys(instances).find((p) => url.pathname.startsWith(`/${p}/`));
      if (!prefix) return send(res, 404, { error: "not_found" });
      const provider = instances[prefix]!;
      if (url.pathname.startsWith(`/${prefix}/interaction/`)) return interaction(provider, req, res, url);
      if (prefix === "apple" && req.method === "POST" && /\/(token|token\/revocation)$/.test(url.pathname)) {
        const raw = await readBody(req);
        // A native app (a public client) sends no secret; a web client's must be Apple's kind of JWT.
        const body = new URLSearchParams(raw).has("client_secret") ? await checkAppleSecret(raw, applePublicKey) : raw;
        if (!body) return send(res, 401, { error: "invalid_client" });
        if (url.pathname.endsWith("/revocation")) appleRevocations.push(new URLSearchParams(body).get("token")!);
        return handOver(provider, `/${prefix}`, req, res, body);
      }
      return handOver(provider, `/${prefix}`, req, res);
    })().catch((error: unknown) => {
      console.error("identity providers:", error);
      if (!res.headersSent) send(res, 500, { error: "server_error" });
    });
  });

  return {
    url: base,
    applePrivateKey,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
