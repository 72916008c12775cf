// `npm run keys:generate`: prints a new Ed25519 signing key (a private JWK).
// To rotate, prepend it to the JWT_SIGNING_KEYS array; see README "Key rotation".
// `--secret` prints a new REFRESH_TOKEN_SECRET instead.
import { generateSecret, generateSigningKey } from "./lib/signing-keys.ts";

if (process.argv.includes("--secret")) {
  console.log(generateSecret());
} else {
  console.log(JSON.stringify(await generateSigningKey()));
}
