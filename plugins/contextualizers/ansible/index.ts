import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
// ssh2 is CommonJS: Node sees no named export `utils` in it.
import ssh2 from "ssh2";
import {
  PLUGIN_API_VERSION, definePlugin,
  type AccessResult, type ConnectionInfo, type ContextNode, type ContextOpContext, type Contextualizer, type NewCredentials, type PlaybookResults, type PlaybookTask, type TaskResult,
} from "../../../core/index.ts";
import {
  PlaybookOutput, makeControlDir, playbookArguments, playbookEnvironment, runPlaybookProcess, stopConnectionMasters, type PlaybookFiles, type PlaybookOutcome,
} from "./ansible-run.ts";
import { inventoryYaml, type RunnerTarget } from "./inventory.ts";
import { RUN_PREFIX, claimRunFolder, sweepAbandonedRuns } from "./leftovers.ts";
import { authorizeKey, authorizeRunner, changePassword, type Python } from "./remote.ts";
import { openLocalTunnel, openSession, waitForLogin, withSession, type LocalTunnel, type LoginOptions, type SshSession } from "./ssh.ts";

// The Ansible contextualizer (IM behaviour §5.7): logs into VMs with ssh2 and runs the real
// ansible-playbook from the server, one run for the VMs of a task. Instead of IM's agent on the
// master, a VM behind the master is reached through an SSH tunnel across it. The playbook
// runner logs in with a key pair of its own, made once per instance (so per worker thread),
// which `prepare` (and every playbook run, as it may land on another thread) authorizes.

export interface AnsibleOptions {
  /** The ansible-playbook executable, a path or a name looked up in PATH (default "ansible-playbook"). */
  ansiblePlaybook?: string;
  /** How long one SSH connection attempt, login included, may take, in seconds (default 10). */
  connectTimeoutSeconds?: number;
  /** The pause between SSH connection attempts while waiting for access, in seconds (default 1.5). */
  retryIntervalSeconds?: number;
  /** How many `-v` ansible-playbook gets, 0 to 4 (default 0). */
  verbosity?: number;
  /** At most how many VMs one playbook run configures at once (Ansible's forks; default 20). */
  maxForks?: number;
  /** Ansible's SSH pipelining (default true); turn it off for VMs whose sudo requires a tty. */
  pipelining?: boolean;
}

const DEFAULT_OPTIONS: Required<AnsibleOptions> = {
  ansiblePlaybook: "ansible-playbook",
  connectTimeoutSeconds: 10,
  retryIntervalSeconds: 1.5,
  verbosity: 0,
  maxForks: 20,
  pipelining: true,
};

/** The options with their defaults; throws on an unknown option or a value of the wrong kind. */
export function resolveOptions(options: Record<string, unknown>): Required<AnsibleOptions> {
  const resolved = { ...DEFAULT_OPTIONS };
  for (const [key, value] of Object.entries(options)) {
    switch (key) {
      case "ansiblePlaybook":
        if (typeof value !== "string" || !value.trim()) throw new Error("option ansiblePlaybook must be a non-empty string");
        resolved.ansiblePlaybook = value;
        break;
      case "connectTimeoutSeconds":
      case "retryIntervalSeconds":
        if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) throw new Error(`option ${key} must be a positive number`);
        resolved[key] = value;
        break;
      case "verbosity":
        if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 4) throw new Error("option verbosity must be an integer from 0 to 4");
        resolved.verbosity = value;
        break;
      case "pipelining":
        if (typeof value !== "boolean") throw new Error("option pipelining must be true or false");
        resolved.pipelining = value;
        break;
      case "maxForks":
        if (typeof value !== "number" || !Number.isInteger(value) || value < 1) throw new Error("option maxForks must be a positive integer");
        resolved.maxForks = value;
        break;
      default:
        throw new Error(`unknown option ${key}; known: ${Object.keys(DEFAULT_OPTIONS).join(", ")}`);
    }
  }
  return resolved;
}

const CANCELLED = "cancelled";

