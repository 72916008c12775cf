// Readiness probe: one round trip to the database.
import { sql } from "drizzle-orm";
import type { HealthProbe } from "./store";
import type { Executor } from "../../adapters/postgres/database";

export class HealthRepository implements HealthProbe {
  constructor(private readonly db: Executor) {}

  async ping(): Promise<void> {
    await this.db.execute(sql`select 1`);
  }
}
