// Direct SQL for tests, to assert database state and to arrange what no
// endpoint does (granting a role, ageing a row, holding a row lock). It goes
// through the same Neon driver and proxy as the Worker.
import { env } from "cloudflare:workers";
import { Client, neonConfig } from "@neondatabase/serverless";

type TestBindings = { DATABASE_URL: string; PG_WS_PROXY: string; CLOSED_DATABASE_URL: string };
export const testEnv = env as unknown as Cloudflare.Env & TestBindings;

/** One connection of its own for the duration of fn, e.g. for a transaction that holds locks while requests run. */
export async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const proxy = testEnv.PG_WS_PROXY.replace(/^wss?:\/\//, "");
  neonConfig.wsProxy = (host, port) => `${proxy}/v1?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineConnect = false;
  const client = new Client({ connectionString: testEnv.DATABASE_URL });
  // The socket reports its close as an error event once the client has ended.
  client.on("error", () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function query<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  return withClient(async (client) => (await client.query(text, params)).rows as T[]);
}

/**
 * Forgets what pg_stat_statements counted in this file's database only (the
 * argument-less reset would also clear the counts of files running beside it).
 */
export async function resetStatementStats(): Promise<void> {
  await query(
    "select pg_stat_statements_reset(0, (select oid from pg_database where datname = current_database()), 0)",
  );
}

export type AuditRow = {
  id: string;
  event: string;
  user_id: string | null;
  actor_id: string | null;
  session_id: string | null;
  ip: string | null;
  user_agent: string | null;
  metadata: Record<string, unknown>;
  created_at: string;
};

export async function auditRows(filter: { userId?: string; event?: string; sessionId?: string }): Promise<AuditRow[]> {
  const clauses: string[] = [];
  const params: unknown[] = [];
  for (const [column, value] of [
    ["user_id", filter.userId],
    ["event", filter.event],
    ["session_id", filter.sessionId],
  ] as const) {
    if (value === undefined) continue;
    params.push(value);
    clauses.push(`${column} = $${params.length}`);
  }
  return query<AuditRow>(
    `select * from audit_logs ${clauses.length ? `where ${clauses.join(" and ")}` : ""} order by created_at, id`,
    params,
  );
}
