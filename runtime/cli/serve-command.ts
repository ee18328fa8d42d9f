import { parseArgs } from "node:util";
import { loadConfig } from "../config.ts";
import { createLogger } from "../logger.ts";
import { startServer } from "../server.ts";
import type { CommandIo } from "./io.ts";

export const SERVE_USAGE = `  infra-manager serve [--config FILE]
      Serve the IM XML-RPC API (default 127.0.0.1:8899, Dummy provider, lowdb store in ./data).
`;

/** `infra-manager serve`: runs until SIGTERM or SIGINT, then shuts down gracefully. */
export async function serveCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: "string" } } });
  const config = await loadConfig(values.config);
  const log = createLogger({ level: config.logLevel, write: io.stderr });
  const server = await startServer(config, log);
  io.stdout(`infra-manager listening on ${server.host}:${server.port}\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info("shutting down", { signal });
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      resolve();
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
  await server.close();
  return 0;
}
