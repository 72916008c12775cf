// The operator CLI against a real, throwaway Postgres with the migrations
// applied: runAdminCommand in-process for each rule, and `node
// scripts/admin.ts` as a child process to prove the script itself runs under
// Node's type stripping and reports through its exit code.
// Run by vitest.node.config.ts (Node), not by the workerd suite.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILT_IN_PERMISSIONS } from "../../src/features/admin/role-definition.ts";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, runAdminCommand } from "./admin-command.ts";
import { freePort } from "./free-ports.ts";
import { startLocalPostgres, type LocalPostgres } from "./local-postgres.ts";
import { applyMigrations } from "./migrate.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

let database: LocalPostgres;
let client: pg.Client;

beforeAll(async () => {
  database = await startLocalPostgres({ port: await freePort(), database: "secureauth_cli_test" });
  await applyMigrations(database.url);
  client = new pg.Client({ connectionString: database.url });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await database?.stop();
});

async function run(argv: string[], databaseUrl = database.url) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runAdminCommand(argv, {
    databaseUrl,
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  return { code, out, err };
}

let counter = 0;
/** A user as registration leaves one: the default role, an unusable hash. */
async function createUser(): Promise<{ id: string; email: string }> {
  counter += 1;
  const email = `cli-${counter}-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const { rows } = await client.query<{ id: string }>(
    "insert into users (email, password_hash) values ($1, 'not-a-hash') returning id",
    [email],
  );
  await client.query("insert into user_roles (user_id, role_name) values ($1, 'user')", [rows[0]!.id]);
  return { id: rows[0]!.id, email };
}

async function rolesOf(userId: string): Promise<string[]> {
  const { rows } = await client.query<{ role_name: string }>(
    "select role_name from user_roles where user_id = $1 order by role_name",
    [userId],
  );
  return rows.map((r) => r.role_name);
}

async function roleAudit(userId: string) {
  const { rows } = await client.query<{
    actor_id: string | null;
    metadata: Record<string, unknown>;
    sub_millisecond: number;
  }>(
    "select actor_id, metadata, (extract(microseconds from created_at)::int % 1000) as sub_millisecond from " +
      "audit_logs where user_id = $1 and event = 'user.roles_changed' order by created_at, id",
    [userId],
  );
  return rows;
}

describe("grant", () => {
  it("gives the role, writes user.roles_changed with no actor, and says when it applies", async () => {
    const user = await createUser();
    const result = await run(["grant", user.email, "admin"]);
    expect(result.code).toBe(EXIT_OK);
    expect(result.err).toEqual([]);
    expect(result.out).toHaveLength(1);
    expect(result.out[0]).toContain(`Granted "admin" to ${user.email}`);
    expect(result.out[0]).toContain("next token refresh");
    expect(await rolesOf(user.id)).toEqual(["admin", "user"]);
    const audit = await roleAudit(user.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]!.actor_id).toBeNull();
    expect(audit[0]!.metadata).toEqual({ before: ["user"], after: ["admin", "user"], via: "cli" });
    // Millisecond precision, like the service's own rows, so audit cursors hold.
    expect(audit[0]!.sub_millisecond).toBe(0);
  });

  it("finds the user by the normalised email (trim, NFKC, lower case)", async () => {
    const user = await createUser();
    const typed = `  ${user.email.replace("cli", "ＣＬＩ")}  `; // fullwidth letters, NFKC folds them
    const result = await run(["grant", typed, "admin"]);
    expect(result.code, result.err.join("\n")).toBe(EXIT_OK);
    expect(await rolesOf(user.id)).toEqual(["admin", "user"]);
  });

  it("is a no-op with exit 0 and no audit row when the user already has the role", async () => {
    const user = await createUser();
    const result = await run(["grant", user.email, "user"]);
    expect(result.code).toBe(EXIT_OK);
    expect(result.out[0]).toContain("nothing changed");
    expect(await roleAudit(user.id)).toEqual([]);
  });

  it("grants a role that exists only as rows", async () => {
    const user = await createUser();
    const role = `cli-role-${crypto.randomUUID().slice(0, 8)}`;
    await client.query("insert into roles (name) values ($1)", [role]);
    expect((await run(["grant", user.email, role])).code).toBe(EXIT_OK);
    expect(await rolesOf(user.id)).toContain(role);
  });
});

describe("revoke", () => {
  it("takes the role away and audits before and after", async () => {
    const user = await createUser();
    await run(["grant", user.email, "admin"]);
    const result = await run(["revoke", user.email, "admin"]);
    expect(result.code).toBe(EXIT_OK);
    expect(result.out).toHaveLength(1);
    expect(result.out[0]).toContain(`Revoked "admin" from ${user.email}`);
    expect(result.out[0]).toContain("next token refresh");
    expect(await rolesOf(user.id)).toEqual(["user"]);
    const audit = await roleAudit(user.id);
    expect(audit.map((a) => a.metadata)).toEqual([
      { before: ["user"], after: ["admin", "user"], via: "cli" },
      { before: ["admin", "user"], after: ["user"], via: "cli" },
    ]);
  });

  it("is a no-op with exit 0 when the user does not have the role", async () => {
    const user = await createUser();
    const result = await run(["revoke", user.email, "admin"]);
    expect(result.code).toBe(EXIT_OK);
    expect(result.out[0]).toContain("nothing changed");
    expect(await roleAudit(user.id)).toEqual([]);
  });
});

describe("failures", () => {
  it("an unknown email: non-zero exit, a clear message, nothing written", async () => {
    const result = await run(["grant", "nobody-here@example.com", "admin"]);
    expect(result.code).toBe(EXIT_FAILED);
    expect(result.out).toEqual([]);
    expect(result.err.join("\n")).toContain("no user with the email nobody-here@example.com");
  });

  it("an unknown role: non-zero exit, the message names it and lists the roles, nothing written", async () => {
    const user = await createUser();
    for (const command of ["grant", "revoke"]) {
      const result = await run([command, user.email, "superuser"]);
      expect(result.code).toBe(EXIT_FAILED);
      const message = result.err.join("\n");
      expect(message).toContain('unknown role "superuser"');
      expect(message).toMatch(/admin, .*user/);
    }
    expect(await rolesOf(user.id)).toEqual(["user"]);
    expect(await roleAudit(user.id)).toEqual([]);
  });

  for (const argv of [
    [],
    ["grant"],
    ["grant", "a@example.com"],
    ["grant", "a@example.com", "admin", "extra"],
    ["revoke", "a@example.com"],
    ["promote", "a@example.com", "admin"],
    ["list-roles", "extra"],
    ["grant", " ", "admin"],
  ]) {
    it(`a usage error (${JSON.stringify(argv)}): exit 2 with the usage, and no database needed`, async () => {
      const result = await run(argv, "postgres://postgres:postgres@127.0.0.1:1/none");
      expect(result.code).toBe(EXIT_USAGE);
      expect(result.err.join("\n")).toContain("Usage: npm run admin -- <command>");
    });
  }

  it("an unreachable database: non-zero exit, a message that names the address but not the password", async () => {
    const port = await freePort();
    const result = await run(
      ["grant", "a@example.com", "admin"],
      `postgres://postgres:s3cret-pw@127.0.0.1:${port}/secureauth`,
    );
    expect(result.code).toBe(EXIT_FAILED);
    const message = result.err.join("\n");
    expect(message).toContain(`cannot reach the database at 127.0.0.1:${port}/secureauth`);
    expect(message).not.toContain("s3cret-pw");
  });
});

