// Mail as the composition root wires it: delivery over the configured
// transport. The queue consumer is wired by composeMailConsumer.
import type { Feature } from "../../features";
import { MailDelivery } from "./delivery";

export const mail = {
  services: {
    mail: (deps): MailDelivery =>
      new MailDelivery({
        transport: deps.mailTransport(),
        audit: deps.stores().audit,
        clock: deps.clock,
        brand: deps.config.brand,
      }),
  },
} satisfies Feature;
