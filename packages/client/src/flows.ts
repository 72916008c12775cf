// What a provider sign-in or link keeps between leaving for the provider and
// coming back: the PKCE verifier (whose S256 the service binds the one-time
// code to) and the state the app sent, which the service hands back
// unchanged; spent on the way back. In memory unless the app passes a
// storage that outlives the page (a browser's sessionStorage: this tab only).

/** Where the pending flows live (the AuthClient's `flowStorage`, e.g. sessionStorage). */
export type FlowStorage = {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
};

/** A flow waiting for its return: a sign-in, or a link from a signed-in account. */
export type PendingFlow = { kind: "sign_in" | "link"; verifier: string };

const PREFIX = "secureauth:flow:";

/** The default: this page's memory, which a full-page redirect does not keep. */
export function memoryFlowStorage(): FlowStorage {
  const items = new Map<string, string>();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** `bytes` random bytes, base64url. */
export const randomText = (bytes = 32) => base64url(crypto.getRandomValues(new Uint8Array(bytes)));

/** A new flow's verifier, its S256 challenge and its state, the flow kept under its state. */
export async function beginFlow(
  storage: FlowStorage,
  kind: PendingFlow["kind"],
): Promise<{ state: string; challenge: string }> {
  const verifier = randomText();
  const state = randomText(16);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  storage.setItem(PREFIX + state, JSON.stringify({ kind, verifier } satisfies PendingFlow));
  return { state, challenge: base64url(digest) };
}

/** The flow a return's state names, spent; undefined when this tab started none with it. */
export function takeFlow(storage: FlowStorage, state: string | null): PendingFlow | undefined {
  if (!state) return undefined;
  const raw = storage.getItem(PREFIX + state);
  storage.removeItem(PREFIX + state);
  if (!raw) return undefined;
  try {
    const flow = JSON.parse(raw) as PendingFlow;
    return (flow.kind === "sign_in" || flow.kind === "link") && typeof flow.verifier === "string" ? flow : undefined;
  } catch {
    return undefined;
  }
}