export class AnsibleContextualizer implements Contextualizer {
  readonly name = "Ansible";
  private runnerKeyPair: { private: string; public: string } | undefined;
  /** The VMs this instance's runner key is authorized on, by login, with their Python. */
  private readonly authorizations = new Map<string, Promise<Python | null>>();

  constructor(private readonly options: Required<AnsibleOptions> = DEFAULT_OPTIONS) {}

  async waitForAccess(node: ContextNode, timeoutSeconds: number, ctx: ContextOpContext): Promise<AccessResult> {
    ctx.log.debug("Waiting for SSH access", { node: node.name, host: node.connection.host, timeoutSeconds });
    const outcome = await waitForLogin(node.connection, {
      timeoutMs: timeoutSeconds * 1000,
      attemptTimeoutMs: this.options.connectTimeoutSeconds * 1000,
      retryIntervalMs: this.options.retryIntervalSeconds * 1000,
      signal: ctx.signal,
    });
    if (outcome === "ok") return { ok: true };
    if (outcome === "credentials") return { ok: false, reason: "credentials", message: `Error connecting with ip: ${node.connection.host} incorrect credentials.` };
    return { ok: false, reason: "timeout", message: "Timeout waiting SSH access." };
  }

  async changeCredentials(node: ContextNode, credentials: NewCredentials, ctx: ContextOpContext): Promise<TaskResult> {
    try {
      await withSession(node.connection, this.loginOptions(ctx), async (session) => {
        if (credentials.password) {
          ctx.output("Changing the password of the VM.\n");
          await changePassword(session.client, node.connection.username, node.connection.password, credentials.password);
        }
        const publicKey = credentials.publicKey || (credentials.privateKey && publicKeyOf(credentials.privateKey));
        if (publicKey) {
          ctx.output("Adding the new public key to the VM.\n");
          await authorizeKey(session.client, publicKey);
        }
      });
      return { ok: true };
    } catch (error) {
      return { ok: false, error: ctx.signal.aborted ? CANCELLED : message(error) };
    }
  }

  /** IM's `basic` step: a Python for Ansible's modules, and the playbook runner's key authorized. */
  async prepare(node: ContextNode, ctx: ContextOpContext): Promise<TaskResult> {
    try {
      return await withSession(node.connection, this.loginOptions(ctx), async (session): Promise<TaskResult> => {
        ctx.output("Authorizing the SSH key of the playbook runner and looking for Python.\n");
        this.authorizations.delete(authorizationKey(node.connection));
        const python = await this.authorized(node.connection, () => authorizeRunner(session.client, this.runnerKey().public));
        if (!python) return { ok: false, error: "Python not found in the VM: Ansible needs python3" };
        ctx.output(`${python.version} found at ${python.path}.\n`);
        return { ok: true };
      });
    } catch (error) {
      return { ok: false, error: ctx.signal.aborted ? CANCELLED : `Error preparing the VM: ${message(error)}` };
    }
  }

