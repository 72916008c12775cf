// Signing-key rotation as an operator does it in production, where a Worker
// secret cannot be read back: the next JWT_SIGNING_KEYS is computed from the
// live JWKS alone (scripts/lib/key-rotation.ts, what `npm run keys:rotate`
// prints), with the retired key kept as a PUBLIC JWK. Tokens signed with the
// retired key keep verifying until the next rotation drops it.
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { generateSigningKey, nextSigningKeys, type PrivateSigningJwk } from "../../scripts/lib/key-rotation";
import { problemOf, testService, type TestService } from "../support/harness";

const serviceWith = (keys: object[]) => testService({ env: { JWT_SIGNING_KEYS: JSON.stringify(keys) } });

async function jwksOf(service: TestService): Promise<{ keys: Record<string, unknown>[] }> {
  const res = await service.call("GET", "/.well-known/jwks.json");
  expect(res.status).toBe(200);
  return res.json();
}

const verifies = async (service: TestService, token: string) =>
  (await service.call("GET", "/auth/verify", { token })).status;

describe("signing-key rotation from the live JWKS", () => {
  it(
    "old tokens keep verifying after a rotation, new ones carry the new kid, " +
      "and the next rotation drops the retired key",
    async () => {
      const first: PrivateSigningJwk = await generateSigningKey();
      const before = serviceWith([first]);
      const alice = await before.signIn();
      expect(decodeProtectedHeader(alice.tokens.accessToken).kid).toBe(first.kid);

      // Rotation 1: [new private, the old signer as a public JWK].
      const second = await generateSigningKey();
      const rotatedKeys = nextSigningKeys(await jwksOf(before), second);
      expect(rotatedKeys[1]).not.toHaveProperty("d");
      const after = serviceWith(rotatedKeys);
      expect(await verifies(after, alice.tokens.accessToken)).toBe(200);
      expect((await after.call("GET", "/me", { token: alice.tokens.accessToken })).status).toBe(200);
      const jwks = await jwksOf(after);
      expect(jwks.keys.map((key) => key.kid)).toEqual([second.kid, first.kid]);
      for (const key of jwks.keys) expect(key).not.toHaveProperty("d");

      const bob = await after.signIn();
      expect(decodeProtectedHeader(bob.tokens.accessToken).kid).toBe(second.kid);
      // A refresh across the rotation is signed with the new key too.
      const refreshed = await after.refreshOk(alice.tokens.refreshToken);
      expect(decodeProtectedHeader(refreshed.accessToken).kid).toBe(second.kid);

      // Rotation 2 (after the longest access-token lifetime): the first key is gone.
      const third = await generateSigningKey();
      const later = serviceWith(nextSigningKeys(await jwksOf(after), third));
      expect(await verifies(later, bob.tokens.accessToken)).toBe(200);
      const refused = await later.call("GET", "/auth/verify", { token: alice.tokens.accessToken });
      expect(refused.status).toBe(401);
      expect((await problemOf(refused)).code).toBe("invalid_token");
      expect((await jwksOf(later)).keys.map((key) => key.kid)).toEqual([third.kid, second.kid]);
    },
  );

  it("a retired key kept as a public JWK never signs, and a public JWK cannot be the signing key", async () => {
    const signer = await generateSigningKey();
    const { d: _d, ...retired } = await generateSigningKey();
    const service = serviceWith([signer, retired]);
    const { tokens } = await service.signIn();
    expect(decodeProtectedHeader(tokens.accessToken).kid).toBe(signer.kid);

    const misconfigured = serviceWith([retired, signer]);
    const res = await misconfigured.call("GET", "/.well-known/jwks.json");
    expect(res.status).toBe(500);
    expect((await problemOf(res)).code).toBe("internal_error");
    const ready = await misconfigured.call("GET", "/health/ready");
    expect(ready.status).toBe(503);
    expect((await problemOf(ready)).code).toBe("service_unavailable");
  });
});
