// Federated sign-in through the Worker against real providers running
// locally (test/setup/identity-providers.ts): the browser flow, the code
// exchange and the linking rules, each security rule named after the attack
// it stops.
import { describe, expect, it } from "vitest";
import { claimsOf, problemOf, testService } from "../support/harness";
import {
  exchange,
  federationEnv,
  providerAccount,
  signInThrough,
  TestBrowser,
  uniqueSubject,
} from "../support/federation";

const service = testService({ env: federationEnv() });

describe("the browser flow", () => {
  it("signs a new user in through an OpenID provider: code, exchange, amr fed, isNewUser", async () => {
    const sub = uniqueSubject("acme");
    await providerAccount(sub, { email: `${sub}@acme.example`, email_verified: true, name: "Ada Acme" });
    const browser = new TestBrowser(service);
    const flow = await signInThrough(browser, "acme", sub);
    expect(flow.query).toMatchObject({ state: "app-state-1" });
    expect(flow.query.code).toBeDefined();
    const res = await exchange(service, flow.query.code!, flow.verifier);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      user: { email: string; emailVerified: boolean };
      tokens: { accessToken: string };
      isNewUser: boolean;
    };
    expect(body.isNewUser).toBe(true);
    expect(body.user).toMatchObject({ email: `${sub}@acme.example`, emailVerified: true });
    expect(claimsOf(body.tokens.accessToken).amr).toEqual(["fed"]);
  });
});