  /**
   * Runs the playbook on every target that the runner can reach, in one ansible-playbook:
   * a target behind the master through a local tunnel across the master.
   */
  async runPlaybook(task: PlaybookTask, ctx: ContextOpContext): Promise<PlaybookResults> {
    const results: PlaybookResults = {};
    const gateways = new Map<string, Promise<SshSession>>();
    const tunnels: LocalTunnel[] = [];
    const dir = await mkdtemp(join(tmpdir(), RUN_PREFIX));
    let controlDir: string | undefined;
    try {
      controlDir = await makeControlDir();
      await claimRunFolder(dir, controlDir);
      const reached = new Map<number, RunnerTarget>();
      await Promise.all(task.targets.map(async (node) => {
        try {
          const address = await this.reachable(node.connection, gateways, tunnels, ctx);
          // The run may land on another worker thread than `prepare` did, with another key.
          const python = await this.authorized(node.connection, () =>
            withSession(directConnection(node.connection, address), this.loginOptions(ctx), (session) => authorizeRunner(session.client, this.runnerKey().public)));
          reached.set(node.imId, { ...address, ...(python && { python: python.path }) });
        } catch (error) {
          results[node.imId] = { ok: false, error: ctx.signal.aborted ? CANCELLED : `Error giving Ansible access to the VM: ${message(error)}` };
        }
      }));
      const ready = task.targets.filter((node) => reached.has(node.imId));
      if (ready.length === 0) return results;
      const files = await this.writePlaybookFiles(dir, task, reached);
      const factCache = task.cacheDir && join(task.cacheDir, "ansible-facts");
      ctx.signal.throwIfAborted(); // a cancelled run must not make the folder again
      if (factCache) await mkdir(factCache, { recursive: true, mode: 0o700 });
      ctx.log.info("Running a playbook", { task: task.name, targets: ready.map((node) => node.name) });
      const output = new PlaybookOutput(new Map(ready.map((node) => [node.name, node.imId])), (text, imId) => ctx.output(text, imId));
      const outcome = await runPlaybookProcess(
        this.options.ansiblePlaybook,
        playbookArguments(files, ready.map((node) => node.name), Math.min(ready.length, this.options.maxForks), this.options.verbosity),
        { cwd: dir, env: playbookEnvironment(process.env, dir, controlDir, this.options.pipelining, factCache), signal: ctx.signal, output: (stream, text) => output.write(stream, text) },
      );
      const outcomes = outcome.kind === "exited" ? output.results(outcome.code) : null;
      for (const node of ready) {
        results[node.imId] = outcomes?.get(node.imId) ?? { ok: false, error: this.notRun(outcome) };
        // A VM that failed may have lost the key (a machine replaced at the same address, say).
        if (!results[node.imId].ok) this.authorizations.delete(authorizationKey(node.connection));
      }
      return results;
    } finally {
      if (controlDir) {
        await stopConnectionMasters(controlDir);
        await rm(controlDir, { recursive: true, force: true });
      }
      for (const tunnel of tunnels) tunnel.close();
      for (const gateway of gateways.values()) (await gateway.catch(() => undefined))?.close();
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * Where the runner reaches `connection`: directly, or, behind a proxy, at a local tunnel
   * across it (one login on each proxy serves all its VMs' tunnels).
   */
  private async reachable(connection: ConnectionInfo, gateways: Map<string, Promise<SshSession>>, tunnels: LocalTunnel[], ctx: ContextOpContext): Promise<{ host: string; port: number }> {
    if (!connection.proxy) return { host: connection.host, port: connection.port };
    const key = JSON.stringify(connection.proxy);
    let gateway = gateways.get(key);
    if (!gateway) gateways.set(key, (gateway = openSession(connection.proxy, this.loginOptions(ctx))));
    const tunnel = await openLocalTunnel((await gateway).client, connection.host, connection.port);
    tunnels.push(tunnel);
    return { host: "127.0.0.1", port: tunnel.port };
  }

  /** Why a playbook that did not run to its end has no results. */
  private notRun(outcome: PlaybookOutcome): string {
    switch (outcome.kind) {
      case "cancelled": return CANCELLED;
      case "not started":
        if (outcome.error.code === "ENOENT") return `${this.options.ansiblePlaybook} not found: install ansible-core`;
        return `Cannot run ${this.options.ansiblePlaybook}: ${outcome.error.message}`;
      case "exited": return `ansible-playbook exited with code ${outcome.code}`;
    }
  }

  /** The run's files in its private directory (mkdtemp makes it 0700); secrets in 0600 files. */
  private async writePlaybookFiles(dir: string, task: PlaybookTask, targets: ReadonlyMap<number, RunnerTarget>): Promise<PlaybookFiles> {
    const files: PlaybookFiles = { dir, playbook: join(dir, "playbook.yml"), inventory: join(dir, "inventory.yml"), privateKey: join(dir, "id_ed25519") };
    await writeFile(files.playbook, task.playbook, { mode: 0o600 });
    // It holds the become passwords of users other than root.
    await writeFile(files.inventory, inventoryYaml(task, targets), { mode: 0o600 });
    // OpenSSH refuses a key file without its final newline.
    const key = this.runnerKey().private;
    await writeFile(files.privateKey, key.endsWith("\n") ? key : `${key}\n`, { mode: 0o600 });
    await mkdir(join(dir, "local-tmp"), { mode: 0o700 });
    return files;
  }

  /**
   * The VM's Python, once this instance's runner key is authorized on it: a login per VM and
   * per playbook run would cost as much as short playbooks do.
   */
  private authorized(connection: ConnectionInfo, authorize: () => Promise<Python | null>): Promise<Python | null> {
    const key = authorizationKey(connection);
    let authorization = this.authorizations.get(key);
    if (!authorization) {
      authorization = authorize();
      this.authorizations.set(key, authorization);
      authorization.catch(() => this.authorizations.delete(key));
    }
    return authorization;
  }

  private runnerKey(): { private: string; public: string } {
    return (this.runnerKeyPair ??= ed25519KeyPair(`infra-manager-ansible@${hostname()}`));
  }

  private loginOptions(ctx: ContextOpContext): LoginOptions {
    return { readyTimeoutMs: this.options.connectTimeoutSeconds * 1000, signal: ctx.signal };
  }
}

/**
 * An ed25519 key pair in OpenSSH's format. ssh2 drops a leading zero byte of a key now and
 * then (about one pair in fifty), which OpenSSH refuses ("error in libcrypto"): such pairs are
 * made again.
 */
export function ed25519KeyPair(comment?: string): { private: string; public: string } {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync("ed25519", comment === undefined ? {} : { comment });
    if (isWholeEd25519Key(pair.private)) return pair;
  }
}

/** Whether an unencrypted OpenSSH ed25519 private key holds a 32-byte public and a 64-byte private key. */
function isWholeEd25519Key(privateKey: string): boolean {
  const body = Buffer.from(privateKey.replace(/-----[^-]+-----/g, "").replace(/\s/g, ""), "base64");
  let at = "openssh-key-v1\0".length;
  const field = (from: Buffer): Buffer => {
    const length = from.readUInt32BE(at);
    at += 4 + length;
    return from.subarray(at - length, at);
  };
  try {
    field(body); // cipher
    field(body); // kdf
    field(body); // kdf options
    at += 4; // number of keys
    const publicBlob = field(body);
    const privateSection = field(body);
    at = 8; // two check words
    field(privateSection); // key type
    return publicBlob.length === 4 + 11 + 4 + 32 && field(privateSection).length === 32 && field(privateSection).length === 64;
  } catch {
    return false;
  }
}

/** Who logs in where, through which proxies. */
function authorizationKey({ host, port, username, proxy }: ConnectionInfo): string {
  return JSON.stringify([username, host, port, proxy && authorizationKey(proxy)]);
}

/** The connection's login details, reached directly at `address`. */
function directConnection(connection: ConnectionInfo, address: { host: string; port: number }): ConnectionInfo {
  return {
    ...address,
    username: connection.username,
    ...(connection.password !== undefined && { password: connection.password }),
    ...(connection.privateKey !== undefined && { privateKey: connection.privateKey }),
  };
}

/** The authorized_keys line of a private key. */
function publicKeyOf(privateKey: string): string {
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) throw new Error("the new private key cannot be read");
  return `${parsed.type} ${parsed.getPublicSSH().toString("base64")}`;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export default definePlugin({
  manifest: { name: "Ansible", kind: "contextualizer", version: "1.0.0", apiVersion: PLUGIN_API_VERSION },
  register(registrar, options) {
    const resolved = resolveOptions(options);
    registrar.contextualizer(() => {
      // The runs of a server that died are cleaned up once this one needs the contextualizer.
      void sweepAbandonedRuns().catch(() => undefined);
      return new AnsibleContextualizer(resolved);
    });
  },
});
