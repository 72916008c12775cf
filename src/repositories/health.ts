// Readiness probe: one round trip to the database.
import { sql } from "drizzle-orm";
import type { Database } from "./database";

export class HealthRepository {
  constructor(private readonly db: Database) {}

  async ping(): Promise<void> {
    await this.db.execute(sql`select 1`);
  }
}
