// The AuthService RPC entrypoint, called through the Worker's real named
// export (exports.AuthService), as another Worker's service binding would.
//
// Also: the entrypoint never throws nor rejects (a broken configuration, a
// failing KV namespace, odd arguments), and its exported type
// (`secureauth/rpc`, src/rpc-types.ts) types a consumer's binding.
import type {
  AccessTokenClaims as ExportedClaims,
  AuthorizeResult,
  AuthServiceRpc,
  VerifyResult,
} from "secureauth/rpc";
import { describe, expect, it, vi } from "vitest";
import type { AccessTokenClaims, AccessTokenSubject } from "../../src/features/tokens/types";
import {
  authService as auth,
  issueAccessToken,
  mintAccessToken,
  randomRefreshToken,
  revocations,
  testService,
} from "../support/harness";
import { feedAndLogDown } from "../support/feed";

/** An access token the service issues, for a user holding profile:read and sessions:read. */
const issue = (subject: Partial<AccessTokenSubject> = {}) =>
  issueAccessToken({ roles: ["user"], permissions: ["profile:read", "sessions:read"], ...subject });

describe("AuthService.verify", () => {
  it("returns ok with the claims of a valid access token", async () => {
    const { accessToken, claims } = await issue();
    expect(await auth.verify(accessToken)).toEqual({ ok: true, claims });
  });

  it("answers invalid_token, without throwing, for a forged, malformed or empty token", async () => {
    const { accessToken } = await issue();
    const [header, payload] = accessToken.split(".");
    for (const token of [
      `${header}.${payload}.`,
      "not-a-jwt",
      "",
      `sart_${"A".repeat(43)}`,
      randomRefreshToken("tagged"),
    ]) {
      expect(await auth.verify(token)).toEqual({ ok: false, code: "invalid_token" });
    }
  });

  it("answers invalid_token for a value that is not a string", async () => {
    for (const value of [undefined, null, 42, { token: "x" }, ["a.b.c"]]) {
      expect(await auth.verify(value as never)).toEqual({ ok: false, code: "invalid_token" });
    }
  });

  it("refuses a token whose session is revoked at the edge", async () => {
    const { accessToken, claims } = await issue();
    expect(await auth.verify(accessToken)).toMatchObject({ ok: true });
    await revocations().publish([{ kind: "session", subject: claims.sid }]);
    expect(await auth.verify(accessToken)).toEqual({ ok: false, code: "invalid_token" });
  });
});

describe("AuthService.authorize", () => {
  it("returns ok with the claims when the token carries the permission", async () => {
    const { accessToken, claims } = await issue();
    expect(await auth.authorize(accessToken, "profile:read")).toEqual({ ok: true, claims });
  });

  it("answers insufficient_permission when the token lacks the permission", async () => {
    const { accessToken } = await issue();
    expect(await auth.authorize(accessToken, "users:write")).toEqual({ ok: false, code: "insufficient_permission" });
  });

  it("does not treat a role name as a permission", async () => {
    const { accessToken } = await issue({ roles: ["admin"], permissions: ["profile:read"] });
    expect(await auth.authorize(accessToken, "admin")).toEqual({ ok: false, code: "insufficient_permission" });
  });

  it("answers invalid_token for a bad token before looking at permissions", async () => {
    expect(await auth.authorize("eyJhbGciOiJub25lIn0.e30.", "profile:read")).toEqual({
      ok: false,
      code: "invalid_token",
    });
    expect(await auth.authorize(42 as never, "profile:read")).toEqual({ ok: false, code: "invalid_token" });
  });

  it("refuses a token whose session is revoked, even with the permission", async () => {
    const { accessToken, claims } = await issue();
    await revocations().publish([{ kind: "session", subject: claims.sid }]);
    expect(await auth.authorize(accessToken, "profile:read")).toEqual({ ok: false, code: "invalid_token" });
  });

  it("fails closed with insufficient_permission when the permission argument is not a string", async () => {
    const { accessToken } = await issue();
    for (const permission of [undefined, null, 42, ["profile:read"]]) {
      expect(await auth.authorize(accessToken, permission as never)).toEqual({
        ok: false,
        code: "insufficient_permission",
      });
    }
  });
});

/** A KV namespace whose reads fail (rejecting, or throwing at the call), and whose writes succeed. */
/** Every console.error line while `run` runs. */
async function loggedLines(run: () => Promise<void>): Promise<string> {
  const logged = vi.spyOn(console, "error").mockImplementation(() => {});
  try {
    await run();
    return logged.mock.calls.map((args) => args.map(String).join(" ")).join("\n");
  } finally {
    logged.mockRestore();
  }
}

const ODD_TOKENS: unknown[] = [
  undefined,
  null,
  0,
  42,
  NaN,
  true,
  {},
  { token: "x" },
  ["a.b.c"],
  "",
  " ",
  "x".repeat(100_000),
  "\u0000",
  "a.b.c",
  10n,
  Symbol("token"),
  () => "token",
];

