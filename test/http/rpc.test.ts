// The AuthService RPC entrypoint, called through the Worker's real named
// export (exports.AuthService), as another Worker's service binding would.
import { describe, expect, it } from "vitest";
import type { AccessTokenSubject } from "../../src/services/tokens/types";
import { authService as auth, issueAccessToken, randomRefreshToken, revocations } from "../support/harness";

/** An access token the service issues, for a user holding profile:read and sessions:read. */
const issue = (subject: Partial<AccessTokenSubject> = {}) => issueAccessToken({ roles: ["user"], permissions: ["profile:read", "sessions:read"], ...subject });

describe("AuthService.verify", () => {
  it("returns ok with the claims of a valid access token", async () => {
    const { accessToken, claims } = await issue();
    expect(await auth.verify(accessToken)).toEqual({ ok: true, claims });
  });

  it("answers invalid_token, without throwing, for a forged, malformed or empty token", async () => {
    const { accessToken } = await issue();
    const [header, payload] = accessToken.split(".");
    for (const token of [`${header}.${payload}.`, "not-a-jwt", "", "sart_" + "A".repeat(43), randomRefreshToken("tagged")]) {
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
    await revocations().revoke([claims.sid]);
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
    expect(await auth.authorize("eyJhbGciOiJub25lIn0.e30.", "profile:read")).toEqual({ ok: false, code: "invalid_token" });
    expect(await auth.authorize(42 as never, "profile:read")).toEqual({ ok: false, code: "invalid_token" });
  });

  it("refuses a token whose session is revoked, even with the permission", async () => {
    const { accessToken, claims } = await issue();
    await revocations().revoke([claims.sid]);
    expect(await auth.authorize(accessToken, "profile:read")).toEqual({ ok: false, code: "invalid_token" });
  });

  it("fails closed with insufficient_permission when the permission argument is not a string", async () => {
    const { accessToken } = await issue();
    for (const permission of [undefined, null, 42, ["profile:read"]]) {
      expect(await auth.authorize(accessToken, permission as never)).toEqual({ ok: false, code: "insufficient_permission" });
    }
  });
});
