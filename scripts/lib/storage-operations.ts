// Storage operations a Worker under load performed, counted from outside the
// service's code: each counter reads a running total from the store's side
// (or from the binding's side), and `countStorage` takes the difference over
// a piece of work. Adding a store is one counter in the list the bench
// passes.
import type pg from "pg";

export type StorageCounter = {
  /** What it counts, for the printed row ("Postgres statements", "KV operations"). */
  name: string;
  /** The running total so far. */
  read(): Promise<number>;
};

/**
 * Top-level statements sent to one database, from pg_stat_statements (the server's own count; statements run inside
 * others, foreign-key checks, are not the Worker's). Never reset here: differences of the running total.
 */
export function postgresStatements(db: pg.Client, database: string): StorageCounter {
  return {
    name: "Postgres statements",
    read: async () => {
      const { rows } = await db.query<{ calls: string | null }>(
        `select sum(calls) as calls from pg_stat_statements
          where toplevel and dbid = (select oid from pg_database where datname = $1)
            and query not ilike '%pg_stat_statements%'`,
        [database],
      );
      return Number(rows[0]?.calls ?? 0);
    },
  };
}

/**
 * Calls on the Worker's storage bindings (the revocation feed's Durable Object, any KV namespace), as the bench's
 * counting entry module counts them at the binding (bench/workers/counting-entry, in front of the unchanged
 * bundle): GET /__bench/storage-operations on that Worker.
 */
export function bindingOperations(url: string): StorageCounter {
  return {
    name: "Durable Object and KV calls",
    read: async () => {
      const res = await fetch(`${url}/__bench/storage-operations`);
      if (res.status !== 200) throw new Error(`the counting entry answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { calls: number }).calls;
    },
  };
}

export type StorageCount = { total: number; byName: Record<string, number> };

/** What every counter counted while `work` ran. */
export async function countStorage(
  counters: readonly StorageCounter[],
  work: () => Promise<unknown>,
): Promise<StorageCount> {
  const before = await Promise.all(counters.map((counter) => counter.read()));
  await work();
  const after = await Promise.all(counters.map((counter) => counter.read()));
  const byName: Record<string, number> = {};
  let total = 0;
  for (const [i, counter] of counters.entries()) {
    const delta = after[i]! - before[i]!;
    byName[counter.name] = delta;
    total += delta;
  }
  return { total, byName };
}

/** "0.00 per request (KV operations 0, Postgres statements 0)". */
export function describeStorage(count: StorageCount, requests: number): string {
  const parts = Object.entries(count.byName).map(([name, n]) => `${name} ${n}`);
  return `${(count.total / Math.max(requests, 1)).toFixed(2)} per request (${parts.join(", ")} over ${requests})`;
}
