// One contract, two implementations: the in-memory fake the service unit
// tests use, and the Postgres repositories as the composition root builds
// them, against the suite's real database.
import { refreshTokenStoreContract } from "../support/contracts/refresh-token-store";
import { MemoryStores } from "../support/fakes";
import { testService } from "../support/harness";

refreshTokenStoreContract("in memory", () => ({ stores: new MemoryStores().stores }));
refreshTokenStoreContract("Postgres", () => testService().stores());
