// `npm run dev:example`: the example app on http://127.0.0.1:8789 (EXAMPLE_PORT),
// signing in through the service at http://localhost:8787 (SERVICE_URL).
// Ctrl-C stops it.
import { startExampleApp } from "./server.ts";

const port = Number(process.env.EXAMPLE_PORT ?? 8789);
const serviceUrl = process.env.SERVICE_URL ?? "http://localhost:8787";
if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error("EXAMPLE_PORT must be a port number");

const app = await startExampleApp({ port, serviceUrl });
console.log(`example app on ${app.url}, signing in through ${serviceUrl}`);
const stop = async () => {
  await app.close();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
