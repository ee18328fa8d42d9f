import { execFile, spawn } from "node:child_process";
import { mkdtemp, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { TaskResult } from "../../../core/index.ts";

// Running ansible-playbook as a child process: its arguments and environment, its output as it
// comes, cancellation, and a short reason when it fails.

export interface PlaybookFiles {
  /** The run's private directory; Ansible's local temporary files go in it too. */
  dir: string;
  playbook: string;
  inventory: string;
  privateKey: string;
}

/**
 * The command line: only the hosts `limit` names (commas keep Ansible from splitting an IPv6
 * name at its colons), logged in with the runner's key, `forks` of them at once.
 */
export function playbookArguments(files: PlaybookFiles, limit: readonly string[], forks: number, verbosity: number): string[] {
  return [
    "-i", files.inventory,
    "-l", `${limit.join(",")},`,
    "-f", String(forks),
    "--private-key", files.privateKey,
    ...(verbosity > 0 ? [`-${"v".repeat(verbosity)}`] : []),
    files.playbook,
  ];
}

/** How long cached facts serve: a day, far longer than a contextualization (2 h by default). */
const FACT_CACHE_SECONDS = 86_400;

/**
 * Ansible's settings, through the environment so that they win over any ansible.cfg: no host
 * key checks (VMs are new), one SSH connection per host for the whole run (a master whose
 * socket lives in `controlDir`, stopped by `stopConnectionMasters` when the run ends: a login
 * per task would cost more than most tasks), no retry files, no colours in the log,
 * unbuffered output so that it streams, and local temporary files in the run's directory.
 * Pipelining runs a module in one SSH session instead of three or four, but fails where sudo
 * insists on a tty (`Defaults requiretty`). With a `factCache` folder, facts are kept there as
 * the reference keeps them: a play gathers a host's facts only when none are cached, and a
 * recipe with `gather_facts: false` reads those an earlier playbook gathered.
 */
export function playbookEnvironment(base: NodeJS.ProcessEnv, dir: string, controlDir: string, pipelining: boolean, factCache?: string): NodeJS.ProcessEnv {
  return {
    ...base,
    ...(factCache && {
      ANSIBLE_GATHERING: "smart",
      ANSIBLE_CACHE_PLUGIN: "jsonfile",
      ANSIBLE_CACHE_PLUGIN_CONNECTION: factCache,
      ANSIBLE_CACHE_PLUGIN_TIMEOUT: String(FACT_CACHE_SECONDS),
    }),
    ANSIBLE_PIPELINING: pipelining ? "True" : "False",
    ANSIBLE_HOST_KEY_CHECKING: "False",
    ANSIBLE_SSH_ARGS: "-o ControlMaster=auto -o ControlPersist=120s -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o IdentitiesOnly=yes -o ServerAliveInterval=30",
    ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir,
    // %C, a hash, keeps the socket path under the kernel's 108-byte limit.
    ANSIBLE_SSH_CONTROL_PATH: "%(directory)s/%%C",
    ANSIBLE_RETRY_FILES_ENABLED: "False",
    ANSIBLE_NOCOLOR: "1",
    ANSIBLE_FORCE_COLOR: "0",
    ANSIBLE_LOCAL_TEMP: join(dir, "local-tmp"),
    PYTHONUNBUFFERED: "1",
  };
}

/**
 * A run's folder for its SSH connection masters' sockets. Not under TMPDIR: a socket path may
 * not exceed 107 bytes, and ssh adds 17 to the 40 of the socket's name.
 */
export function makeControlDir(): Promise<string> {
  return mkdtemp("/tmp/imcp-");
}

/** Ends the SSH connection masters a run left (they would outlive it by their ControlPersist). */
export async function stopConnectionMasters(controlDir: string): Promise<void> {
  const sockets = await readdir(controlDir).catch(() => []);
  await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => {
    execFile("ssh", ["-o", `ControlPath=${join(controlDir, socket)}`, "-O", "exit", "vm"], { timeout: 10_000 }, () => resolve());
  })));
}

export type PlaybookOutcome = { kind: "exited"; code: number } | { kind: "not started"; error: NodeJS.ErrnoException } | { kind: "cancelled" };

