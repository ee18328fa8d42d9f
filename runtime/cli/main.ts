import { processIo, UsageError, type CommandIo } from "./io.ts";

type Command = (args: string[], io: CommandIo) => Promise<number>;

// Each command's module loads only when that command runs: `serve` then starts without the
// client's modules (and the xmlrpc package they use), which shortens every server start.
const COMMANDS: Record<string, () => Promise<Command>> = {
  plugin: async () => (await import("./plugin-command.ts")).pluginCommand,
  radl: async () => (await import("./radl-command.ts")).radlCommand,
  serve: async () => (await import("./serve-command.ts")).serveCommand,
};

/** The command named `name`: one of COMMANDS, else a client command. */
async function commandNamed(name: string): Promise<Command | undefined> {
  if (Object.hasOwn(COMMANDS, name)) return COMMANDS[name]();
  const { CLIENT_COMMANDS } = await import("./client-command.ts");
  return Object.hasOwn(CLIENT_COMMANDS, name) ? CLIENT_COMMANDS[name] : undefined;
}

async function usage(): Promise<string> {
  const [{ CLIENT_USAGE }, { PLUGIN_USAGE }, { RADL_USAGE }, { SERVE_USAGE }] = await Promise.all([
    import("./client-command.ts"),
    import("./plugin-command.ts"),
    import("./radl-command.ts"),
    import("./serve-command.ts"),
  ]);
  return `Usage: infra-manager <command> [arguments]

Commands:
  serve      serve the IM XML-RPC API
  radl       parse, format and check RADL documents (infra-manager radl --help)
  plugin     start a provider plugin package (infra-manager plugin new NAME)
  list, create, getstate, wait, ssh, destroy, …
             talk to an IM server, like im_client (below; infra-manager COMMAND --help)

${SERVE_USAGE}${RADL_USAGE}${PLUGIN_USAGE}
${CLIENT_USAGE}`;
}

/** Runs the command line; returns the exit code (2 for usage mistakes). */
export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    io.stdout(await usage());
    return name === undefined ? 2 : 0;
  }
  try {
    const command = await commandNamed(name);
    if (!command) throw new UsageError(`unknown command '${name}'`);
    return await command(args, io);
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      io.stderr(`infra-manager: ${(error as Error).message}\n\n${await usage()}`);
      return 2;
    }
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "EISDIR" || (error as Error).name === "ConfigError" || (error as Error).name === "PluginError") {
      io.stderr(`infra-manager: ${(error as Error).message}\n`);
      return 1;
    }
    throw error;
  }
}
