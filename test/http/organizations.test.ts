// Organizations through the Worker (docs/organizations.md): create, list,
// read, rename, delete; slug rules; the organization's own audit log.
import { describe, expect, it } from "vitest";
import { call, db, fakeClock, problemOf, testService } from "../support/harness";
import { addMember, createOrg, inviteToken, verifiedUser } from "../support/organizations";

const service = testService();

describe("creating an organization", () => {
  it("makes the caller its owner and answers {org}; audited with orgId in metadata and in org_id", async () => {
    const owner = await verifiedUser(service);
    const res = await call("POST", "/orgs", { token: owner.tokens.accessToken, body: { name: "Initech" } });
    expect(res.status).toBe(201);
    const { org } = (await res.json()) as { org: { id: string; name: string; slug: string; createdAt: string } };
    expect(Object.keys(org).sort()).toEqual(["createdAt", "id", "name", "slug"]);
    expect(org.name).toBe("Initech");
    expect(org.slug).toMatch(/^initech(-[a-z0-9]{5})?$/);
    const rows = await db.query<{ event: string; org_id: string; metadata: { orgId: string } }>(
      "select event, org_id, metadata from audit_logs where user_id = $1 and event like 'org.%' order by event",
      [owner.user.id],
    );
    expect(rows.map((r) => [r.event, r.org_id, r.metadata.orgId])).toEqual([
      ["org.created", org.id, org.id],
      ["org.member_added", org.id, org.id],
    ]);
    const list = await call("GET", "/orgs", { token: owner.tokens.accessToken });
    expect(await list.json()).toEqual({ orgs: [{ org, roles: ["owner"] }] });
    const one = await call("GET", `/orgs/${org.id.toUpperCase()}`, { token: owner.tokens.accessToken });
    expect(await one.json()).toEqual({ org });
  });

  it("refuses a slug in use (409 slug_taken) and a slug of the wrong form (400)", async () => {
    const owner = await verifiedUser(service);
    const slug = `taken-${crypto.randomUUID().slice(0, 8)}`;
    await createOrg(service, owner, { name: "First", slug });
    const again = await call("POST", "/orgs", { token: owner.tokens.accessToken, body: { name: "Second", slug } });
    expect(again.status).toBe(409);
    expect((await problemOf(again)).code).toBe("slug_taken");
    for (const bad of ["ab", "-abc", "abc-", "ABC", "a_bc", "a".repeat(41), "ab c"]) {
      const res = await call("POST", "/orgs", { token: owner.tokens.accessToken, body: { name: "X", slug: bad } });
      expect(res.status, bad).toBe(400);
      expect((await problemOf(res)).code).toBe("validation_failed");
    }
    const [count] = await db.query<{ n: number }>(
      "select count(*)::int as n from organization_members where user_id = $1",
      [owner.user.id],
    );
    expect(count!.n).toBe(1);
  });

  it("makes the slug from the name, with a short suffix when that one is taken", async () => {
    const owner = await verifiedUser(service);
    const name = `Écoles Réunies ${crypto.randomUUID().slice(0, 6)}`;
    const first = await createOrg(service, owner, { name });
    const base = name
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/ /g, "-");
    expect(first.slug).toBe(base);
    const second = await createOrg(service, owner, { name });
    expect(second.slug).toMatch(new RegExp(`^${base}-[a-z0-9]{5}$`));
    const tiny = await createOrg(service, owner, { name: "!" });
    expect(tiny.slug).toMatch(/^org-team(-[a-z0-9]{5})?$/);
  });

  it("refuses a body with privileged or unknown fields, or no name (400)", async () => {
    const owner = await verifiedUser(service);
    for (const body of [{ name: "X", id: crypto.randomUUID() }, { name: "X", roles: ["owner"] }, {}, { name: "  " }]) {
      const res = await call("POST", "/orgs", { token: owner.tokens.accessToken, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
  });
});

describe("renaming and deleting", () => {
  it("renames and re-slugs (org:update), refusing a slug in use", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner, { name: "Old" });
    const other = await createOrg(service, owner, { name: "Other" });
    const slug = `new-${crypto.randomUUID().slice(0, 8)}`;
    const res = await call("PATCH", `/orgs/${org.id}`, {
      token: owner.tokens.accessToken,
      body: { name: "New", slug },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { org: { name: string; slug: string } }).org).toMatchObject({ name: "New", slug });
    const taken = await call("PATCH", `/orgs/${org.id}`, {
      token: owner.tokens.accessToken,
      body: { slug: other.slug },
    });
    expect(taken.status).toBe(409);
    expect((await problemOf(taken)).code).toBe("slug_taken");
  });

  it("two renames racing for one new slug: one 200, the other 409 slug_taken (never 500), nothing half-written", async () => {
    const owner = await verifiedUser(service);
    const rival = await verifiedUser(service);
    for (let round = 0; round < 6; round++) {
      const mine = await createOrg(service, owner);
      const theirs = await createOrg(service, rival);
      const slug = `race-${crypto.randomUUID().slice(0, 8)}`;
      const answers = await Promise.all(
        [
          [owner, mine],
          [rival, theirs],
        ].map(([who, org]) =>
          call("PATCH", `/orgs/${(org as { id: string }).id}`, {
            token: (who as typeof owner).tokens.accessToken,
            body: { name: `Renamed ${round}`, slug },
          }),
        ),
      );
      const statuses = answers.map((res) => res.status);
      expect(statuses.sort(), `round ${round}`).toEqual([200, 409]);
      const loser = answers.find((res) => res.status === 409)!;
      expect((await problemOf(loser)).code).toBe("slug_taken");
      const loserOrg = answers[0]!.status === 409 ? mine : theirs;
      // The loser's organization is untouched: its name, its slug, no org.updated row.
      const [row] = await db.query<{ name: string; slug: string }>(
        "select name, slug from organizations where id = $1",
        [loserOrg.id],
      );
      expect(row).toEqual({ name: loserOrg.name, slug: loserOrg.slug });
      const updated = await db.query("select 1 from audit_logs where org_id = $1 and event = 'org.updated'", [
        loserOrg.id,
      ]);
      expect(updated).toEqual([]);
      expect(await db.query("select 1 from organizations where slug = $1", [slug])).toHaveLength(1);
    }
  });

  it("two creations racing for one slug: one 201, the other 409 slug_taken (never 500), nothing half-written", async () => {
    const first = await verifiedUser(service);
    const second = await verifiedUser(service);
    for (let round = 0; round < 6; round++) {
      const slug = `race-new-${crypto.randomUUID().slice(0, 8)}`;
      const answers = await Promise.all(
        [first, second].map((who) =>
          call("POST", "/orgs", { token: who.tokens.accessToken, body: { name: `Race ${round}`, slug } }),
        ),
      );
      expect(answers.map((res) => res.status).sort(), `round ${round}`).toEqual([201, 409]);
      const loserIndex = answers.findIndex((res) => res.status === 409);
      expect((await problemOf(answers[loserIndex]!)).code).toBe("slug_taken");
      const loser = [first, second][loserIndex]!;
      // The loser holds no organization of that slug, and no audit row says otherwise.
      expect(await db.query("select 1 from organizations where slug = $1", [slug])).toHaveLength(1);
      const [orgs] = await db.query<{ n: number }>(
        "select count(*)::int as n from organization_members where user_id = $1",
        [loser.user.id],
      );
      const [created] = await db.query<{ n: number }>(
        "select count(*)::int as n from audit_logs where user_id = $1 and event = 'org.created'",
        [loser.user.id],
      );
      expect(created!.n).toBe(orgs!.n);
    }
  });

  it("deletes with a recent sign-in only; memberships, roles and invitations go, audit rows stay", async () => {
    const time = fakeClock();
    const timed = testService({ clock: time.clock });
    const owner = await verifiedUser(timed);
    const org = await createOrg(timed, owner);
    await timed.call("PUT", `/orgs/${org.id}/roles/billing`, {
      token: owner.tokens.accessToken,
      body: { permissions: ["org:read"] },
    });
    const member = await addMember(timed, owner, org.id, ["member"]);
    await inviteToken(timed, owner, org.id, `pending-${crypto.randomUUID().slice(0, 8)}@example.com`, ["member"]);

    time.advance(601);
    const { tokens } = await timed.refreshOk(owner.tokens.refreshToken).then((t) => ({ tokens: t }));
    const stale = await timed.call("DELETE", `/orgs/${org.id}`, { token: tokens.accessToken });
    expect(stale.status).toBe(403);
    expect((await problemOf(stale)).code).toBe("reauthentication_required");

    const fresh = await timed.login(owner.email, owner.password);
    const res = await timed.call("DELETE", `/orgs/${org.id}`, { token: fresh.tokens.accessToken });
    expect(res.status).toBe(204);
    for (const table of ["organization_members", "organization_roles", "organization_invitations"])
      expect(await db.query(`select 1 from ${table} where org_id = $1`, [org.id]), table).toEqual([]);
    expect(await db.query("select 1 from organizations where id = $1", [org.id])).toEqual([]);
    const audit = await db.query<{ event: string }>("select event from audit_logs where org_id = $1", [org.id]);
    expect(audit.map((a) => a.event)).toContain("org.deleted");
    expect(audit.length).toBeGreaterThan(4);
    // The former member finds nothing.
    const login = await timed.login(member.email, member.password);
    expect((await timed.call("GET", `/orgs/${org.id}`, { token: login.tokens.accessToken })).status).toBe(404);
    expect(await (await timed.call("GET", "/orgs", { token: login.tokens.accessToken })).json()).toEqual({ orgs: [] });
  });
});

