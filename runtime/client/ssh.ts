// From a VM's description (GetVMInfo) to the ssh command that opens a session on it, as
// im_client's `ssh`/`sshvm` do: the public IP first (else the private one, through VM 0 when
// that one is public), through the `proxy_host` of its network when it names one, the port that
// a public network maps to 22, and the VM's credentials.
// Pure: writing the private key to a file and running ssh are the command line's job.
import { proxyHost, sshAddress, type ProxyHost } from "../../core/context-plan.ts";
import { parseRadl, type Radl } from "../../core/radl/index.ts";

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  password?: string;
  privateKey?: string;
  /** Whether `host` is on a public network. */
  public: boolean;
  /** The jump host its network names (`proxy_host`). */
  proxy?: ProxyHost;
}

/** The address and credentials of the VM described by `vmInfo` (RADL text or RADL-JSON). */
export function sshTarget(vmInfo: string, vmId: string): SshTarget {
  let radl: Radl;
  try {
    radl = parseRadl(vmInfo);
  } catch (error) {
    throw new Error(`cannot read the description of VM ${vmId}: ${(error as Error).message}`);
  }
  const system = radl.systems[0];
  if (!system) throw new Error(`the description of VM ${vmId} has no system`);
  const chosen = sshAddress(radl);
  if (!chosen) {
    const state = system.getValue("state");
    throw new Error(`VM ${vmId} has no IP address yet${typeof state === "string" ? ` (state: ${state})` : ""}`);
  }
  const credentials = system.getCredentials();
  if (!credentials.username) throw new Error(`VM ${vmId} reports no user name (disk.0.os.credentials.username)`);
  if (!credentials.password && !credentials.privateKey) throw new Error(`VM ${vmId} reports neither a password nor a private key`);
  const proxy = proxyHost(radl);
  return {
    host: chosen.ip,
    port: chosen.port,
    username: credentials.username,
    public: chosen.public,
    ...(proxy ? { proxy } : {}),
    ...(credentials.password ? { password: credentials.password } : {}),
    ...(credentials.privateKey ? { privateKey: credentials.privateKey } : {}),
  };
}

const NO_HOST_CHECKS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"];

export interface SshCommandOptions {
  /** Where the target's private key was written (when it has one). */
  keyFile?: string;
  /** Reach the target through this host (its proxy host, or VM 0 when the target has no public IP). */
  jump?: { target: ProxyHost; keyFile?: string };
  /** Run this on the VM instead of opening a shell. */
  remoteCommand?: string[];
}

/**
 * The argv of the ssh session: `ssh -p PORT [-i KEY] … user@host`, or with `sshpass -e` in front
 * when the VM has only a password (the password goes in the SSHPASS variable, never in argv).
 */
export function sshCommand(target: SshTarget, options: SshCommandOptions = {}): string[] {
  const argv = ["ssh", "-p", String(target.port)];
  if (options.keyFile) argv.push("-i", options.keyFile);
  argv.push(...NO_HOST_CHECKS);
  if (options.jump) argv.push("-o", `ProxyCommand=${proxyCommand(options.jump.target, options.jump.keyFile)}`);
  argv.push(`${target.username}@${target.host}`);
  if (options.remoteCommand?.length) argv.push(...options.remoteCommand);
  return usesPassword(target, options.keyFile) ? ["sshpass", "-e", ...argv] : argv;
}

/** Whether the session logs in with the password (no key). */
export function usesPassword(target: ProxyHost, keyFile?: string): boolean {
  return !keyFile && target.password !== undefined;
}

function proxyCommand(jump: ProxyHost, keyFile?: string): string {
  const parts = ["ssh", "-W", "%h:%p", "-p", String(jump.port)];
  if (keyFile) parts.push("-i", shellQuote(keyFile));
  // Without a user name, ssh logs in as the local user, as the reference's client does.
  parts.push(...NO_HOST_CHECKS, jump.username ? `${jump.username}@${jump.host}` : jump.host);
  const ssh = parts.join(" ");
  return usesPassword(jump, keyFile) ? `sshpass -p ${shellQuote(jump.password!)} ${ssh}` : ssh;
}

/** A command line a POSIX shell reads back as `argv`. */
export function shellJoin(argv: string[]): string {
  return argv.map(shellQuote).join(" ");
}

export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
