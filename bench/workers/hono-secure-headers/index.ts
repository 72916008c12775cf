// `npm run bench`'s ceiling for a route that needs nothing: a plain Hono
// Worker whose GET /health answers {"status":"ok"} with the security headers
// SecureAuth sends on every answer (src/http/security-headers), set by Hono's
// own secureHeaders middleware, and only those: Strict-Transport-Security,
// X-Content-Type-Options, Content-Security-Policy, Referrer-Policy.
import { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";

const app = new Hono();
app.use(
  secureHeaders({
    strictTransportSecurity: "max-age=31536000; includeSubDomains",
    xContentTypeOptions: true,
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    referrerPolicy: "no-referrer",
    crossOriginEmbedderPolicy: false,
    crossOriginResourcePolicy: false,
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xFrameOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
    permissionsPolicy: {},
  }),
);
app.get("/health", (c) => c.json({ status: "ok" }));

export default app;
