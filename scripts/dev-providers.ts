// `npm run dev:providers`: the identity providers the test suite signs in
// against (test/setup/identity-providers.ts: oidc-provider as a generic
// OpenID provider and as stand-ins for Google, Microsoft and Apple, and a
// GitHub stand-in), on 127.0.0.1:8790 for `npm run dev` on
// http://localhost:8787, so provider sign-in can be tried with no internet
// and no provider account. Prints the variables to put in .dev.vars; every
// account name signs in (its claims default to a verified
// <name>@example.com at the generic provider). Ctrl-C stops it.
import { startIdentityProviders } from "../test/setup/identity-providers.ts";

const port = Number(process.env.PROVIDERS_PORT ?? 8790);
const service = process.env.SERVICE_URL ?? "http://localhost:8787";
const app = process.env.APP_RETURN_URL ?? `${service}/account`;

const providers = await startIdentityProviders({
  port,
  origins: [service],
  // Any name signs in at the generic provider, with a verified address of its own.
  defaultClaims: (sub) => ({ email: `${sub}@example.com`, email_verified: true, name: sub }),
});
const url = providers.url;
const vars = {
  REDIRECT_URLS: app,
  OIDC_PROVIDERS: JSON.stringify([
    {
      id: "acme",
      name: "Acme SSO (local)",
      issuer: `${url}/generic`,
      clientId: "acme-client",
      clientSecret: "acme-secret",
      trustEmail: true,
    },
  ]),
  GITHUB_CLIENT_ID: "github-client",
  GITHUB_CLIENT_SECRET: "github-secret",
  OAUTH_ENDPOINTS_FOR_TESTS_ONLY: JSON.stringify({ github: `${url}/github` }),
};
console.log(`identity providers on ${url} (generic OpenID provider at ${url}/generic)`);
console.log("add to .dev.vars, then npm run dev:\n");
for (const [name, value] of Object.entries(vars)) console.log(`${name}='${value}'`);
console.log(
  `\nsign in: ${service}/auth/oauth/acme?redirect_to=${encodeURIComponent(app)}` +
    "&code_challenge=<S256 of your verifier>, or with the client's signInWithProvider",
);
const stop = async () => {
  await providers.close();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