describe("AuthService never throws nor rejects", () => {
  it.each([
    ["JWT_SIGNING_KEYS is not JSON", { JWT_SIGNING_KEYS: "not json" }, "JWT_SIGNING_KEYS"],
    ["JWT_SIGNING_KEYS is missing", { JWT_SIGNING_KEYS: undefined }, "JWT_SIGNING_KEYS"],
    [
      "JWT_SIGNING_KEYS holds a public key only",
      { JWT_SIGNING_KEYS: JSON.stringify([{ kty: "OKP", crv: "Ed25519", x: "abc", kid: "k" }]) },
      "JWT_SIGNING_KEYS",
    ],
    ["REFRESH_TOKEN_SECRET is too short", { REFRESH_TOKEN_SECRET: "short" }, "REFRESH_TOKEN_SECRET"],
    ["ACCESS_TOKEN_TTL is not a number", { ACCESS_TOKEN_TTL: "ten minutes" }, "ACCESS_TOKEN_TTL"],
  ])(
    "stops a broken configuration (%s) from rejecting: service_unavailable " +
      "for every call, logged by the variable's name",
    async (_label, overrides, variable) => {
      const { accessToken } = await issue();
      const rpc = testService({ env: overrides }).rpc();
      const log = await loggedLines(async () => {
        await expect(rpc.verify(accessToken)).resolves.toEqual({ ok: false, code: "service_unavailable" });
        await expect(rpc.authorize(accessToken, "profile:read")).resolves.toEqual({
          ok: false,
          code: "service_unavailable",
        });
        // A misconfigured service refuses every call alike, whatever the argument.
        await expect(rpc.verify(42 as never)).resolves.toEqual({ ok: false, code: "service_unavailable" });
        await expect(rpc.authorize(accessToken, 42 as never)).resolves.toEqual({
          ok: false,
          code: "service_unavailable",
        });
      });
      expect(log).toContain(variable);
      expect(log).not.toContain(accessToken);
    },
  );

  it.each(["reject", "throw"] as const)(
    "stops a failing revocation-list read (the feed and its log both " +
      "unreachable, a call that %ss) from rejecting: service_unavailable, fail " +
      "closed, token never logged",
    async (how) => {
      const { accessToken } = await issue();
      const rpc = testService({ env: feedAndLogDown(how) }).rpc();
      const log = await loggedLines(async () => {
        await expect(rpc.verify(accessToken)).resolves.toEqual({ ok: false, code: "service_unavailable" });
        await expect(rpc.authorize(accessToken, "profile:read")).resolves.toEqual({
          ok: false,
          code: "service_unavailable",
        });
      });
      expect(log).toMatch(/"level":"error"/);
      expect(log).not.toContain(accessToken);
      expect(log).not.toContain(accessToken.split(".")[1]!);
    },
  );

  it(
    "answers a token that fails its signature invalid_token even while the " +
      "revocation stores fail: no store is read for it",
    async () => {
      const forged = await mintAccessToken({}, { header: { kid: "no-such-key" } });
      const rpc = testService({ env: feedAndLogDown() }).rpc();
      await expect(rpc.verify(forged)).resolves.toEqual({ ok: false, code: "invalid_token" });
      await expect(rpc.authorize(forged, "profile:read")).resolves.toEqual({ ok: false, code: "invalid_token" });
    },
  );

  it(
    "stops odd token arguments from rejecting: invalid_token for each, " +
      "called directly with values no binding would carry",
    async () => {
      const rpc = testService({ env: {} }).rpc();
      for (const value of ODD_TOKENS) {
        await expect(rpc.verify(value as never), String(typeof value)).resolves.toEqual({
          ok: false,
          code: "invalid_token",
        });
        await expect(rpc.authorize(value as never, "profile:read"), String(typeof value)).resolves.toEqual({
          ok: false,
          code: "invalid_token",
        });
      }
    },
  );

  it("stops odd permission arguments from rejecting: insufficient_permission for each", async () => {
    const { accessToken } = await issue();
    const rpc = testService({ env: {} }).rpc();
    for (const permission of [
      undefined,
      null,
      42,
      {},
      ["profile:read"],
      { toString: () => "profile:read" },
      Symbol("profile:read"),
      10n,
      "",
      "PROFILE:READ",
      "profile:read ",
    ]) {
      await expect(rpc.authorize(accessToken, permission as never), String(typeof permission)).resolves.toEqual({
        ok: false,
        code: "insufficient_permission",
      });
    }
  });
});

describe("the exported entrypoint type (secureauth/rpc)", () => {
  /** True only when A and B are the same type. */
  type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

  it("stops the exported claims drifting from those the service issues", () => {
    const same: Same<ExportedClaims, AccessTokenClaims> = true;
    expect(same).toBe(true);
  });

  it(
    "types a consumer's binding without copying it: the real binding fits, " + "and a result narrows to the claims",
    async () => {
      // What a consumer writes (docs/rpc.md); tsc checks it in npm test.
      interface ConsumerEnv {
        AUTH: Service & AuthServiceRpc;
      }
      const consumerEnv: ConsumerEnv = { AUTH: auth };
      const { accessToken, claims } = await issue();

      const verified: VerifyResult = await consumerEnv.AUTH.verify(accessToken);
      if (!verified.ok) expect.unreachable(verified.code);
      const sub: string = verified.claims.sub;
      expect(sub).toBe(claims.sub);

      const authorized: AuthorizeResult = await consumerEnv.AUTH.authorize(accessToken, "users:write");
      expect(authorized.ok ? "ok" : authorized.code).toBe("insufficient_permission");
    },
  );
});