/** How long Ansible gets to stop after SIGTERM before its process group is killed. */
const STOP_GRACE_MS = 3000;

/**
 * Runs the playbook, handing its stdout and stderr to `output` as they arrive. It runs in its
 * own process group so that cancelling stops it with every worker and ssh it started.
 */
export function runPlaybookProcess(
  executable: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; signal: AbortSignal; output: (stream: "stdout" | "stderr", text: string) => void },
): Promise<PlaybookOutcome> {
  return new Promise((resolve) => {
    if (options.signal.aborted) return resolve({ kind: "cancelled" });
    const child = spawn(executable, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let startError: NodeJS.ErrnoException | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      signalGroup(child.pid, "SIGTERM");
      killTimer = setTimeout(() => signalGroup(child.pid, "SIGKILL"), STOP_GRACE_MS);
    };
    options.signal.addEventListener("abort", stop, { once: true });
    child.stdout.setEncoding("utf8").on("data", (text: string) => options.output("stdout", text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => options.output("stderr", text));
    child.on("error", (error: NodeJS.ErrnoException) => (startError ??= error));
    // 'close' waits for the output pipes, which whatever Ansible started may hold open too.
    child.on("close", (code) => {
      options.signal.removeEventListener("abort", stop);
      clearTimeout(killTimer);
      // Whatever of the group outlived SIGTERM without holding the pipes.
      if (options.signal.aborted) signalGroup(child.pid, "SIGKILL");
      if (startError) resolve({ kind: "not started", error: startError });
      else if (options.signal.aborted) resolve({ kind: "cancelled" });
      else resolve({ kind: "exited", code: code ?? -1 });
    });
  });
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

const HEADER = /^(PLAY|TASK|RUNNING HANDLER|PLAY RECAP)(?: \[(.*)\])? \*+$/;
const HOST_STATUS = /^(ok|changed|skipping|fatal|failed|unreachable|rescued|ignored): \[([^\]]*)\](.*)$/;
const FAILURE_DETAILS = /^(?:: (FAILED|UNREACHABLE)!)?(?: \((item=.*?)\))? => (.*)$/;
const RECAP = /^(\S+)\s+: ok=\d+\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)/;
const MAX_REASON_LENGTH = 500;

type OutputStream = "stdout" | "stderr";

interface HostFailure {
  host: string;
  unreachable: boolean;
  task: string | undefined;
  item: string | undefined;
  details: string;
}

/**
 * Reads ansible-playbook's output line by line as it comes. Each line goes on to the log of the
 * VM it is about (a task's result, the recap line), or to every VM's log (play and task
 * headers, warnings). Meanwhile it notes each host's last failure and the recap, so that once
 * the run ends it can tell which targets failed and why, in one line each.
 */
export class PlaybookOutput {
  private readonly partialLines: Record<OutputStream, string> = { stdout: "", stderr: "" };
  private task: string | undefined;
  /** The host the lines being read are about: results such as `debug`'s span several lines. */
  private currentHost: string | undefined;
  /** A failure still being read: `...ignoring` may follow, or more lines of its result. */
  private pending: HostFailure | undefined;
  private readonly failures = new Map<string, HostFailure>();
  private readonly recap = new Map<string, { unreachable: number; failed: number }>();
  /** Ansible's own error (a syntax error, say): the reason for targets it left without a result. */
  private error: string | undefined;

  /**
   * @param targets the IM id of each target, by inventory name
   * @param emit receives each piece of output with the IM id of the VM it is about, if one
   */
  constructor(
    private readonly targets: ReadonlyMap<string, number>,
    private readonly emit: (text: string, imId?: number) => void,
  ) {}

  write(stream: OutputStream, text: string): void {
    const lines = (this.partialLines[stream] + text).split("\n");
    this.partialLines[stream] = lines.pop()!;
    this.route(stream, lines);
  }

