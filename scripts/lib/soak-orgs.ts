// The soak run's organizations phase: members switching organizations while
// their roles change. A few organizations, each with one owner; every member
// belongs to each of them. For `seconds`, each member's devices (sessions)
// switch their active organization (POST /auth/org), refresh, and verify
// organization permissions with the tokens they obtained, old ones included
// (GET /auth/verify?permission=P&org=ID, at this isolate and at another that
// shares only the revocation feed); meanwhile each owner, one change at a
// time, replaces a member's roles, redefines a custom role, or removes a
// member and invites them again (the mail read from a local inbox, the
// invitation accepted with the member's own session). After each change the
// owner verifies at once, here, the older tokens that claim a right the change
// took away, and polls one of them at the other isolate until it is refused.
// The checker (soak-orgs-model.ts) then judges every answer against the
// history of changes: no 200 for a right removed longer ago than the bound
// (0 here, where the change was made; the feed's bound at the other isolate),
// no older token accepted past the bound, every `org` claim equal to the
// database at that moment, every 4xx explained by a change that can have
// caused it; and the database agrees with the history at the end.
import { randomBytes } from "node:crypto";
import { ORG_PERMISSIONS } from "../../src/core/permissions.ts";
import { percentile, type Call } from "./soak-stats.ts";
import {
  type Change,
  OrgHistory,
  type OrgState,
  orgClaimOf,
  type TokenRecord,
  withMember,
  withRole,
} from "./soak-orgs-model.ts";