describe("the organization's audit log", () => {
  it("shows only that organization's events, newest first, filtered by ?event, without ip or user agent", async () => {
    const owner = await verifiedUser(service);
    const org = await createOrg(service, owner, { name: "Audited" });
    const other = await createOrg(service, owner, { name: "Elsewhere" });
    await addMember(service, owner, other.id, ["member"]);
    await call("PATCH", `/orgs/${org.id}`, { token: owner.tokens.accessToken, body: { name: "Audited 2" } });

    const res = await call("GET", `/orgs/${org.id}/audit-logs`, { token: owner.tokens.accessToken });
    expect(res.status).toBe(200);
    const page = (await res.json()) as {
      items: { event: string; metadata: { orgId: string }; ip?: string; userAgent?: string }[];
      nextCursor: string | null;
    };
    expect(page.items.map((i) => i.event)).toEqual(["org.updated", expect.any(String), expect.any(String)]);
    expect(
      page.items
        .map((i) => i.event)
        .slice(1)
        .sort(),
    ).toEqual(["org.created", "org.member_added"]);
    expect(page.items.every((i) => i.metadata.orgId === org.id)).toBe(true);
    expect(page.items.some((i) => "ip" in i || "userAgent" in i)).toBe(false);

    const filtered = await call("GET", `/orgs/${org.id}/audit-logs?event=org.updated&limit=1`, {
      token: owner.tokens.accessToken,
    });
    const only = (await filtered.json()) as { items: { event: string }[]; nextCursor: string | null };
    expect(only.items.map((i) => i.event)).toEqual(["org.updated"]);
    expect(only.nextCursor).toBeNull();
    const paged = await call("GET", `/orgs/${org.id}/audit-logs?limit=2`, { token: owner.tokens.accessToken });
    const first = (await paged.json()) as { items: unknown[]; nextCursor: string };
    expect(first.items).toHaveLength(2);
    const rest = await call("GET", `/orgs/${org.id}/audit-logs?limit=2&cursor=${first.nextCursor}`, {
      token: owner.tokens.accessToken,
    });
    expect(((await rest.json()) as { items: unknown[] }).items).toHaveLength(1);
  });
});