  /** Each target's outcome once the run ended with `exitCode`. */
  results(exitCode: number): Map<number, TaskResult> {
    for (const stream of ["stdout", "stderr"] as const) {
      if (this.partialLines[stream]) this.route(stream, [this.partialLines[stream]]);
      this.partialLines[stream] = "";
    }
    this.settle();
    const results = new Map<number, TaskResult>();
    for (const [name, imId] of this.targets) {
      const stats = this.recap.get(name);
      if (exitCode === 0 || (stats && stats.failed === 0 && stats.unreachable === 0)) results.set(imId, { ok: true });
      else results.set(imId, { ok: false, error: this.reason(name, exitCode) });
    }
    return results;
  }

  /** Hands the lines on, consecutive lines for the same VM in one piece. */
  private route(stream: OutputStream, lines: string[]): void {
    let text = "";
    let about: number | undefined;
    for (const line of lines) {
      const clean = line.replace(/\r$/, "");
      const host = stream === "stdout" ? this.readStdout(clean) : this.readStderr(clean);
      const imId = host === undefined ? undefined : this.targets.get(host);
      if (text && imId !== about) {
        this.emit(text, about);
        text = "";
      }
      about = imId;
      text += `${clean}\n`;
    }
    if (text) this.emit(text, about);
  }

  /** Reads one line of stdout; returns the host it is about, if one. */
  private readStdout(line: string): string | undefined {
    const header = HEADER.exec(line);
    if (header) {
      this.endResult();
      if (header[1] === "TASK" || header[1] === "RUNNING HANDLER") this.task = header[2];
      return undefined;
    }
    const status = HOST_STATUS.exec(line);
    if (status) {
      this.endResult();
      // A delegated task shows as "[target -> delegate]".
      this.currentHost = status[2].split(" -> ")[0];
      const failure = status[1] === "fatal" || status[1] === "failed" ? FAILURE_DETAILS.exec(status[3]) : null;
      if (failure) this.pending = { host: this.currentHost, unreachable: failure[1] === "UNREACHABLE", task: this.task, item: failure[2], details: failure[3] };
      return this.currentHost;
    }
    const recap = RECAP.exec(line);
    if (recap) {
      this.recap.set(recap[1], { unreachable: Number(recap[2]), failed: Number(recap[3]) });
      return recap[1];
    }
    if (line.trim() === "...ignoring") {
      // The failure just read was excused by ignore_errors.
      this.pending = undefined;
      return this.currentHost;
    }
    // A result goes on in indented lines (and its closing bracket); anything else ends it.
    if (!line.trim() || !/^[\s}\]]/.test(line)) this.endResult();
    if (line.startsWith("ERROR! ")) this.error ??= line.slice("ERROR! ".length);
    if (this.pending) this.pending.details += `\n${line}`;
    return this.currentHost;
  }

  private readStderr(line: string): undefined {
    if (line.startsWith("ERROR! ")) this.error ??= line.slice("ERROR! ".length);
    return undefined;
  }

  private endResult(): void {
    this.settle();
    this.currentHost = undefined;
  }

  /** The last failure of a host counts: one that a block's `rescue` handled is followed by others. */
  private settle(): void {
    if (this.pending) this.failures.set(this.pending.host, this.pending);
    this.pending = undefined;
  }

  private reason(host: string, exitCode: number): string {
    const failure = this.failures.get(host);
    if (!failure) return oneLine(this.error ?? `ansible-playbook exited with code ${exitCode}`);
    const task = failure.task === undefined ? "Task" : `Task "${failure.task}"`;
    const item = failure.item === undefined ? "" : ` (${failure.item})`;
    const message = resultMessage(failure.details);
    return oneLine(failure.unreachable ? `${task}${item}: host unreachable: ${message}` : `${task}${item} failed: ${message}`);
  }
}

/** The message of a task result printed as JSON, with the command's stderr when it has one. */
function resultMessage(details: string): string {
  try {
    const result = JSON.parse(details) as { msg?: unknown; stderr?: unknown };
    const message = typeof result.msg === "string" ? result.msg : details;
    const stderr = typeof result.stderr === "string" ? result.stderr.trim() : "";
    return stderr && !message.includes(stderr) ? `${message}: ${stderr}` : message;
  } catch {
    return details;
  }
}

function oneLine(text: string): string {
  const line = text.replace(/\s*\n\s*/g, " ").trim();
  return line.length > MAX_REASON_LENGTH ? `${line.slice(0, MAX_REASON_LENGTH - 3)}...` : line;
}