export type OrgSoakContext = {
  url: string;
  /** Another isolate of the same Worker sharing only the revocation feed, as another location. */
  elsewhere: string;
  /** The local inbox's web origin (maildev): the invitations are read from its API. */
  inbox: string;
  /** A statement against the service's database (the setup marks emails verified; the end compares). */
  query(text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  record(call: Call): void;
  check(name: string, pass: boolean, detail: string): void;
  log(message: string): void;
  stopped(): boolean;
  organizations: number;
  members: number;
  /** Sessions per member that switch, refresh and verify (the member's first session reads invitations). */
  devices: number;
  seconds: number;
  /** ORG_PERMISSIONS as the Worker was given it. */
  appPermissions: readonly string[];
  /** The feed's propagation bound to another isolate, ms. */
  boundMs: number;
  /** Called once the setup is done and the load starts (the caller then sets a timer for stopped()). */
  onLoad(): void;
};

export const PHASE = "organizations";

type Raw = {
  endpoint: string;
  status: number;
  code?: string;
  problem: boolean;
  start: number;
  end: number;
  body: unknown;
};
type Judgement = { expected: boolean; reason?: string };
type Tokens = { accessToken: string; refreshToken: string };
/** A token the checker keeps: what it claims, when it was issued, and the access token itself. */
type Held = TokenRecord & { accessToken: string };
type Member = {
  id: string;
  email: string;
  password: string;
  /** The member's first session, which accepts invitations (one owner at a time: its refresh token rotates). */
  inbox: Session;
  inboxQueue: Promise<unknown>;
  held: Held[];
};
type Session = { tokens: Tokens; access: Held };
type Org = { id: string; name: string; slug: string; ownerToken: string; ownerId: string };

const STALE =
  "a token issued before a change to its holder's roles or membership, or to its organization's role definitions: " +
  "refused at the edge";
const ABSENT = "not a member at that moment: removed by the owner, invited again later";
const UNCLAIMED = "a permission the token does not claim, asked on purpose";
const KEEP_TOKENS = 8;
const ROLE_SETS = [["member"], ["member", "viewer"], ["developer", "member"], ["admin"], ["developer", "viewer"]];

export async function runOrganizations(ctx: OrgSoakContext): Promise<void> {
  const catalog = [...ORG_PERMISSIONS, ...ctx.appPermissions];
  const app = ctx.appPermissions;
  const definitions: Record<string, string[][]> = {
    developer: [[app[0]!, app[1]!], [app[0]!], [app[1]!, app[2]!]],
    viewer: [[app[0]!], [app[0]!, app[2]!], [app[2]!]],
  };
  const history = new OrgHistory(catalog);
  const judged: { raw: Raw; judge: () => Judgement }[] = [];
  const verifies: { held: Held; permission: string; where: "here" | "elsewhere"; raw: Raw }[] = [];
  const claims: { what: string; ok: () => boolean; raw: Raw }[] = [];
  const propagation: number[] = [];
  let neverRefused = 0;
  const counts = { roles: 0, define: 0, remove: 0, accept: 0, switches: 0, refreshes: 0 };
  const usedInvitations = new Set<string>();
  let ip = 0;

  async function send(
    endpoint: string,
    path: string,
    options: { method?: string; body?: unknown; token?: string; base?: string },
    judge: (raw: Raw) => Judgement,
  ): Promise<Raw> {
    const headers: Record<string, string> = { "cf-connecting-ip": `198.51.${100 + ((ip >> 8) & 3)}.${ip++ & 255}` };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const start = performance.now();
    let status = 0;
    let body: unknown;
    let problem = false;
    try {
      const res = await fetch(`${options.base ?? ctx.url}${path}`, {
        method: options.method ?? (options.body === undefined ? "GET" : "POST"),
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      status = res.status;
      problem = (res.headers.get("content-type") ?? "").startsWith("application/problem+json");
      body = text ? JSON.parse(text) : undefined;
    } catch {}
    const code = problem ? (body as { code?: string } | undefined)?.code : undefined;
    const raw: Raw = { endpoint, status, problem, start, end: performance.now(), body, ...(code ? { code } : {}) };
    judged.push({ raw, judge: () => judge(raw) });
    return raw;
  }
  const only =
    (...statuses: number[]) =>
    (raw: Raw): Judgement => ({ expected: statuses.includes(raw.status) });
  const must = (raw: Raw, ...statuses: number[]) => {
    if (!statuses.includes(raw.status))
      throw new Error(`${raw.endpoint} answered ${raw.status}${raw.code ? ` ${raw.code}` : ""} during the setup`);
    return raw;
  };
  const issued = (userId: string, raw: Raw): Held => {
    const tokens = (raw.body as { tokens: Tokens }).tokens;
    const org = orgClaimOf(tokens.accessToken);
    return { userId, start: raw.start, end: raw.end, accessToken: tokens.accessToken, ...(org ? { org } : {}) };
  };
  const keep = (member: Member, held: Held) => {
    if (!held.org) return;
    member.held.push(held);
    if (member.held.length > KEEP_TOKENS) member.held.shift();
  };

  // --- setup: owners, members (emails verified), organizations, custom roles, invitations --------------------------
  const register = async (kind: string, i: number) => {
    const email = `soak-org-${kind}-${i}-${randomBytes(4).toString("hex")}@example.com`;
    const password = `soak org ${randomBytes(12).toString("base64url")}`;
    const raw = must(
      await send(
        "POST /auth/register",
        "/auth/register",
        { body: { email, password, name: `${kind} ${i}` } },
        only(201),
      ),
      201,
    );
    const user = (raw.body as { user: { id: string } }).user;
    return { id: user.id, email, password, raw };
  };
  const ownerAccounts = await Promise.all(Array.from({ length: ctx.organizations }, (_, i) => register("owner", i)));
  const memberAccounts = await Promise.all(Array.from({ length: ctx.members }, (_, i) => register("member", i)));
  await ctx.query("update users set email_verified_at = now() where id = any($1::uuid[])", [
    [...ownerAccounts, ...memberAccounts].map((a) => a.id),
  ]);
  const members: Member[] = memberAccounts.map((a) => ({
    id: a.id,
    email: a.email,
    password: a.password,
    inboxQueue: Promise.resolve(),
    held: [],
    inbox: {
      tokens: (a.raw.body as { tokens: Tokens }).tokens,
      access: issued(a.id, a.raw),
    },
  }));
  const orgs: Org[] = [];
  const initial = new Map<string, OrgState>();
  for (const [i, owner] of ownerAccounts.entries()) {
    const ownerToken = (owner.raw.body as { tokens: Tokens }).tokens.accessToken;
    const name = `Soak org ${i} ${randomBytes(3).toString("hex")}`;
    const created = must(await send("POST /orgs", "/orgs", { body: { name }, token: ownerToken }, only(201)), 201);
    const { id, slug } = (created.body as { org: { id: string; slug: string } }).org;
    orgs.push({ id, name, slug, ownerToken, ownerId: owner.id });
    let state: OrgState = { members: new Map([[owner.id, ["owner"]]]), roles: new Map() };
    for (const [name, options] of Object.entries(definitions)) {
      must(await putRole({ id, ownerToken } as Org, name, options[0]!), 200);
      state = withRole(state, name, options[0]!);
      counts.define++;
    }
    initial.set(id, state);
  }
  await Promise.all(
    orgs.map(async (org) => {
      for (const member of members) {
        const roles = pick(ROLE_SETS);
        must(await invite(org, member, roles), 201);
        const accepted = await accept(org, member);
        if (accepted?.status !== 200) throw new Error(`the setup could not accept an invitation: ${accepted?.status}`);
        counts.accept++;
        initial.set(org.id, withMember(initial.get(org.id)!, member.id, roles));
      }
    }),
  );
  for (const [id, state] of initial) history.begin(id, state);
  const devices: { member: Member; session: Session; active: string | null; since: number }[] = [];
  for (const member of members)
    for (let d = 0; d < ctx.devices; d++) {
      const raw = must(
        await send(
          "POST /auth/login",
          "/auth/login",
          { body: { email: member.email, password: member.password } },
          only(200),
        ),
        200,
      );
      devices.push({
        member,
        session: { tokens: (raw.body as { tokens: Tokens }).tokens, access: issued(member.id, raw) },
        active: null,
        since: raw.start,
      });
    }
  ctx.log(
    `organizations: ${orgs.length} organizations, ${members.length} members in each, ${devices.length} devices; ` +
      `${ctx.seconds} s of switching while the owners change roles`,
  );

  // --- the owners' changes ----------------------------------------------------------------------------------------
  function putRole(org: Org, name: string, permissions: string[]) {
    return send(
      "PUT /orgs/:id/roles/:name",
      `/orgs/${org.id}/roles/${name}`,
      { method: "PUT", body: { permissions }, token: org.ownerToken },
      only(200),
    );
  }
  function invite(org: Org, member: Member, roles: string[]) {
    return send(
      "POST /orgs/:id/invitations",
      `/orgs/${org.id}/invitations`,
      { body: { email: member.email, roles }, token: org.ownerToken },
      only(201),
    );
  }
  /** The invitation's token from the member's mail, then accepted with the member's own (refreshed) session. */
  async function accept(org: Org, member: Member): Promise<Raw | undefined> {
    const token = await invitationToken(member.email, org);
    const turn = member.inboxQueue.then(() => acceptWith(member, token));
    member.inboxQueue = turn.catch(() => {});
    return turn;
  }
  async function acceptWith(member: Member, token: string): Promise<Raw | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const refreshed = await refresh(member, member.inbox, null);
      if (refreshed.status !== 200) return refreshed;
      const held = member.inbox.access;
      const raw = await send(
        "POST /invitations/accept",
        "/invitations/accept",
        { body: { token }, token: held.accessToken },
        (r) =>
          r.status === 200
            ? { expected: true }
            : r.status === 401 && history.mayBeStale(held, r.end)
              ? { expected: true, reason: STALE }
              : { expected: false },
      );
      if (raw.status !== 401) return raw;
    }
    return undefined;
  }
  /** An unused invitation to this organization in the member's mail (its subject names the organization). */
  async function invitationToken(email: string, org: Org): Promise<string> {
    const deadline = performance.now() + 20_000;
    while (performance.now() < deadline) {
      const res = await fetch(`${ctx.inbox}/api/email`);
      const mails = (await res.json()) as { id: string; to?: { address: string }[]; subject?: string; text?: string }[];
      for (const mail of mails) {
        if (usedInvitations.has(mail.id) || mail.to?.[0]?.address !== email) continue;
        if (mail.subject !== `You are invited to join ${org.name}`) continue;
        const text =
          mail.text ?? ((await (await fetch(`${ctx.inbox}/api/email/${mail.id}`)).json()) as { text?: string }).text;
        const token = text?.match(/accept-invitation\?token=([A-Za-z0-9_-]+)/)?.[1];
        if (!token) continue;
        usedInvitations.add(mail.id);
        return token;
      }
      await sleep(100);
    }
    throw new Error(`no invitation mail reached ${email} for ${org.slug} within 20 s`);
  }

  async function change(org: Org, kind: Change["kind"], userId: string | undefined, after: OrgState, raw: Raw) {
    const record: Change = {
      orgId: org.id,
      kind,
      start: raw.start,
      end: raw.end,
      after,
      ...(userId ? { userId } : {}),
    };
    history.record(record);
    counts[kind]++;
    await probe(org, record);
  }

  /** The older tokens that claim a right the change took away: verified here at once, one polled elsewhere. */
  const polling = new Set<string>();
  async function probe(org: Org, changed: Change): Promise<void> {
    const affected = members
      .flatMap((m) => m.held)
      .filter((held) => held.org?.id === org.id && held.end <= changed.start)
      .map((held) => ({ held, removed: history.removedSince(held, changed.after) }))
      .filter(({ removed }) => removed.length > 0)
      .sort((a, b) => b.held.end - a.held.end)
      .slice(0, 3);
    for (const { held, removed } of affected) await verify(held, pick(removed), "here");
    const newest = affected[0];
    if (!newest || polling.has(org.id)) return;
    polling.add(org.id);
    void (async () => {
      try {
        const permission = pick(newest.removed);
        for (;;) {
          const raw = await verify(newest.held, permission, "elsewhere");
          if (raw.status !== 200) return void propagation.push(raw.end - changed.end);
          if (raw.end - changed.end > ctx.boundMs + 5000) return void neverRefused++;
          await sleep(25);
        }
      } finally {
        polling.delete(org.id);
      }
    })();
  }

  async function owner(org: Org): Promise<void> {
    while (!ctx.stopped()) {
      await sleep(100 + Math.random() * 200);
      const state = history.current(org.id);
      const present = members.filter((m) => state.members.has(m.id));
      const r = Math.random();
      if (r < 0.5 && present.length > 0) {
        const member = pick(present);
        const current = state.members.get(member.id)!.join();
        const roles = pick(ROLE_SETS.filter((set) => [...set].sort().join() !== current));
        const raw = await send(
          "PUT /orgs/:id/members/:userId/roles",
          `/orgs/${org.id}/members/${member.id}/roles`,
          { method: "PUT", body: { roles }, token: org.ownerToken },
          only(200),
        );
        if (raw.status === 200) await change(org, "roles", member.id, withMember(state, member.id, roles), raw);
      } else if (r < 0.8 || present.length === 0) {
        const name = pick(Object.keys(definitions));
        const current = state.roles.get(name)!.join();
        const permissions = pick(definitions[name]!.filter((p) => [...p].sort().join() !== current));
        const raw = await putRole(org, name, permissions);
        if (raw.status === 200) await change(org, "define", undefined, withRole(state, name, permissions), raw);
      } else {
        const member = pick(present);
        const removed = await send(
          "DELETE /orgs/:id/members/:userId",
          `/orgs/${org.id}/members/${member.id}`,
          { method: "DELETE", token: org.ownerToken },
          only(204),
        );
        if (removed.status !== 204) continue;
        await change(org, "remove", member.id, withMember(state, member.id, undefined), removed);
        const roles = pick(ROLE_SETS);
        if ((await invite(org, member, roles)).status !== 201) continue;
        const accepted = await accept(org, member);
        if (accepted?.status === 200)
          await change(org, "accept", member.id, withMember(history.current(org.id), member.id, roles), accepted);
      }
    }
  }

  // --- the members' devices ---------------------------------------------------------------------------------------
  async function refresh(member: Member, session: Session, device: (typeof devices)[number] | null): Promise<Raw> {
    const raw = await send(
      "POST /auth/refresh",
      "/auth/refresh",
      { body: { refreshToken: session.tokens.refreshToken } },
      only(200),
    );
    if (raw.status !== 200) return raw;
    counts.refreshes++;
    session.tokens = (raw.body as { tokens: Tokens }).tokens;
    session.access = issued(member.id, raw);
    keep(member, session.access);
    const claim = session.access.org;
    const active = device?.active ?? null;
    const since = device?.since ?? raw.start;
    claims.push({
      what: "refresh",
      raw,
      ok: () =>
        claim
          ? claim.id === active && history.claimMatches(member.id, claim, raw)
          : active === null || history.mayHaveBeenAbsent(active, member.id, { start: since, end: raw.end }),
    });
    if (device && !claim) device.active = null;
    return raw;
  }

  function verify(held: Held, permission: string, where: "here" | "elsewhere"): Promise<Raw> {
    const claimed = held.org!.permissions.includes(permission);
    const promise = send(
      where === "here" ? "GET /auth/verify?org" : "GET /auth/verify?org (elsewhere)",
      `/auth/verify?permission=${encodeURIComponent(permission)}&org=${held.org!.id}`,
      { token: held.accessToken, base: where === "here" ? ctx.url : ctx.elsewhere },
      (raw) =>
        raw.status === 200
          ? { expected: claimed }
          : raw.status === 401 && history.mayBeStale(held, raw.end)
            ? { expected: true, reason: STALE }
            : raw.status === 403 && !claimed
              ? { expected: true, reason: UNCLAIMED }
              : { expected: false },
    );
    return promise.then((raw) => {
      verifies.push({ held, permission, where, raw });
      return raw;
    });
  }

  async function device(d: (typeof devices)[number]): Promise<void> {
    const { member, session } = d;
    while (!ctx.stopped()) {
      const r = Math.random();
      if (r < 0.3) {
        const target = Math.random() < 0.1 ? null : pick(orgs).id;
        const held = session.access;
        const raw = await send(
          "POST /auth/org",
          "/auth/org",
          { body: { orgId: target }, token: held.accessToken },
          (r) =>
            r.status === 200
              ? { expected: true }
              : r.status === 404 && target !== null && history.mayHaveBeenAbsent(target, member.id, r)
                ? { expected: true, reason: ABSENT }
                : r.status === 401 && history.mayBeStale(held, r.end)
                  ? { expected: true, reason: STALE }
                  : { expected: false },
        );
        if (raw.status === 200) {
          counts.switches++;
          const token = (raw.body as { tokens: { accessToken: string } }).tokens.accessToken;
          const org = orgClaimOf(token);
          session.access = {
            userId: member.id,
            start: raw.start,
            end: raw.end,
            accessToken: token,
            ...(org ? { org } : {}),
          };
          keep(member, session.access);
          d.active = target;
          d.since = raw.start;
          claims.push({
            what: "switch",
            raw,
            ok: () =>
              target === null
                ? org === undefined
                : org?.id === target &&
                  org.slug === orgs.find((o) => o.id === target)!.slug &&
                  history.claimMatches(member.id, org, raw),
          });
        } else if (raw.status === 401) {
          if ((await refresh(member, session, d)).status !== 200) return;
        }
      } else if (r < 0.5) {
        if ((await refresh(member, session, d)).status !== 200) return;
      } else if (member.held.length > 0) {
        const held = Math.random() < 0.5 ? member.held.at(-1)! : pick(member.held);
        const unclaimed = catalog.filter((p) => !held.org!.permissions.includes(p));
        const permission = Math.random() < 0.2 && unclaimed.length > 0 ? pick(unclaimed) : pick(held.org!.permissions);
        await verify(held, permission, Math.random() < 0.25 ? "elsewhere" : "here");
      }
      await sleep(10 + Math.random() * 40);
    }
  }

  const started = performance.now();
  ctx.onLoad();
  await Promise.all([...orgs.map(owner), ...devices.map(device)]);
  while (polling.size > 0) await sleep(50);
  const seconds = (performance.now() - started) / 1000;

  // --- judging ----------------------------------------------------------------------------------------------------
  for (const { raw, judge } of judged) {
    const { expected, reason } = judge();
    ctx.record({
      phase: PHASE,
      endpoint: raw.endpoint,
      status: raw.status,
      problem: raw.problem,
      start: raw.start,
      end: raw.end,
      expected,
      ...(raw.code ? { code: raw.code } : {}),
      ...(expected && raw.status >= 300 ? { reason: reason ?? "" } : {}),
    });
  }
  const granted = verifies.filter((v) => v.raw.status === 200);
  const boundOf = (where: "here" | "elsewhere") => (where === "here" ? 0 : ctx.boundMs);
  const violations = granted.flatMap((v) => {
    const c = history.violation(v.held, v.permission, v.raw.start, boundOf(v.where));
    return c ? [`${v.permission} ${v.where} ${(v.raw.start - c.end).toFixed(0)} ms after a ${c.kind} change`] : [];
  });
  const stale = granted.filter((v) => history.surelyStale(v.held, v.raw.start, boundOf(v.where)));
  const changes = history.all().filter((c) => c.start >= started);
  ctx.check(
    "organizations: no token verified a right its holder had lost, past the bound (here at once, elsewhere " +
      `${ctx.boundMs} ms)`,
    violations.length === 0 && granted.length > 0 && changes.length > 0,
    `${verifies.length} org-scoped verifies (${verifies.filter((v) => v.where === "elsewhere").length} elsewhere), ` +
      `${granted.length} answered 200; ${changes.length} changes in ${seconds.toFixed(1)} s (${counts.roles} role ` +
      `changes, ${counts.define - 2 * orgs.length} redefinitions, ${counts.remove} removals, ` +
      `${counts.accept - orgs.length * members.length} re-acceptances); ` +
      (violations.length ? `violations: ${[...new Set(violations)].slice(0, 5).join("; ")}` : "no violation"),
  );
  ctx.check(
    "organizations: no token older than a change to its holder or its organization's roles verified past the bound",
    stale.length === 0,
    stale.length ? `${stale.length} verifies answered 200 with such a token` : "none",
  );
  const badClaims = claims.filter((c) => !c.ok());
  ctx.check(
    "organizations: every org claim (switch, refresh) equals the database's at some instant of its request",
    badClaims.length === 0 && claims.length > 0,
    `${claims.filter((c) => c.what === "switch").length} switches, ` +
      `${claims.filter((c) => c.what === "refresh").length} refreshes` +
      (badClaims.length ? `; ${badClaims.length} mismatched (${badClaims.slice(0, 3).map((c) => c.what)})` : ""),
  );
  const sorted = [...propagation].sort((a, b) => a - b);
  ctx.check(
    `organizations: each change refused elsewhere within ${ctx.boundMs} ms (a token claiming a right it took away)`,
    neverRefused === 0 && sorted.length > 0 && sorted.at(-1)! < ctx.boundMs,
    `${sorted.length} changes: p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ` +
      `ms, max ${(sorted.at(-1) ?? Number.NaN).toFixed(0)} ms; ${neverRefused} never refused`,
  );

  // --- the database agrees with the history -------------------------------------------------------------------------
  const mismatches: string[] = [];
  for (const org of orgs) {
    const state = history.current(org.id);
    const dbMembers = await ctx.query(
      "select user_id::text as id, array_to_string(array(select unnest(roles) order by 1), ',') as roles " +
        "from organization_members where org_id = $1",
      [org.id],
    );
    const dbRoles = await ctx.query(
      "select name, array_to_string(array(select unnest(permissions) order by 1), ',') as permissions " +
        "from organization_roles where org_id = $1",
      [org.id],
    );
    const want = [...state.members].map(([id, roles]) => `${id}=${roles.join()}`).sort();
    const got = dbMembers.map((row) => `${row.id}=${row.roles}`).sort();
    if (want.join(";") !== got.join(";")) mismatches.push(`${org.slug} members`);
    const wantRoles = [...state.roles].map(([name, p]) => `${name}=${p.join()}`).sort();
    const gotRoles = dbRoles.map((row) => `${row.name}=${row.permissions}`).sort();
    if (wantRoles.join(";") !== gotRoles.join(";")) mismatches.push(`${org.slug} roles`);
  }
  const audit = await ctx.query(
    "select event, count(*)::int as n from audit_logs where org_id = any($1::uuid[]) group by event",
    [orgs.map((o) => o.id)],
  );
  const rows = (event: string) => Number(audit.find((row) => row.event === event)?.n ?? 0);
  const auditPairs: [string, number, number][] = [
    ["org.member_roles_changed", counts.roles, rows("org.member_roles_changed")],
    ["org.role_defined", counts.define, rows("org.role_defined")],
    ["org.member_removed", counts.remove, rows("org.member_removed")],
    ["org.invitation_accepted", counts.accept, rows("org.invitation_accepted")],
  ];
  const auditOff = auditPairs.filter(([, want, got]) => want !== got);
  ctx.check(
    "organizations: the database holds what the owners were answered (members, roles, definitions, audit rows)",
    mismatches.length === 0 && auditOff.length === 0,
    (mismatches.length ? `differs: ${mismatches.join(", ")}; ` : "members, their roles and the definitions agree; ") +
      auditPairs.map(([event, want, got]) => `${event} ${got}/${want}`).join(", "),
  );
}

function pick<T>(values: readonly T[]): T {
  return values[Math.floor(Math.random() * values.length)]!;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
