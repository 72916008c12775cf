// Re-authentication has routes only: they call the second-factor and
// passkey services.
import type { Feature } from "../../features";
import { reauthenticationRoutes } from "./routes";

export const reauthentication = { routes: [reauthenticationRoutes] } satisfies Feature;
