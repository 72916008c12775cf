// A WebSocket-to-TCP proxy speaking the protocol of Neon's own wsproxy, so the
// Worker's Neon serverless driver reaches a plain Postgres locally and in
// tests: the driver opens ws://PROXY/v1?address=HOST:PORT and exchanges raw
// Postgres protocol bytes as binary messages. It forwards only to allowlisted
// addresses, so it cannot be used to reach anything else on the machine.
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import type * as WsTypes from "ws";

// Loaded through require: under vitest's globalSetup, imports resolve with
// workerd conditions and `ws` would resolve to its browser stub.
const { WebSocketServer } = createRequire(import.meta.url)("ws") as typeof WsTypes;

export type WsProxy = { url: string; port: number; close(): Promise<void> };

export type WsProxyOptions = {
  port?: number;
  /** host:port pairs the proxy may connect to. */
  allow: string[];
  log?: (line: string) => void;
};

export async function startWsProxy(options: WsProxyOptions): Promise<WsProxy> {
  const allowed = new Set(options.allow);
  const log = options.log ?? (() => {});
  const server: Server = createServer((_req, res) => {
    res.writeHead(426, { "content-type": "text/plain" }).end("WebSocket only\n");
  });
  const wss = new WebSocketServer({ server, path: "/v1" });

  wss.on("connection", (ws, req) => {
    const address = new URL(req.url ?? "/", "http://proxy").searchParams.get("address") ?? "";
    const separator = address.lastIndexOf(":");
    const host = address.slice(0, separator);
    const port = Number(address.slice(separator + 1));
    if (!allowed.has(address) || separator < 1 || !Number.isInteger(port)) {
      log(`ws-proxy: refused address ${JSON.stringify(address)}`);
      ws.close(1008, "address not allowed");
      return;
    }
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    const pending: Buffer[] = [];
    let open = false;
    socket.on("connect", () => {
      open = true;
      for (const chunk of pending.splice(0)) socket.write(chunk);
    });
    ws.on("message", (data: Buffer | ArrayBuffer | Buffer[]) => {
      const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (open) socket.write(chunk);
      else pending.push(chunk);
    });
    socket.on("data", (chunk) => ws.readyState === ws.OPEN && ws.send(chunk));
    socket.on("close", () => ws.close());
    socket.on("error", () => ws.close(1011));
    ws.on("close", () => socket.destroy());
    ws.on("error", () => socket.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
      }),
  };
}
