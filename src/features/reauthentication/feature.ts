// Re-authentication has routes only: they call the second-factor and
// passkey services.
import type { Feature } from "../../features";

export const reauthentication = {
  routes: [() => import("./routes").then((m) => m.reauthenticationRoutes)],
} satisfies Feature;