describe("list-roles", () => {
  it("lists every role with its permissions", async () => {
    const result = await run(["list-roles"]);
    expect(result.code).toBe(EXIT_OK);
    const admin = result.out.find((line) => line.startsWith("admin"));
    const user = result.out.find((line) => line.startsWith("user"));
    expect(admin).toContain("roles:assign");
    expect(admin).toContain("audit:read");
    expect(user).toContain("profile:read");
    expect(user).not.toContain("users:read");
  });
});

async function statusOf(userId: string): Promise<string> {
  const { rows } = await client.query<{ status: string }>("select status from users where id = $1", [userId]);
  return rows[0]!.status;
}

async function grantsVersionOf(userId: string): Promise<number> {
  const { rows } = await client.query<{ grants_version: number }>("select grants_version from users where id = $1", [
    userId,
  ]);
  return Number(rows[0]!.grants_version);
}

async function permissionsOfRole(role: string): Promise<string[]> {
  const { rows } = await client.query<{ permission_name: string }>(
    "select permission_name from role_permissions where role_name = $1 order by permission_name",
    [role],
  );
  return rows.map((r) => r.permission_name);
}

async function auditOf(event: string, filter: { userId?: string; role?: string }) {
  const { rows } = await client.query<{
    user_id: string | null;
    actor_id: string | null;
    metadata: Record<string, unknown>;
  }>(
    "select user_id, actor_id, metadata from audit_logs where event = $1 and ($2::uuid is null or user_id = $2) and " +
      "($3::text is null or metadata->>'role' = $3) order by created_at, id",
    [event, filter.userId ?? null, filter.role ?? null],
  );
  return rows;
}

const roleName = () => `support-${crypto.randomUUID().slice(0, 8)}`;

