// oidc-provider ships no types: what test/setup/identity-providers.ts uses of it, loosely.
declare module "oidc-provider" {
  import type { IncomingMessage, ServerResponse } from "node:http";

  export type Configuration = Record<string, unknown> & {
    clients?: Record<string, unknown>[];
    // biome-ignore lint/suspicious/noExplicitAny: the provider's own configuration object is untyped
    [key: string]: any;
  };
  // biome-ignore lint/suspicious/noExplicitAny: koa's context as oidc-provider extends it, untyped here
  export type KoaContextWithOIDC = any;

  export default class Provider {
    constructor(issuer: string, configuration?: Configuration);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    use(middleware: (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void>): void;
    on(event: string, listener: (...args: unknown[]) => void): void;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: Record<string, unknown>,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
  }
}
