import { readFile } from "node:fs/promises";

/** Where a command writes; tests pass their own to capture the output. */
export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Reads a file, or standard input for `-`. */
  readInput: (path: string) => Promise<string>;
}

export const processIo: CommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readInput: async (path) => (path === "-" ? readStdin() : readFile(path, "utf8")),
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** A command-line mistake: the message is printed with the usage and the exit code is 2. */
export class UsageError extends Error {}
