// Reads an auth file for the command line: the pure parser of core/auth-file.ts with `file(...)`
// read from this machine and `command(...)` run here, as im_client does.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, resolve } from "node:path";
import { parseAuthFile, type AuthCredential, type AuthFileResolvers } from "../../core/auth-file.ts";

export { AuthFileError, type AuthCredential } from "../../core/auth-file.ts";

/** `~/x` and paths relative to `cwd` (the current directory, as im_client resolves them). */
export function expandPath(path: string, cwd = process.cwd()): string {
  const home = path === "~" || path.startsWith("~/") ? homedir() + path.slice(1) : path;
  return isAbsolute(home) ? home : resolve(cwd, home);
}

export const localResolvers: AuthFileResolvers = {
  file: (path) => readFileSync(expandPath(path), "utf8"),
  command: (command) => {
    const [program, ...args] = command.split(/\s+/).filter(Boolean);
    if (!program) throw new Error("empty command");
    try {
      return execFileSync(program, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
    } catch (error) {
      const { stderr, message } = error as { stderr?: string; message: string };
      throw new Error(stderr?.trim() || message);
    }
  },
};

/** Parses auth-file text with the local resolvers; throws AuthFileError. */
export function readAuthText(text: string, resolvers: AuthFileResolvers = localResolvers): AuthCredential[] {
  return parseAuthFile(text, resolvers);
}
