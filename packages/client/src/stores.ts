// Where an AuthClient keeps its tokens: this page's memory (the default), or
// a Web Storage area that the tabs of the origin share.

import type { StoredTokens, TokenStore } from "./types.js";

/** Stores no other tab can read: a client holding one shares nothing with the other tabs. */
const tabPrivateStores = new WeakSet<TokenStore>();

/** Whether no other tab can read this store (see "What crosses tabs" in the README). */
export function isTabPrivate(store: TokenStore): boolean {
  return tabPrivateStores.has(store);
}

/** The pair in this page's memory: this client's alone, so nothing about it crosses tabs. */
export function memoryStore(): TokenStore {
  let tokens: StoredTokens | null = null;
  const store: TokenStore = { get: () => tokens, set: (next) => void (tokens = next) };
  tabPrivateStores.add(store);
  return store;
}

/**
 * A store over a Web Storage object (localStorage), shared by the tabs of
 * the origin: what lets tabs share one bearer-mode session. Any script of
 * the origin can read it; prefer cookie mode where XSS is a concern.
 */
export function webStorageStore(
  storage: {
    getItem(key: string): string | null;
    setItem(key: string, value: string): void;
    removeItem(key: string): void;
  },
  key = "secureauth:tokens",
): TokenStore {
  return {
    get() {
      const text = storage.getItem(key);
      if (text === null) return null;
      try {
        return JSON.parse(text) as StoredTokens;
      } catch {
        return null;
      }
    },
    set(tokens) {
      if (tokens === null) storage.removeItem(key);
      else storage.setItem(key, JSON.stringify(tokens));
    },
  };
}
