import { CLIENT_COMMANDS, CLIENT_USAGE } from "./client-command.ts";
import { processIo, UsageError, type CommandIo } from "./io.ts";
import { pluginCommand, PLUGIN_USAGE } from "./plugin-command.ts";
import { radlCommand, RADL_USAGE } from "./radl-command.ts";
import { serveCommand, SERVE_USAGE } from "./serve-command.ts";

const USAGE = `Usage: infra-manager <command> [arguments]

Commands:
  serve      serve the IM XML-RPC API
  radl       parse, format and check RADL documents (infra-manager radl --help)
  plugin     start a provider plugin package (infra-manager plugin new NAME)
  list, create, getstate, wait, ssh, destroy, …
             talk to an IM server, like im_client (below; infra-manager COMMAND --help)

${SERVE_USAGE}${RADL_USAGE}${PLUGIN_USAGE}
${CLIENT_USAGE}`;

const COMMANDS: Record<string, (args: string[], io: CommandIo) => Promise<number>> = {
  ...CLIENT_COMMANDS,
  plugin: pluginCommand,
  radl: radlCommand,
  serve: serveCommand,
};

/** Runs the command line; returns the exit code (2 for usage mistakes). */
export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    io.stdout(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  try {
    if (!command) throw new UsageError(`unknown command '${name}'`);
    return await command(args, io);
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      io.stderr(`infra-manager: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "EISDIR" || (error as Error).name === "ConfigError" || (error as Error).name === "PluginError") {
      io.stderr(`infra-manager: ${(error as Error).message}\n`);
      return 1;
    }
    throw error;
  }
}
