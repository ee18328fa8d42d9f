import type { Client } from "ssh2";
import { runCommand, type CommandResult } from "./ssh.ts";

// What the contextualizer does on a VM over SSH. The scripts are fixed text run by `sh` (the
// login shell may be another one); what varies, keys and passwords, goes in on stdin, so that
// no secret shows on a command line or in a process list.

/** Quotes `text` as one word for a POSIX shell. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

function runScript(client: Client, script: string, stdin = ""): Promise<CommandResult> {
  return runCommand(client, `sh -c ${shellQuote(script)}`, stdin);
}

// Appends the key on stdin to the login user's authorized_keys unless the exact line is there
// (so that repeating it changes nothing), keeping the file newline-terminated; restorecon
// relabels the files where SELinux would otherwise hide them from sshd.
const AUTHORIZE_KEY = `set -e
umask 077
key=$(cat)
mkdir -p ~/.ssh
file=~/.ssh/authorized_keys
touch "$file"
if ! grep -qxF -e "$key" "$file"; then
  if [ -s "$file" ] && [ -n "$(tail -c 1 "$file")" ]; then echo >> "$file"; fi
  printf '%s\\n' "$key" >> "$file"
fi
if command -v restorecon >/dev/null 2>&1; then restorecon -F ~/.ssh "$file" >/dev/null 2>&1; fi
`;

// Then prints the Python that Ansible's modules would use, its path and version on two lines,
// or nothing: telling Ansible the path saves it a round trip to look for one.
const FIND_PYTHON = `for python in python3 /usr/bin/python; do
  if path=$(command -v "$python") && version=$("$path" --version 2>&1); then
    printf '%s\\n%s\\n' "$path" "$version"
    break
  fi
done`;

/** Lets `publicKey` (one authorized_keys line) log in as the session's user. */
export async function authorizeKey(client: Client, publicKey: string): Promise<void> {
  await runAuthorizeScript(client, publicKey, AUTHORIZE_KEY);
}

export interface Python {
  path: string;
  version: string;
}

/**
 * Lets the playbook runner's `publicKey` log in, and finds the VM's Python: both in one
 * command, as both are needed before every playbook run.
 */
export async function authorizeRunner(client: Client, publicKey: string): Promise<Python | null> {
  const [path, version] = (await runAuthorizeScript(client, publicKey, AUTHORIZE_KEY + FIND_PYTHON)).split("\n");
  return path && version ? { path, version } : null;
}

async function runAuthorizeScript(client: Client, publicKey: string, script: string): Promise<string> {
  const line = publicKey.trim();
  if (!line || line.includes("\n")) throw new Error("the public key must be a single authorized_keys line");
  const result = await runScript(client, script, `${line}\n`);
  if (result.code !== 0) throw new Error(`cannot add the key to ~/.ssh/authorized_keys: ${firstLine(result.stderr) || `exit status ${result.code}`}`);
  return result.stdout;
}

// stdin: the current password (for sudo), then the chpasswd line. A user that is not root goes
// through sudo, asked for the password only when its policy wants one: with NOPASSWD, sudo
// would not read that line and chpasswd would take it for its input.
const CHANGE_PASSWORD = `IFS= read -r current
if [ "$(id -u)" -eq 0 ]; then exec chpasswd; fi
if sudo -n true 2>/dev/null; then exec sudo -n chpasswd; fi
{ printf '%s\\n' "$current"; cat; } | sudo -k -S -p '' chpasswd`;

/** Sets the login user's password with chpasswd (root's own, or through sudo). */
export async function changePassword(client: Client, username: string, currentPassword: string | undefined, newPassword: string): Promise<void> {
  if (/[\r\n]/.test(newPassword) || /[:\r\n]/.test(username)) throw new Error("the new password or the username holds a character chpasswd cannot take");
  const result = await runScript(client, CHANGE_PASSWORD, `${currentPassword ?? ""}\n${username}:${newPassword}\n`);
  if (result.code !== 0) throw new Error(`chpasswd failed: ${firstLine(result.stderr) || `exit status ${result.code}`}`);
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0] ?? "";
}