describe("enable (a locked-out operator recovers)", () => {
  it("re-enables a disabled administrator: active again, one user.enabled row with no actor, via cli", async () => {
    const user = await createUser();
    await run(["grant", user.email, "admin"]);
    await client.query("update users set status = 'disabled' where id = $1", [user.id]);
    const result = await run(["enable", user.email]);
    expect(result.code, result.err.join("\n")).toBe(EXIT_OK);
    expect(result.err).toEqual([]);
    expect(result.out).toEqual([`Enabled ${user.email}: they can sign in again.`]);
    expect(await statusOf(user.id)).toBe("active");
    expect(await auditOf("user.enabled", { userId: user.id })).toEqual([
      { user_id: user.id, actor_id: null, metadata: { via: "cli" } },
    ]);
  });

  it("is a no-op with exit 0 and no audit row for an account that is not disabled", async () => {
    const user = await createUser();
    const result = await run(["enable", user.email]);
    expect(result.code).toBe(EXIT_OK);
    expect(result.out[0]).toContain("is not disabled; nothing changed");
    expect(await auditOf("user.enabled", { userId: user.id })).toEqual([]);
  });

  it("an unknown email: exit 1, a clear message", async () => {
    const result = await run(["enable", "nobody-here@example.com"]);
    expect(result.code).toBe(EXIT_FAILED);
    expect(result.err.join("\n")).toContain("no user with the email nobody-here@example.com");
  });
});

describe("define-role (roles without SQL)", () => {
  it("creates a role from built-in permissions; list-roles shows it and grant assigns it", async () => {
    const role = roleName();
    const result = await run(["define-role", role, "users:read, users:write,users:read"]);
    expect(result.code, result.err.join("\n")).toBe(EXIT_OK);
    expect(result.out).toHaveLength(1);
    expect(result.out[0]).toContain(`Defined the new role "${role}": users:read, users:write.`);
    expect(await permissionsOfRole(role)).toEqual(["users:read", "users:write"]);
    expect((await run(["list-roles"])).out).toContain(`${role}: users:read, users:write`);
    const user = await createUser();
    expect((await run(["grant", user.email, role])).code).toBe(EXIT_OK);
    expect(await auditOf("role.defined", { role })).toEqual([
      {
        user_id: null,
        actor_id: null,
        metadata: { role, created: true, before: [], after: ["users:read", "users:write"], holders: 0, via: "cli" },
      },
    ]);
  });

  it(
    "replacing a role's permissions stops its holders' older tokens: " +
      "every holder's grants version goes up, nobody else's",
    async () => {
      const role = roleName();
      await run(["define-role", role, "users:read"]);
      const [holder, other] = [await createUser(), await createUser()];
      await run(["grant", holder.email, role]);
      const before = { holder: await grantsVersionOf(holder.id), other: await grantsVersionOf(other.id) };
      const result = await run(["define-role", role, "users:read,sessions:revoke"]);
      expect(result.code, result.err.join("\n")).toBe(EXIT_OK);
      expect(result.out[0]).toContain(
        `Redefined the role "${role}": sessions:revoke, users:read (was: users:read); 1 holder.`,
      );
      expect(result.out[0]).toContain("next token refresh");
      expect(await permissionsOfRole(role)).toEqual(["sessions:revoke", "users:read"]);
      expect(await grantsVersionOf(holder.id)).toBe(before.holder + 1);
      expect(await grantsVersionOf(other.id)).toBe(before.other);
      expect((await auditOf("role.defined", { role })).at(-1)!.metadata).toEqual({
        role,
        created: false,
        before: ["users:read"],
        after: ["sessions:revoke", "users:read"],
        holders: 1,
        via: "cli",
      });
      // Taking permissions away works the same way.
      expect((await run(["define-role", role, "sessions:revoke"])).code).toBe(EXIT_OK);
      expect(await permissionsOfRole(role)).toEqual(["sessions:revoke"]);
      expect(await grantsVersionOf(holder.id)).toBe(before.holder + 2);
    },
  );

  it("the same definition again changes nothing: exit 0, no grants bump, no audit row", async () => {
    const role = roleName();
    await run(["define-role", role, "audit:read"]);
    const holder = await createUser();
    await run(["grant", holder.email, role]);
    const version = await grantsVersionOf(holder.id);
    const result = await run(["define-role", role, "audit:read"]);
    expect(result.code).toBe(EXIT_OK);
    expect(result.out[0]).toContain("nothing changed");
    expect(await grantsVersionOf(holder.id)).toBe(version);
    expect(await auditOf("role.defined", { role })).toHaveLength(1);
  });

  it(
    "refuses a permission outside the built-in list, even one that exists as a row: " + "exit 1, nothing written",
    async () => {
      const role = roleName();
      await client.query("insert into permissions (name) values ('reports:export') on conflict do nothing");
      for (const permissions of ["users:read,superpower", "reports:export", "users:*"]) {
        const result = await run(["define-role", role, permissions]);
        expect(result.code, permissions).toBe(EXIT_FAILED);
        expect(result.err.join("\n")).toMatch(
          /unknown permission "(superpower|reports:export|users:\*)"; the permissions are: profile:read, /,
        );
      }
      const { rows } = await client.query("select 1 from roles where name = $1", [role]);
      expect(rows).toEqual([]);
    },
  );

  it("refuses a malformed role name: exit 1, nothing written", async () => {
    for (const name of ["Support", "s", "1support", "support role", `s${"x".repeat(32)}`, "support;drop"]) {
      const result = await run(["define-role", name, "users:read"]);
      expect(result.code, name).toBe(EXIT_FAILED);
      expect(result.err.join("\n")).toContain("a role name is 2 to 32 of a-z, 0-9, _ and -, starting with a letter");
      const { rows } = await client.query("select 1 from roles where name = $1", [name]);
      expect(rows).toEqual([]);
    }
  });

  it("refuses to redefine the built-in user and admin roles: exit 1, their permissions unchanged", async () => {
    const before = { user: await permissionsOfRole("user"), admin: await permissionsOfRole("admin") };
    for (const name of ["user", "admin"]) {
      const result = await run(["define-role", name, "profile:read"]);
      expect(result.code).toBe(EXIT_FAILED);
      expect(result.err.join("\n")).toContain(`"${name}" is a built-in role; its permissions are fixed`);
    }
    expect({ user: await permissionsOfRole("user"), admin: await permissionsOfRole("admin") }).toEqual(before);
  });

  for (const argv of [
    ["define-role"],
    ["define-role", "support"],
    ["define-role", "support", "users:read", "extra"],
    ["define-role", "support", " , "],
    ["enable"],
    ["enable", "a@example.com", "extra"],
  ]) {
    it(`a usage error (${JSON.stringify(argv)}): exit 2 with the usage, and no database needed`, async () => {
      const result = await run(argv, "postgres://postgres:postgres@127.0.0.1:1/none");
      expect(result.code).toBe(EXIT_USAGE);
      expect(result.err.join("\n")).toContain("Usage: npm run admin -- <command>");
    });
  }

  it("the built-in list is exactly the permissions the migrations seed", async () => {
    const { rows } = await client.query<{ name: string }>(
      "select name from permissions where name = any($1::text[]) order by name",
      [[...BUILT_IN_PERMISSIONS]],
    );
    expect(rows.map((r) => r.name)).toEqual([...BUILT_IN_PERMISSIONS].sort());
    const { rows: seeded } = await client.query<{ permission_name: string }>(
      "select distinct permission_name from role_permissions where role_name in ('user', 'admin') order by 1",
    );
    expect(seeded.map((r) => r.permission_name)).toEqual([...BUILT_IN_PERMISSIONS].sort());
  });

  it("help names both commands", async () => {
    const help = (await run(["help"])).out.join("\n");
    expect(help).toContain("enable <email>");
    expect(help).toContain("define-role <name> <permission,...>");
  });
});

