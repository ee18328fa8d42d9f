import { parseArgs } from "node:util";
import { RadlError, checkRadl, describeRadl, parseRadl, type RadlFormat } from "../../core/radl/index.ts";
import { UsageError, type CommandIo } from "./io.ts";

export const RADL_USAGE = `Usage:
  infra-manager radl parse [--format radl|json] [--no-check] FILE|-
      Print the document as one JSON object ({"ok": true, ...} or {"ok": false, "error", "line"}).
  infra-manager radl fmt FILE|-
      Print the canonical RADL text, as IM's GetInfrastructureRADL renders it.
  infra-manager radl check FILE...
      Print FILE:LINE: message for every document that fails; exit 1 if any does.
`;

/** `infra-manager radl …`; returns the exit code. */
export async function radlCommand(args: string[], io: CommandIo): Promise<number> {
  const [action, ...rest] = args;
  switch (action) {
    case "parse": return parseAction(rest, io);
    case "fmt": return fmtAction(rest, io);
    case "check": return checkAction(rest, io);
    case undefined:
    case "help":
    case "--help":
      io.stdout(RADL_USAGE);
      return action ? 0 : 2;
    default: throw new UsageError(`unknown radl action '${action}'`);
  }
}

async function parseAction(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { format: { type: "string" }, "no-check": { type: "boolean", default: false } },
  });
  const format = values.format;
  if (format !== undefined && format !== "radl" && format !== "json") throw new UsageError(`--format must be radl or json, not '${format}'`);
  const file = single(positionals);
  const text = await io.readInput(file);
  try {
    const radl = parseRadl(text, format as RadlFormat | undefined);
    if (!values["no-check"]) checkRadl(radl);
    io.stdout(`${JSON.stringify(describeRadl(radl))}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof RadlError)) throw error;
    io.stdout(`${JSON.stringify({ ok: false, error: error.message, line: error.line })}\n`);
    return 1;
  }
}

async function fmtAction(args: string[], io: CommandIo): Promise<number> {
  const file = single(args);
  try {
    const text = parseRadl(await io.readInput(file)).toString();
    io.stdout(text.endsWith("\n") || text === "" ? text : `${text}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof RadlError)) throw error;
    io.stderr(`${location(file, error)}: ${error.detail}\n`);
    return 1;
  }
}

async function checkAction(files: string[], io: CommandIo): Promise<number> {
  if (files.length === 0) throw new UsageError("check needs at least one file");
  let failed = 0;
  for (const file of files) {
    let text: string;
    try {
      text = await io.readInput(file);
    } catch (error) {
      io.stdout(`${file}: cannot read: ${(error as Error).message}\n`);
      failed++;
      continue;
    }
    try {
      checkRadl(parseRadl(text));
    } catch (error) {
      if (!(error instanceof RadlError)) throw error;
      io.stdout(`${location(file, error)}: ${error.detail}\n`);
      failed++;
    }
  }
  return failed ? 1 : 0;
}

function location(file: string, error: RadlError): string {
  return error.line === null ? file : `${file}:${error.line}`;
}

function single(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError("expected exactly one FILE (or - for standard input)");
  return positionals[0];
}
