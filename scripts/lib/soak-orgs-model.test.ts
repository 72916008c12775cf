// The organizations phase's checker (soak-orgs-model.ts). Run by vitest.node.config.ts (Node).
import { describe, expect, it } from "vitest";
import { ORG_PERMISSIONS } from "../../src/core/permissions.ts";
import { OrgHistory, type OrgState, orgClaimOf, type TokenRecord, withMember, withRole } from "./soak-orgs-model.ts";

const catalog = [...ORG_PERMISSIONS, "projects:read", "projects:write"];
const ORG = "00000000-0000-4000-8000-0000000000aa";
const BOB = "bob";

function start(): { history: OrgHistory; state: OrgState } {
  const history = new OrgHistory(catalog);
  const state: OrgState = {
    members: new Map([[BOB, ["developer", "member"]]]),
    roles: new Map([["developer", ["projects:read", "projects:write"]]]),
  };
  history.begin(ORG, state);
  return { history, state };
}

const token = (at: number, permissions: string[]): TokenRecord => ({
  userId: BOB,
  start: at,
  end: at + 10,
  org: { id: ORG, slug: "acme", roles: ["developer", "member"], permissions },
});

const bobs = ["members:read", "org:read", "projects:read", "projects:write"];

describe("the organizations phase's checker", () => {
  it("a token verifying a right removed longer ago than the bound is a violation; within the bound it is not", () => {
    const { history, state } = start();
    const t = token(100, bobs);
    history.record({
      orgId: ORG,
      kind: "roles",
      userId: BOB,
      start: 200,
      end: 220,
      after: withMember(state, BOB, ["member"]),
    });
    expect(history.violation(t, "projects:write", 221, 0)?.kind).toBe("roles");
    expect(history.violation(t, "projects:write", 1000, 2000)).toBeUndefined();
    expect(history.violation(t, "projects:write", 2220, 2000)?.kind).toBe("roles");
    // Still held after the change: no violation, whenever.
    expect(history.violation(t, "org:read", 5000, 0)).toBeUndefined();
  });

  it("a redefinition or a removal takes the right away too; a change before the token was issued does not", () => {
    const { history, state } = start();
    history.record({
      orgId: ORG,
      kind: "define",
      start: 50,
      end: 60,
      after: withRole(state, "developer", ["projects:read"]),
    });
    const t = token(100, ["members:read", "org:read", "projects:read"]);
    expect(history.violation(t, "projects:read", 500, 0)).toBeUndefined();
    history.record({
      orgId: ORG,
      kind: "remove",
      userId: BOB,
      start: 200,
      end: 210,
      after: withMember(history.current(ORG), BOB, undefined),
    });
    expect(history.violation(t, "projects:read", 500, 0)?.kind).toBe("remove");
  });

  it("a claim matches a state the request may have read, and only such a state", () => {
    const { history, state } = start();
    history.record({
      orgId: ORG,
      kind: "roles",
      userId: BOB,
      start: 200,
      end: 220,
      after: withMember(state, BOB, ["member"]),
    });
    const old = { id: ORG, slug: "acme", roles: ["member", "developer"], permissions: bobs };
    const now = { id: ORG, slug: "acme", roles: ["member"], permissions: ["members:read", "org:read"] };
    expect(history.claimMatches(BOB, old, { start: 150, end: 190 })).toBe(true);
    expect(history.claimMatches(BOB, old, { start: 210, end: 230 })).toBe(true);
    expect(history.claimMatches(BOB, now, { start: 210, end: 230 })).toBe(true);
    expect(history.claimMatches(BOB, old, { start: 221, end: 230 })).toBe(false);
    expect(history.claimMatches(BOB, now, { start: 150, end: 190 })).toBe(false);
    // Richer than any state: never.
    expect(
      history.claimMatches(
        BOB,
        { ...now, permissions: [...now.permissions, "members:remove"] },
        { start: 0, end: 1e9 },
      ),
    ).toBe(false);
  });

  it("refusals are explained only by a change that can have caused them", () => {
    const { history, state } = start();
    const t = token(100, bobs);
    expect(history.mayBeStale(t, 1000)).toBeUndefined();
    expect(history.mayHaveBeenAbsent(ORG, BOB, { start: 0, end: 1000 })).toBe(false);
    history.record({
      orgId: ORG,
      kind: "remove",
      userId: BOB,
      start: 200,
      end: 210,
      after: withMember(state, BOB, undefined),
    });
    expect(history.mayBeStale(t, 150)).toBeUndefined();
    expect(history.mayBeStale(t, 205)?.kind).toBe("remove");
    expect(history.mayHaveBeenAbsent(ORG, BOB, { start: 0, end: 190 })).toBe(false);
    expect(history.mayHaveBeenAbsent(ORG, BOB, { start: 0, end: 205 })).toBe(true);
    expect(history.surelyStale(t, 209, 0)).toBeUndefined();
    expect(history.surelyStale(t, 210, 0)?.kind).toBe("remove");
    // Another member's change stops nobody else's token.
    const other = { ...t, userId: "carol" };
    expect(history.mayBeStale(other, 1000)).toBeUndefined();
    expect(history.surelyStale(other, 1000, 0)).toBeUndefined();
  });

  it("reads the org claim from an access token's payload", () => {
    const payload = Buffer.from(JSON.stringify({ sub: BOB, org: token(0, bobs).org })).toString("base64url");
    expect(orgClaimOf(`e30.${payload}.sig`)?.permissions).toEqual(bobs);
    expect(orgClaimOf(`e30.${Buffer.from("{}").toString("base64url")}.sig`)).toBeUndefined();
  });
});