describe("the script, as `npm run admin` runs it", () => {
  it("grants through DATABASE_URL and exits 0 with one line", async () => {
    const user = await createUser();
    const result = await node(["scripts/admin.ts", "grant", user.email, "admin"], { DATABASE_URL: database.url });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split("\n")).toHaveLength(1);
    expect(result.stdout).toContain(`Granted "admin" to ${user.email}`);
    expect(await rolesOf(user.id)).toEqual(["admin", "user"]);
  });

  it("defines a role and enables an account through DATABASE_URL", async () => {
    const role = roleName();
    const defined = await node(["scripts/admin.ts", "define-role", role, "users:read"], { DATABASE_URL: database.url });
    expect(defined.code, defined.stderr).toBe(0);
    expect(await permissionsOfRole(role)).toEqual(["users:read"]);
    const user = await createUser();
    await client.query("update users set status = 'disabled' where id = $1", [user.id]);
    const enabled = await node(["scripts/admin.ts", "enable", user.email], { DATABASE_URL: database.url });
    expect(enabled.code, enabled.stderr).toBe(0);
    expect(await statusOf(user.id)).toBe("active");
  });

  it("exits non-zero for an unknown email and for a usage error", async () => {
    const unknown = await node(["scripts/admin.ts", "grant", "nobody-here@example.com", "admin"], {
      DATABASE_URL: database.url,
    });
    expect(unknown.code).toBe(EXIT_FAILED);
    expect(unknown.stderr).toContain("no user with the email");
    const usage = await node(["scripts/admin.ts"], { DATABASE_URL: database.url });
    expect(usage.code).toBe(EXIT_USAGE);
    expect(usage.stderr).toContain("Usage:");
  });
});

function node(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
