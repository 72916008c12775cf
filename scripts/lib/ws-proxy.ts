// A WebSocket-to-TCP proxy speaking the protocol of Neon's own wsproxy, so the
// Worker's Neon serverless driver reaches a plain Postgres locally and in
// tests: the driver opens ws://PROXY/v1?address=HOST:PORT and exchanges raw
// Postgres protocol bytes as binary messages. It forwards only to allowlisted
// addresses, so it cannot be used to reach anything else on the machine.
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import { connect, type AddressInfo, type Socket } from "node:net";
import type { Duplex } from "node:stream";
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
  const wss = new WebSocketServer({ noServer: true });
  const upstreams = new Set<Socket>();

  // The TCP connection is made before the WebSocket handshake completes: when
  // the database is down the client sees its WebSocket fail to open (a clean
  // connection error), rather than open and then close under a driver that
  // is already writing to it.
  server.on("upgrade", (req, client: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    const address = url.searchParams.get("address") ?? "";
    const separator = address.lastIndexOf(":");
    const host = address.slice(0, separator);
    const port = Number(address.slice(separator + 1));
    if (url.pathname !== "/v1" || !allowed.has(address) || separator < 1 || !Number.isInteger(port)) {
      log(`ws-proxy: refused address ${JSON.stringify(address)}`);
      refuse(client, 403, "Forbidden");
      return;
    }
    let upgraded = false;
    client.on("error", () => {});
    const socket = connect({ host, port });
    upstreams.add(socket);
    socket.once("close", () => upstreams.delete(socket));
    socket.on("error", () => {
      if (!upgraded) refuse(client, 502, "Bad Gateway");
    });
    socket.once("connect", () => {
      socket.setNoDelay(true);
      wss.handleUpgrade(req, client, head, (ws) => {
        upgraded = true;
        pipe(ws, socket);
      });
    });
    // The client went away before (or during) the handshake.
    client.once("close", () => {
      if (!upgraded) socket.destroy();
    });
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
        for (const socket of upstreams) socket.destroy();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function pipe(ws: WsTypes.WebSocket, socket: Socket): void {
  ws.on("message", (data: Buffer | ArrayBuffer | Buffer[]) => {
    socket.write(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer));
  });
  socket.on("data", (chunk) => ws.readyState === ws.OPEN && ws.send(chunk));
  socket.on("close", () => ws.close());
  socket.on("error", () => ws.close(1011));
  ws.on("close", () => socket.destroy());
  ws.on("error", () => socket.destroy());
}

function refuse(client: Duplex, status: number, reason: string): void {
  if (client.writable) client.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  client.destroy();
}
