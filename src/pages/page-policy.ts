// The Content-Security-Policy of the service's own HTML pages (the mailed
// links' pages, /account, /docs): each runs exactly one inline script and one
// inline style, named by their SHA-256, talks only to its own origin, and
// cannot be framed. The security-headers middleware keeps a policy of this
// shape (it starts from default-src 'none' and forbids framing).

/** The policy for a page with this inline script and style (and `extra` directives, such as an img-src), hashed once per isolate on first use. */
export function hashedPagePolicy(script: string, style: string, extra = ""): () => Promise<string> {
  let policy: Promise<string> | undefined;
  return () =>
    (policy ??= Promise.all([sha256Base64(script), sha256Base64(style)]).then(
      ([scriptHash, styleHash]) =>
        `default-src 'none'; script-src 'sha256-${scriptHash}'; style-src 'sha256-${styleHash}'; connect-src 'self';${extra ? ` ${extra};` : ""} form-action 'none'; base-uri 'none'; frame-ancestors 'none'`,
    ));
}

async function sha256Base64(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest));
}
