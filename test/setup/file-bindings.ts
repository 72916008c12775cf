// What isolates one test file from the others running beside it: the Vitest
// config calls this in Node each time the Workers pool starts a file's
// runtime (one Miniflare per file), and the result becomes that runtime's
// bindings, so the Worker under test, its queue consumer, its RPC entrypoint
// and the test's own SQL all reach the same private database and mailbox.
// The runtime's KV namespaces and rate limiters are its own already.
import pg from "pg";

/** The database the global setup migrates; each file gets a copy, so nothing may connect to it. */
export const TEMPLATE_DATABASE = "secureauth_template";

let files = 0;

export type FileBindings = { DATABASE_URL: string; SMTP_URL: string; MAIL_INBOX_URL: string };

/**
 * A new database copied from the migrated template (CREATE DATABASE ...
 * TEMPLATE copies its pages, about 0.2 s: no migration runs again) and a new mailbox.
 */
export async function fileBindings(postgresUrl: string, mailServerUrl: string): Promise<FileBindings> {
  files += 1;
  const name = `secureauth_test_${files}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name} template ${TEMPLATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  const res = await fetch(`${mailServerUrl}/mailboxes`, { method: "POST" });
  if (!res.ok) throw new Error(`mail server: POST /mailboxes answered ${res.status}`);
  const mailbox = (await res.json()) as { smtpUrl: string; inboxUrl: string };
  return {
    DATABASE_URL: postgresUrl.replace(/\/postgres$/, `/${name}`),
    SMTP_URL: mailbox.smtpUrl,
    MAIL_INBOX_URL: mailbox.inboxUrl,
  };
}
