// Cookie mode in a real browser with the built client package: a page on an
// allowlisted, same-site origin signs in with `AuthClient` in cookie mode
// (the refresh token never reachable by script), two tabs whose access
// tokens have expired fire requests at the same instant and both stay
// signed in while the service sees ONE rotation, and a cross-site page
// cannot make a state-changing request with the victim's cookies.
import pg from "pg";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { PASSWORD, register } from "./support/api.ts";
import { launchChromium } from "./support/browser.ts";

const service = inject("serviceLocalhostUrl");
const pageUrl = inject("pageUrl");
const databaseUrl = inject("databaseUrl");

async function sql<T>(text: string, params: unknown[]): Promise<T[]> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    return (await db.query(text, params)).rows as T[];
  } finally {
    await db.end();
  }
}

async function openTab(context: BrowserContext, origin = pageUrl, page = "cookie-client.html"): Promise<Page> {
  const tab = await context.newPage();
  await tab.goto(`${origin}/${page}?service=${encodeURIComponent(service)}`);
  await tab.waitForFunction("window.ready === true");
  return tab;
}

describe("cookie mode in Chromium with the built client", () => {
  let browser: Browser;
  let context: BrowserContext;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("signs in: the session's cookies are HttpOnly and the refresh token is never in the page", async () => {
    context = await browser.newContext();
    const { email } = await register(service, "cookie");
    const tab = await openTab(context);
    const signedIn = (await tab.evaluate(
      `window.client.login({ email: ${JSON.stringify(email)}, password: ${JSON.stringify(PASSWORD)} })`,
    )) as { tokens: Record<string, unknown> };
    expect(signedIn.tokens).not.toHaveProperty("refreshToken");
    const cookies = await context.cookies(service);
    const byName = new Map(cookies.map((c) => [c.name, c]));
    for (const name of ["__Host-sa_rt", "__Host-sa_at", "__Host-sa_dev"]) {
      expect(byName.get(name), name).toMatchObject({ httpOnly: true, secure: true, path: "/" });
    }
    expect(byName.get("__Host-sa_rt")!.sameSite).toBe("Strict");
    expect(byName.get("__Host-sa_at")!.sameSite).toBe("Lax");
    expect(await tab.evaluate("document.cookie")).toBe("");
    expect(((await tab.evaluate("window.me()")) as { status: number }).status).toBe(200);
  });

  it(
    "two tabs with an expired access token fire at the same instant: both " +
      "stay signed in, and the server sees one rotation",
    async () => {
      const a = await openTab(context);
      const b = await openTab(context);
      // Each tab starts with no access token: the first request of each must refresh from the cookie.
      const sessionId = ((await a.evaluate("window.client.refresh()")) as { sessionId: string }).sessionId;
      await b.waitForFunction("window.client !== undefined");
      const rotationsBefore = (
        await sql<{ n: number }>(
          "select count(*)::int as n from audit_logs where event = 'auth.refreshed' and session_id = $1",
          [sessionId],
        )
      )[0]!.n;
      // Both tabs' clocks jump past the access token's expiry.
      await Promise.all([a.evaluate("window.skewSeconds = 700"), b.evaluate("window.skewSeconds = 700")]);
      // Counted at the browser: a second refresh inside the reuse grace would also leave one rotation row, so the row
      // alone proves nothing.
      let refreshRequests = 0;
      const count = (request: { url(): string; method(): string }) => {
        if (request.method() === "POST" && new URL(request.url()).pathname === "/auth/refresh") refreshRequests += 1;
      };
      context.on("request", count);
      const [fromA, fromB] = (await Promise.all([a.evaluate("window.me()"), b.evaluate("window.me()")])) as {
        status: number;
        body: { user: { id: string } };
      }[];
      context.off("request", count);
      expect(refreshRequests).toBe(1);
      expect(fromA!.status).toBe(200);
      expect(fromB!.status).toBe(200);
      expect(fromA!.body.user.id).toBe(fromB!.body.user.id);
      const rotationsAfter = (
        await sql<{ n: number }>(
          "select count(*)::int as n from audit_logs where event = 'auth.refreshed' and session_id = $1",
          [sessionId],
        )
      )[0]!.n;
      expect(rotationsAfter - rotationsBefore).toBe(1);
      // Nobody was logged out: no reuse, the session is live, and no tab heard of an end.
      expect(
        await sql("select 1 from audit_logs where event = 'auth.refresh_reused' and session_id = $1", [sessionId]),
      ).toHaveLength(0);
      expect(await sql("select 1 from sessions where id = $1 and revoked_at is null", [sessionId])).toHaveLength(1);
      expect(await a.evaluate("window.sessionEnded")).toEqual([]);
      expect(await b.evaluate("window.sessionEnded")).toEqual([]);
      await Promise.all([a.close(), b.close()]);
    },
  );

  it("a cross-site page cannot make a state-changing request with the victim's cookies", async () => {
    const victim = await openTab(context);
    const before = (await victim.evaluate("window.me()")) as {
      status: number;
      body: { user: { id: string; name: string | null } };
    };
    expect(before.status).toBe(200);
    const userId = before.body.user.id;
    const [sessionsBefore] = await sql<{ n: number }>(
      "select count(*)::int as n from sessions where user_id = $1 and revoked_at is null",
      [userId],
    );

    // 127.0.0.1 is another site than localhost, and not in ALLOWED_ORIGINS.
    const attacker = await openTab(context, pageUrl.replace("//localhost:", "//127.0.0.1:"), "cross-site.html");
    const results = (await attacker.evaluate("window.attack()")) as { patch: { blocked?: string; status?: number } };
    expect(results.patch.blocked, "the preflight must fail").toBeDefined();

    const after = (await victim.evaluate("window.me()")) as { status: number; body: { user: { name: string | null } } };
    expect(after.status).toBe(200);
    expect(after.body.user.name).toBe(before.body.user.name);
    const [sessionsAfter] = await sql<{ n: number }>(
      "select count(*)::int as n from sessions where user_id = $1 and revoked_at is null",
      [userId],
    );
    expect(sessionsAfter!.n).toBe(sessionsBefore!.n);
    expect(
      await sql("select 1 from audit_logs where event = 'auth.refresh_reused' and user_id = $1", [userId]),
    ).toHaveLength(0);
    await context.close();
  });
});
