// Reading a user's profile with their effective roles and permissions.
import type { Database } from "../repositories/database";
import { UserRepository, type UserRecord } from "../repositories/users";

export class ProfileService {
  constructor(private readonly db: Database) {}

  get(userId: string): Promise<UserRecord | undefined> {
    return new UserRepository(this.db).findById(userId);
  }
}
