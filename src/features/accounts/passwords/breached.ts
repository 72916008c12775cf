// The optional k-anonymity check against a breached-password range API in the
// HIBP format (GET {baseUrl}/range/{first 5 hex of SHA-1}, answered with lines
// "SUFFIX:COUNT"). Only the 5-character prefix leaves the Worker. The check
// fails open: a slow or broken range service must not stop registrations, so
// any error or timeout counts as "not breached".

const DEFAULT_TIMEOUT_MS = 1500;

export class BreachedPasswordChecker {
  readonly #rangeUrl: string | undefined;
  readonly #fetcher: typeof fetch;
  readonly #timeoutMs: number;

  /** baseUrl undefined turns the check off. */
  constructor(baseUrl: string | undefined, fetcher?: typeof fetch, timeoutMs: number = DEFAULT_TIMEOUT_MS) {
    if (baseUrl !== undefined && !URL.canParse(baseUrl)) throw new TypeError("baseUrl must be an absolute URL");
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TypeError("timeoutMs must be a positive number");
    this.#rangeUrl = baseUrl === undefined ? undefined : `${baseUrl.replace(/\/+$/, "")}/range/`;
    // The global fetch must not be called as a method of another object in
    // workerd ("Illegal invocation"), hence the wrapper.
    this.#fetcher = fetcher ?? ((input, init) => fetch(input, init));
    this.#timeoutMs = timeoutMs;
  }

  async isBreached(password: string): Promise<boolean> {
    if (this.#rangeUrl === undefined) return false;
    try {
      const digest = await sha1Hex(password);
      const prefix = digest.slice(0, 5);
      const suffix = digest.slice(5);
      const signal = AbortSignal.timeout(this.#timeoutMs);
      // Racing the signal too bounds the wait even for a fetcher that ignores it.
      const timedOut = new Promise<never>((_, reject) => {
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
      timedOut.catch(() => {});
      const body = await Promise.race([this.#fetchRange(prefix, signal), timedOut]);
      return body !== undefined && rangeContains(body, suffix);
    } catch {
      return false;
    }
  }

  async #fetchRange(prefix: string, signal: AbortSignal): Promise<string | undefined> {
    const fetcher = this.#fetcher;
    const response = await fetcher(this.#rangeUrl + prefix, {
      signal,
      // Padding hides the number of real suffixes in the answer from an observer.
      headers: { "Add-Padding": "true" },
    });
    if (!response.ok) {
      await response.body?.cancel();
      return undefined;
    }
    return response.text();
  }
}

async function sha1Hex(password: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(password));
  let hex = "";
  for (const byte of new Uint8Array(digest)) hex += byte.toString(16).padStart(2, "0");
  return hex.toUpperCase();
}

/** Padding lines carry a count of 0 and do not count as breached. */
function rangeContains(body: string, suffix: string): boolean {
  for (const line of body.split("\n")) {
    const separator = line.indexOf(":");
    if (separator === -1) continue;
    if (line.slice(0, separator).trim().toUpperCase() !== suffix) continue;
    return Number.parseInt(line.slice(separator + 1).trim(), 10) > 0;
  }
  return false;
}
