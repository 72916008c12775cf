// The Content-Security-Policy of the service's own HTML pages (the mailed
// links' pages, /account, /docs): each runs exactly one inline script and one
// inline style, named by their SHA-256, talks only to its own origin, and
// cannot be framed. The security-headers middleware keeps a policy of this
// shape (it starts from default-src 'none' and forbids framing).

/**
 * The policy for a page whose inline script was bundled at build time
 * (src/pages/generated/): its hash source comes with it; the style's is
 * computed once per isolate on first use.
 */
export function builtPagePolicy(scriptHash: string, style: string, extra = ""): () => Promise<string> {
  let policy: Promise<string> | undefined;
  return () => (policy ??= sha256Base64(style).then((styleHash) => policyText(`'${scriptHash}'`, styleHash, extra)));
}

function policyText(scriptSource: string, styleHash: string, extra: string): string {
  return [
    "default-src 'none'",
    `script-src ${scriptSource}`,
    `style-src 'sha256-${styleHash}'`,
    "connect-src 'self'",
    ...(extra ? [extra] : []),
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

async function sha256Base64(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest));
}
