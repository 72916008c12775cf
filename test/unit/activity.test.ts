// ActivityService over the in-memory audit log: what the user's own view
// (/me/activity) shows of each event, and that the operator's view keeps it all.
import { describe, expect, it } from "vitest";
import { ActivityService } from "../../src/features/activity/service";
import { FIXED_NOW, MemoryStores } from "../support/fakes";

const USER_ORIGIN = { ip: "198.51.100.23", userAgent: "UserPhone/2.0" };
const ADMIN_ORIGIN = { ip: "203.0.113.77", userAgent: "AdminConsole/9.9" };

function setup() {
  const memory = new MemoryStores();
  const user = memory.addUser();
  const admin = memory.addUser({ roles: ["admin", "user"] });
  const at = (seconds: number) => new Date(FIXED_NOW.getTime() + seconds * 1000);
  const audit = memory.stores.audit;
  return { memory, user, admin, at, audit, activity: new ActivityService(audit) };
}

describe("the user's own activity", () => {
  it(
    "stops leaking another person's ip and user agent: an administrator's " + "change shows their actorId only",
    async () => {
      const t = setup();
      await t.audit.record({
        event: "user.roles_changed",
        userId: t.user.id,
        actorId: t.admin.id,
        origin: ADMIN_ORIGIN,
        metadata: { before: ["user"], after: [] },
        at: t.at(1),
      });
      const [event] = (await t.activity.own(t.user.id, { limit: 10 })).items;
      expect(event).toEqual({
        id: expect.any(String),
        event: "user.roles_changed",
        userId: t.user.id,
        actorId: t.admin.id,
        metadata: { before: ["user"], after: [] },
        createdAt: t.at(1).toISOString(),
      });
    },
  );

  it("names no actor on the user's own events and keeps their ip and user agent", async () => {
    const t = setup();
    await t.audit.record({
      event: "auth.login_succeeded",
      userId: t.user.id,
      actorId: t.user.id,
      origin: USER_ORIGIN,
      at: t.at(1),
    });
    const [event] = (await t.activity.own(t.user.id, { limit: 10 })).items;
    expect(event).toEqual(
      expect.objectContaining({ event: "auth.login_succeeded", ip: USER_ORIGIN.ip, userAgent: USER_ORIGIN.userAgent }),
    );
    expect(event).not.toHaveProperty("actorId");
  });

  it("keeps the ip of an event with no actor (a replayed refresh token detected on the user's session)", async () => {
    const t = setup();
    await t.audit.record({
      event: "auth.refresh_reused",
      userId: t.user.id,
      actorId: null,
      origin: USER_ORIGIN,
      at: t.at(1),
    });
    const [event] = (await t.activity.own(t.user.id, { limit: 10 })).items;
    expect(event).toEqual(
      expect.objectContaining({ event: "auth.refresh_reused", ip: USER_ORIGIN.ip, userAgent: USER_ORIGIN.userAgent }),
    );
    expect(event).not.toHaveProperty("actorId");
  });

  it("leaves the operator's view (/admin/audit-logs) whole", async () => {
    const t = setup();
    await t.audit.record({
      event: "user.disabled",
      userId: t.user.id,
      actorId: t.admin.id,
      origin: ADMIN_ORIGIN,
      at: t.at(1),
    });
    const [event] = (await t.activity.page({ userId: t.user.id, limit: 10 })).items;
    expect(event).toEqual(
      expect.objectContaining({ actorId: t.admin.id, ip: ADMIN_ORIGIN.ip, userAgent: ADMIN_ORIGIN.userAgent }),
    );
  });
});
