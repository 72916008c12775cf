// Every store, as one type built from the stores each feature declares
// (src/features.ts), and those stores over Postgres for the composition root:
// bound to one connection or one transaction, with driver errors translated
// to typed ones.
import type { Database, Executor } from "./adapters/postgres/database";
import { translateDatabaseError, translatingErrors } from "./adapters/postgres/database-errors";
import { FEATURES, type FeatureStores } from "./features";
export { lazyDatabase, loadDatabaseDriver, type Database, type LazyDatabase } from "./adapters/postgres/database";

/** Every store, bound to one connection or one transaction. */
export type Stores = FeatureStores;

/** Runs `work` in one transaction: every store it is handed commits together, or nothing does. */
export interface UnitOfWork {
  run<T>(work: (tx: Stores) => Promise<T>): Promise<T>;
}

/** Each feature's stores, constructed over `db` (nothing is opened until a store is called). */
export function storesFor(db: Executor): Stores {
  const stores: Record<string, object> = {};
  for (const feature of FEATURES) {
    if (!("stores" in feature)) continue;
    for (const [name, store] of Object.entries(feature.stores(db))) {
      if (name in stores) throw new TypeError(`two features declare the store "${name}"`);
      stores[name] = translatingErrors(store);
    }
  }
  return stores as Stores;
}

export function unitOfWorkFor(db: Database): UnitOfWork {
  return {
    async run(work) {
      try {
        return await db.transaction((tx) => work(storesFor(tx as unknown as Executor)));
      } catch (error) {
        throw translateDatabaseError(error);
      }
    },
  };
}
