// Reading a user's profile with their effective roles and permissions.
import type { UserRecord, UserStore } from "../../core/ports";

export class ProfileService {
  constructor(private readonly users: Pick<UserStore, "findById">) {}

  get(userId: string): Promise<UserRecord | undefined> {
    return this.users.findById(userId);
  }
}
