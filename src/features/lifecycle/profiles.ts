// Reading a user's profile with their effective roles and permissions.
import type { UserRecord } from "../../core/domain";
import type { UserStore } from "../accounts/store";

export class ProfileService {
  constructor(private readonly users: Pick<UserStore, "findById">) {}

  get(userId: string): Promise<UserRecord | undefined> {
    return this.users.findById(userId);
  }
}
