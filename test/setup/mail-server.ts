// The mail the suite sends lands here, on real servers in Node started by the
// global setup: SMTP servers (no AUTH, no STARTTLS, so smtp:// stays in the
// clear) that keep each message parsed, and a small HTTP API the tests read
// them through (test/support/mail.ts). The same API takes Resend-shaped
// POST /emails, so the Resend transport is tested against a real socket too.
//
// Test files run in parallel, so each gets a mailbox of its own (its own SMTP
// port and API prefix): one file's refusals, failures and clearing never
// reach another's mail. The paths below are under the mailbox's inboxUrl.
//
//   POST   /mailboxes              (at the root) a new mailbox: {smtpUrl, inboxUrl}
//   GET    /messages[?to=address]  the messages received, oldest first
//   DELETE /messages               forget them
//   POST   /refuse {count}         the next `count` messages are answered 451 after DATA
//   POST   /emails                 a Resend send: recorded with its Authorization header
//   GET    /resend                 the Resend sends recorded
//   POST   /resend/fail {count}    the next `count` Resend sends are answered 500
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { simpleParser, type AddressObject } from "mailparser";
import { SMTPServer } from "smtp-server";

export type ReceivedMail = {
  to: string[];
  from: string;
  subject: string;
  text: string;
  html: string;
  receivedAt: string;
};
export type ResendRequest = { authorization: string | null; body: unknown };

export type MailServer = { url: string; close(): Promise<void> };

type Box = {
  smtpUrl: string;
  route(key: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void>;
  close(): Promise<void>;
};

export async function startMailServer(): Promise<MailServer> {
  const boxes = new Map<string, Box>();
  let opened = 0;
  const api = createServer((req, res) => {
    route(req, res).catch(() => send(res, 500, { error: "mail server failed" }));
  });
  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://mail.test");
    if (req.method === "POST" && url.pathname === "/mailboxes") {
      const id = String(++opened);
      const box = await startBox();
      boxes.set(id, box);
      return send(res, 200, { smtpUrl: box.smtpUrl, inboxUrl: `${origin}/mailboxes/${id}` });
    }
    const [, id, rest] = /^\/mailboxes\/([^/]+)(\/.*)$/.exec(url.pathname) ?? [];
    const box = id === undefined ? undefined : boxes.get(id);
    if (!box) return send(res, 404, { error: "no such mailbox" });
    return box.route(`${req.method} ${rest}`, url, req, res);
  }
  await new Promise<void>((resolve, reject) => {
    api.once("error", reject);
    api.listen(0, "127.0.0.1", () => resolve());
  });
  const origin = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;

  return {
    url: origin,
    close: async () => {
      api.closeAllConnections();
      await Promise.all([new Promise((resolve) => api.close(resolve)), ...[...boxes.values()].map((b) => b.close())]);
    },
  };
}

async function startBox(): Promise<Box> {
  const messages: ReceivedMail[] = [];
  const resendRequests: ResendRequest[] = [];
  let refusals = 0;
  let resendFailures = 0;

  const smtp = new SMTPServer({
    disabledCommands: ["AUTH", "STARTTLS"],
    logger: false,
    closeTimeout: 1000,
    onData(stream, _session, callback) {
      if (refusals > 0) {
        refusals -= 1;
        stream.resume();
        stream.on("end", () => callback(Object.assign(new Error("Try again later"), { responseCode: 451 })));
        return;
      }
      simpleParser(stream)
        .then((mail) => {
          messages.push({
            to: addresses(mail.to),
            from: mail.from?.text ?? "",
            subject: mail.subject ?? "",
            text: mail.text ?? "",
            html: typeof mail.html === "string" ? mail.html : "",
            receivedAt: new Date().toISOString(),
          });
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve, reject) => {
    smtp.once("error", reject);
    smtp.listen(0, "127.0.0.1", () => resolve());
  });
  // A client that drops its connection (an isolate torn down mid-send) is
  // that client's failure, seen in its own test; left unhandled, the error
  // event would crash the whole run.
  smtp.on("error", () => {});
  const smtpPort = (smtp.server.address() as AddressInfo).port;

  async function route(key: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (key === "GET /messages") {
      const to = url.searchParams.get("to")?.toLowerCase();
      return send(res, 200, to ? messages.filter((m) => m.to.includes(to)) : messages);
    }
    if (key === "DELETE /messages") {
      messages.length = 0;
      return send(res, 204);
    }
    if (key === "POST /refuse") {
      refusals = count(await json(req));
      return send(res, 204);
    }
    if (key === "POST /emails") {
      resendRequests.push({ authorization: req.headers.authorization ?? null, body: await json(req) });
      if (resendFailures > 0) {
        resendFailures -= 1;
        return send(res, 500, {
          statusCode: 500,
          name: "internal_server_error",
          message: "capture server told to fail",
        });
      }
      return send(res, 200, { id: crypto.randomUUID() });
    }
    if (key === "GET /resend") return send(res, 200, resendRequests);
    if (key === "POST /resend/fail") {
      resendFailures = count(await json(req));
      return send(res, 204);
    }
    send(res, 404, { error: "not found" });
  }

  return {
    smtpUrl: `smtp://127.0.0.1:${smtpPort}`,
    route,
    close: () => new Promise<void>((resolve) => smtp.close(() => resolve())),
  };
}

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  const objects = field === undefined ? [] : Array.isArray(field) ? field : [field];
  return objects.flatMap((o) => o.value.map((a) => (a.address ?? "").toLowerCase()));
}

function count(body: unknown): number {
  const value = (body as { count?: unknown } | null)?.count;
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : 1;
}

async function json(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? JSON.parse(text) : null;
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
}
