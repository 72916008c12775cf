// /openapi.json complete enough for client generators: every operation has an
// operationId, says its security (public ones `security: []`), and lists its
// problems with the headers they carry, and documents the password policy.
// And the one 503 the verify path has. (test/openapi/lint.test.ts lints it
// with Redocly and generates types from it with openapi-typescript.)
import { describe, expect, it } from "vitest";
import packageJson from "../../package.json";
import { BASE, call, problemOf, signIn, testService } from "../support/harness";
import { feedAndLogDown } from "../support/feed";

type Operation = {
  operationId?: string;
  security?: unknown[];
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, unknown> }>;
  parameters?: { name: string; in: string; schema?: { type?: string } }[];
};
type Document = {
  info: { title: string; version: string };
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes?: Record<string, unknown> };
};

const documentOf = async () => (await (await call("GET", "/openapi.json")).json()) as Document;
const operations = (doc: Document) =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method, op })),
  );

const PUBLIC = [
  "POST /auth/register",
  "POST /auth/login",
  "POST /auth/refresh",
  "POST /auth/email/verify",
  "POST /auth/password/forgot",
  "POST /auth/password/reset",
  "POST /auth/email/change",
  "POST /auth/mfa",
  "POST /auth/passkey/options",
  "POST /auth/passkey",
  "POST /auth/email/code",
  "POST /auth/email/code/verify",
  "GET /auth/providers",
  "GET /auth/oauth/{provider}",
  "GET /auth/oauth/{provider}/callback",
  "POST /auth/oauth/{provider}/callback",
  "POST /auth/exchange",
  "POST /auth/oauth/{provider}/id-token",
  "GET /health",
  "GET /health/ready",
  "GET /.well-known/jwks.json",
  "GET /account",
  "GET /docs",
];

describe("GET /openapi.json for generators", () => {
  it("names the server that answers it", async () => {
    expect((await documentOf()).servers).toEqual([{ url: BASE }]);
  });

  it("states the package's version as the document's version", async () => {
    const { info } = await documentOf();
    expect(info.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(info.version).toBe(packageJson.version);
  });

  it("gives every operation a unique operationId", async () => {
    const ids = operations(await documentOf()).map(({ op }) => op.operationId);
    expect(ids.every((id) => typeof id === "string" && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it(
    "marks the public operations security: [] and every other one with the " + "bearer scheme or the access cookie",
    async () => {
      const doc = await documentOf();
      expect(doc.components.securitySchemes).toEqual({
        bearerAuth: expect.objectContaining({ type: "http", scheme: "bearer", bearerFormat: "JWT" }),
        cookieAuth: expect.objectContaining({ type: "apiKey", in: "cookie", name: "__Host-sa_at" }),
      });
      for (const { path, method, op } of operations(doc)) {
        const name = `${method.toUpperCase()} ${path}`;
        if (PUBLIC.includes(name)) {
          expect(op.security, name).toEqual([]);
          continue;
        }
        // Either credential, as alternatives (two requirement objects, not one with both); an empty one only where the
        // token is optional.
        expect(op.security!.slice(0, 2), name).toEqual([{ bearerAuth: [] }, { cookieAuth: [] }]);
        expect(
          op.security!.slice(2).every((requirement) => Object.keys(requirement as object).length === 0),
          name,
        ).toBe(true);
      }
    },
  );

  it(
    "documents 401 with WWW-Authenticate where a token is taken, 403 where " +
      "the cookie needs the CSRF rule, and 400, 413 and 415 where there is a " +
      "body",
    async () => {
      for (const { path, method, op } of operations(await documentOf())) {
        const name = `${method.toUpperCase()} ${path}`;
        if (!PUBLIC.includes(name)) {
          expect(op.responses["401"]?.headers, name).toHaveProperty("WWW-Authenticate");
          if (method !== "get") expect(op.responses, name).toHaveProperty("403");
        }
        if (op.requestBody)
          for (const status of ["400", "413", "415"]) expect(op.responses, `${name} ${status}`).toHaveProperty(status);
      }
    },
  );

  it("documents the password policy on the passwords being chosen, not on the ones being checked", async () => {
    const doc = await documentOf();
    const bodyOf = (path: string) =>
      (
        doc.paths[path]!.post!.requestBody!.content["application/json"] as {
          schema: { properties: Record<string, { minLength?: number; maxLength?: number }> };
        }
      ).schema.properties;
    const policy = { minLength: 12, maxLength: 128 };
    expect(bodyOf("/auth/register").password).toMatchObject(policy);
    expect(bodyOf("/auth/password").newPassword).toMatchObject(policy);
    expect(bodyOf("/auth/password/reset").newPassword).toMatchObject(policy);
    // A wrong current password is a wrong password, not a validation error.
    expect(bodyOf("/auth/login").password).toMatchObject({ minLength: 1, maxLength: 1024 });
    expect(bodyOf("/auth/password").currentPassword).toMatchObject({ minLength: 1, maxLength: 1024 });
  });

  it("documents 405 and 500 on every operation, and the header each problem carries", async () => {
    for (const { path, method, op } of operations(await documentOf())) {
      const name = `${method.toUpperCase()} ${path}`;
      expect(op.responses["405"]?.headers, name).toHaveProperty("Allow");
      expect(op.responses["500"]?.content, name).toHaveProperty(["application/problem+json"]);
      if (op.responses["401"]) expect(op.responses["401"].headers, name).toHaveProperty("WWW-Authenticate");
      if (op.responses["429"]) expect(op.responses["429"].headers, name).toHaveProperty("Retry-After");
    }
  });

  it("documents the page size as an integer from 1 to 100", async () => {
    const doc = await documentOf();
    for (const path of ["/me/activity", "/admin/users", "/admin/audit-logs"]) {
      const limit = doc.paths[path]!.get!.parameters!.find((p) => p.name === "limit");
      expect(limit?.schema, path).toMatchObject({ type: "integer", minimum: 1, maximum: 100 });
    }
  });

  it("documents 503 on every operation that needs a store", async () => {
    const noStore = ["GET /health", "GET /.well-known/jwks.json", "GET /account", "GET /docs", "GET /auth/providers"];
    for (const { path, method, op } of operations(await documentOf())) {
      const name = `${method.toUpperCase()} ${path}`;
      if (!noStore.includes(name)) expect(op.responses, name).toHaveProperty("503");
    }
  });
});

describe("GET /auth/verify when the revocation feed and its log cannot be read", () => {
  it("fails closed with 503 service_unavailable, not a 500 and never a pass", async () => {
    const { tokens } = await signIn();
    const res = await testService({ env: feedAndLogDown() }).call("GET", "/auth/verify", {
      token: tokens.accessToken,
    });
    expect(res.status).toBe(503);
    expect((await problemOf(res)).code).toBe("service_unavailable");
    expect(res.headers.get("x-auth-user-id")).toBeNull();
  });
});
