import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { ContextNode, ContextOpContext, Contextualizer, PlaybookResults, PlaybookTask } from "../../core/index.ts";
import { createLogger } from "../logger.ts";
import { resolveContextualizer, type PluginSpec } from "../plugins.ts";
import { ProviderPool } from "../workers/pool.ts";
import {
  ConformanceFailure, describeError, expect, requireHook, sharedSession, within,
  type ConformanceSuite, type Hook,
} from "./checks.ts";
import { loadAsServer, manifestChecks } from "./manifest-checks.ts";

// The conformance kit for Contextualizer plugins: they log into hosts the author starts (real
// SSH servers, say, in network namespaces) and run small Ansible playbooks there; the kit reads
// the hosts' files back to see what the playbooks did. One check runs the plugin in the real
// worker pool, where the server runs it, and cancels a call across the thread boundary.

export interface TestHosts {
  /** Two hosts that accept the logins their nodes carry: playbooks run on the first, the second must stay untouched. */
  nodes: readonly [ContextNode, ContextNode];
  /** A node whose host answers SSH but refuses the node's credentials. */
  wrongCredentials: ContextNode;
  /** A node whose address never answers. */
  unreachable: ContextNode;
  /** A file's content on a node's host, or undefined when there is no such file. */
  readFile(node: ContextNode, path: string): Promise<string | undefined>;
  /** A node, not one of `nodes`, whose login the kit may change with changeCredentials(). */
  credentialsNode?: Hook<ContextNode>;
  /** Stops the hosts and removes what they left behind. */
  close?(): Promise<void> | void;
}

export interface ContextualizerFixture {
  /** The plugin module, as a server config names it: an absolute path, a file: URL or a package name. */
  module: string;
  /** What a relative `module` is relative to (default: the current directory). */
  baseDir?: string;
  /** The plugin options, as a server config would give them. */
  options?: Record<string, unknown>;
  /** Starts the hosts; called once, on the first check that needs them, and closed with the suite. */
  hosts(): Promise<TestHosts> | TestHosts;
  /** How long a reachable host may take to accept a login (default 60 s). */
  accessTimeoutSeconds?: number;
  /** How long any one call may take (default 120 s). */
  callTimeoutMs?: number;
}

/** How long a contextualizer may take to give up on refused credentials: "at once", with room for slow logins. */
const CREDENTIALS_GIVE_UP_MS = 15_000;
/** The wait the timeout check asks for, and how late its answer may be. */
const SHORT_TIMEOUT_SECONDS = 2;
const LATE_MS = 5_000;
/** When the abort checks abort, and how long the call may take to stop after that. */
const ABORT_AFTER_MS = 300;
const STOP_GRACE_MS = 3_000;

/** The contextualizer kit's checks for one plugin; register them with registerConformance(). */
export function contextualizerConformance(fixture: ContextualizerFixture): ConformanceSuite {
  const baseDir = fixture.baseDir ?? process.cwd();
  const { check, close } = sharedSession(() => Session.open(fixture, baseDir));
  return {
    name: `contextualizer conformance: ${fixture.module}`,
    checks: [
      ...manifestChecks(fixture.module, baseDir, "contextualizer"),
      check("contextualizer/name", "contextualizer.name equals the manifest name", checkName),
      check("access/ok", "waitForAccess() logs into a reachable host", checkAccess),
      check("access/credentials", "waitForAccess() gives up at once on refused credentials, with reason 'credentials'", checkWrongCredentials),
      check("access/timeout", "waitForAccess() on a host that never answers gives up after timeoutSeconds, with reason 'timeout'", checkAccessTimeout),
      check("access/abort", "waitForAccess() stops when ctx.signal aborts", checkAccessAbort),
      check("prepare/ok", "prepare() readies a reachable host", checkPrepare),
      check("playbook/targets", "runPlaybook() runs on its targets, with the task's and the node's variables, and reports each by IM id", checkPlaybookTargets),
      check("playbook/untouched", "runPlaybook() touches no node that is not a target", checkPlaybookUntouched),
      check("playbook/failure", "a failing playbook is a result with ok: false and an error, not an exception", checkPlaybookFailure),
      check("playbook/abort", "runPlaybook() stops when ctx.signal aborts", checkPlaybookAbort),
      check("credentials/change", "changeCredentials() changes the login: the new password logs in", checkChangeCredentials),
      check("pool/access-and-cancel", "in the worker pool: waitForAccess() logs in, and a cancelled call stops", checkPool),
    ],
    close,
  };
}

/** What ctx.output received. */
interface Output {
  text: string;
  imId: number | undefined;
}

class Session {
  readonly runId = randomUUID();
  private playbookRun: Promise<{ results: PlaybookResults; output: Output[]; marker: string; expected: string }> | undefined;
  private pool: ProviderPool | undefined;

  private constructor(
    readonly hosts: TestHosts,
    readonly spec: PluginSpec,
    private readonly baseDir: string,
    readonly name: string,
    readonly contextualizer: Contextualizer,
    readonly accessTimeoutSeconds: number,
    readonly timeoutMs: number,
  ) {}

  static async open(fixture: ContextualizerFixture, baseDir: string): Promise<Session> {
    const hosts = await fixture.hosts();
    try {
      const spec: PluginSpec = { module: fixture.module, options: fixture.options ?? {} };
      const { loaded, manifest } = await loadAsServer(spec, baseDir);
      const contextualizer = resolveContextualizer(loaded, manifest.name)!;
      return new Session(hosts, spec, baseDir, manifest.name, contextualizer, fixture.accessTimeoutSeconds ?? 60, fixture.callTimeoutMs ?? 120_000);
    } catch (error) {
      await hosts.close?.();
      throw error;
    }
  }

  /** A context whose output is collected in `output`. */
  context(output: Output[] = [], signal: AbortSignal = AbortSignal.timeout(this.timeoutMs)): ContextOpContext {
    return { signal, log: createLogger({ level: "error" }), output: (text, imId) => void output.push({ text, imId }) };
  }

  call<T>(what: string, fn: (ctx: ContextOpContext) => Promise<T>, output?: Output[]): Promise<T> {
    return within(fn(this.context(output)), this.timeoutMs, what);
  }

  /** A playbook task on nodes[0], the inventory holding both nodes. */
  task(name: string, playbook: string, variables: Record<string, string> = {}): PlaybookTask {
    const [target, other] = this.hosts.nodes;
    const withVariable = (node: ContextNode) => ({ ...node, variables: { ...node.variables, conformance_node_value: `node-${node.imId}` } });
    return {
      infrastructureId: `conformance-${this.runId}`,
      name,
      targets: [withVariable(target)],
      nodes: [withVariable(target), withVariable(other)],
      playbook,
      variables: { IM_INFRASTRUCTURE_ID: `conformance-${this.runId}`, ...variables },
    };
  }

  /** The playbook run the targets and untouched checks look at, run once. */
  markerRun(): Promise<{ results: PlaybookResults; output: Output[]; marker: string; expected: string }> {
    return (this.playbookRun ??= (async () => {
      const marker = `/tmp/infra-manager-conformance-${this.runId}`;
      const taskValue = `task-${this.runId}`;
      // `hosts: all`, as a user's recipe may say: the targets must still be the only hosts touched.
      const playbook = `- name: infra-manager conformance marker
  hosts: all
  tasks:
    - name: write the marker
      copy:
        dest: ${marker}
        content: "{{ conformance_task_value }} {{ conformance_node_value }}"
`;
      const output: Output[] = [];
      const results = await this.call("runPlaybook()", (ctx) => this.contextualizer.runPlaybook(this.task("conformance_marker", playbook, { conformance_task_value: taskValue }), ctx), output);
      return { results, output, marker, expected: `${taskValue} node-${this.hosts.nodes[0].imId}` };
    })());
  }

  workerPool(): ProviderPool {
    return (this.pool ??= new ProviderPool({ plugins: [this.spec], baseDir: this.baseDir, logLevel: "error", launchConcurrency: 1, threads: 1 }));
  }

  async close(): Promise<void> {
    try {
      await this.pool?.close();
    } finally {
      await this.hosts.close?.();
    }
  }
}

/** How a call ended within `ms` of being asked to stop: its value, its error, or still running. */
async function settles<T>(call: Promise<T>, ms: number): Promise<{ value: T } | { error: unknown } | undefined> {
  const outcome = call.then((value) => ({ value }), (error: unknown) => ({ error }));
  return Promise.race([outcome, sleep(ms, undefined)]);
}

async function checkName(s: Session): Promise<void> {
  expect(s.contextualizer.name === s.name, () => `contextualizer.name is ${JSON.stringify(s.contextualizer.name)} but the manifest name is '${s.name}': make them equal, the server finds a contextualizer by its manifest name`);
}

async function checkAccess(s: Session): Promise<void> {
  for (const node of s.hosts.nodes) {
    const result = await s.call("waitForAccess()", (ctx) => s.contextualizer.waitForAccess(node, s.accessTimeoutSeconds, ctx));
    expect(result.ok, () => `waitForAccess() of node '${node.name}' (${node.connection.host}:${node.connection.port}) gave ${JSON.stringify(result)}: it must log in with node.connection (its password or privateKey, through its proxy if any)`);
  }
}

async function checkWrongCredentials(s: Session): Promise<void> {
  const started = performance.now();
  const call = s.contextualizer.waitForAccess(s.hosts.wrongCredentials, s.accessTimeoutSeconds, s.context());
  const result = await within(call, CREDENTIALS_GIVE_UP_MS, `waitForAccess() with refused credentials (timeoutSeconds ${s.accessTimeoutSeconds})`).catch((error: unknown) => {
    throw error instanceof ConformanceFailure ? new ConformanceFailure(`${error.message}: give up at once on authentication errors (after at most three, as the reference does) with { ok: false, reason: 'credentials' }`) : error;
  });
  expect(!result.ok && result.reason === "credentials", () => `waitForAccess() with refused credentials gave ${JSON.stringify(result)} after ${Math.round(performance.now() - started)} ms: return { ok: false, reason: 'credentials', message } so that IM reports the wrong credentials`);
}

async function checkAccessTimeout(s: Session): Promise<void> {
  const started = performance.now();
  const limit = SHORT_TIMEOUT_SECONDS * 1000 + LATE_MS;
  const call = s.contextualizer.waitForAccess(s.hosts.unreachable, SHORT_TIMEOUT_SECONDS, s.context());
  const result = await within(call, limit, `waitForAccess() with timeoutSeconds ${SHORT_TIMEOUT_SECONDS} on a host that never answers`).catch((error: unknown) => {
    throw error instanceof ConformanceFailure ? new ConformanceFailure(`${error.message}: stop trying once timeoutSeconds have passed, connection attempts included`) : error;
  });
  expect(!result.ok && result.reason === "timeout", () => `waitForAccess() on a host that never answers gave ${JSON.stringify(result)} after ${Math.round(performance.now() - started)} ms: return { ok: false, reason: 'timeout', message } once timeoutSeconds have passed`);
}

async function checkAccessAbort(s: Session): Promise<void> {
  const controller = new AbortController();
  const call = s.contextualizer.waitForAccess(s.hosts.unreachable, 60, s.context([], controller.signal));
  await sleep(ABORT_AFTER_MS);
  controller.abort();
  const outcome = await settles(call, STOP_GRACE_MS);
  expect(outcome !== undefined, () => `waitForAccess() was still waiting ${STOP_GRACE_MS} ms after ctx.signal aborted: stop connection attempts and pauses when the signal aborts (the contextualization was cancelled or ran out of time)`);
}

async function checkPrepare(s: Session): Promise<void> {
  const result = await s.call("prepare()", (ctx) => s.contextualizer.prepare(s.hosts.nodes[0], ctx));
  expect(result.ok, () => `prepare() of a reachable host gave ${JSON.stringify(result)}: it must leave the host ready for playbooks (Python present, access for the playbook runner)`);
}

async function checkPlaybookTargets(s: Session): Promise<void> {
  const { results, output, marker, expected } = await s.markerRun();
  const target = s.hosts.nodes[0];
  expect(typeof results === "object" && results !== null && JSON.stringify(Object.keys(results)) === JSON.stringify([String(target.imId)]), () =>
    `runPlaybook() with one target (IM id ${target.imId}) returned ${JSON.stringify(results)}: return one result per target, keyed by its IM id`);
  const result = results[target.imId];
  expect(result.ok, () => `runPlaybook() of a playbook that writes one file failed on its target: ${JSON.stringify(result)}`);
  const written = await s.hosts.readFile(target, marker);
  expect(written === expected, () => `the playbook should have written '${expected}' (a task variable and a node variable) to ${marker} on the target; the host holds ${written === undefined ? "no such file" : JSON.stringify(written)}: pass task.variables to every host and node.variables to its own host`);
  const stray = output.filter((o) => o.imId !== undefined && o.imId !== target.imId);
  expect(output.length > 0 && stray.length === 0, () =>
    output.length === 0
      ? "runPlaybook() wrote nothing to ctx.output: stream the playbook's output there, as it happens (it is the VM's contextualization log)"
      : `runPlaybook() sent output to IM ids ${[...new Set(stray.map((o) => o.imId))].join(", ")}, which are not its targets: give ctx.output a target's IM id, or none for all of them`);
}

async function checkPlaybookUntouched(s: Session): Promise<void> {
  const { marker } = await s.markerRun();
  const other = s.hosts.nodes[1];
  const written = await s.hosts.readFile(other, marker);
  expect(written === undefined, () => `the playbook ran on node '${other.name}' (IM id ${other.imId}), which is in task.nodes but not in task.targets: run plays without their own hosts on the targets only`);
}

async function checkPlaybookFailure(s: Session): Promise<void> {
  const target = s.hosts.nodes[0];
  const marker = `/tmp/infra-manager-conformance-failure-${s.runId}`;
  const playbook = `- name: infra-manager conformance failure
  hosts: ${target.name}
  tasks:
    - name: show that the playbook ran
      copy:
        dest: ${marker}
        content: ran
    - name: fail on purpose
      fail:
        msg: infra-manager conformance failure
`;
  const results = await s.call("runPlaybook()", (ctx) => s.contextualizer.runPlaybook(s.task("conformance_failure", playbook), ctx)).catch((error: unknown) => {
    throw new ConformanceFailure(`runPlaybook() of a playbook that fails threw ${describeError(error)}: report a playbook's failure as { [imId]: { ok: false, error } }; throw only when the contextualizer itself breaks`);
  });
  const result = results?.[target.imId];
  expect(result && !result.ok && typeof result.error === "string" && result.error !== "", () => `runPlaybook() of a playbook that fails on its target gave ${JSON.stringify(results)}: report { [${target.imId}]: { ok: false, error: "<what failed>" } }`);
  expect((await s.hosts.readFile(target, marker)) === "ran", () => `runPlaybook() reported ${JSON.stringify(result)} but the playbook's first task never ran on the target, so the failure was not the playbook's`);
}

/** How long a playbook may take to start its first task on a host. */
const PLAYBOOK_START_MS = 60_000;

async function checkPlaybookAbort(s: Session): Promise<void> {
  const target = s.hosts.nodes[0];
  const marker = `/tmp/infra-manager-conformance-${randomUUID()}`;
  const playbook = `- name: infra-manager conformance long task
  hosts: ${target.name}
  tasks:
    - name: started
      copy: { dest: ${marker}, content: started }
    - name: wait
      command: sleep 60
`;
  const controller = new AbortController();
  const call = s.contextualizer.runPlaybook(s.task("conformance_abort", playbook), s.context([], controller.signal));
  // Aborted in the middle of the playbook: once its first task has run on the host.
  const started = performance.now();
  while ((await s.hosts.readFile(target, marker)) !== "started") {
    const early = await settles(call, ABORT_AFTER_MS);
    expect(early === undefined, () => `runPlaybook() of a playbook that sleeps for a minute ended before it was aborted: ${"value" in early! ? JSON.stringify(early.value) : describeError(early!.error)}`);
    expect(performance.now() - started < PLAYBOOK_START_MS, () => `the playbook's first task had not run on the host ${PLAYBOOK_START_MS / 1000} s after runPlaybook() was called`);
  }
  controller.abort();
  const outcome = await settles(call, STOP_GRACE_MS);
  expect(outcome !== undefined, () => `runPlaybook() was still running ${STOP_GRACE_MS} ms after ctx.signal aborted: end the playbook run (kill ansible-playbook, close the sessions) when the signal aborts`);
  expect(!("value" in outcome) || !outcome.value[s.hosts.nodes[0].imId]?.ok, () => "runPlaybook() of a playbook cancelled in its middle reported success: report the targets as failed, or throw");
}

async function checkChangeCredentials(s: Session): Promise<void> {
  const node = requireHook(s.hosts.credentialsNode, "credentialsNode", "that changeCredentials() changes the login");
  const password = `Cf-${randomUUID()}`;
  const result = await s.call("changeCredentials()", (ctx) => s.contextualizer.changeCredentials(node, { password }, ctx));
  expect(result.ok, () => `changeCredentials() with a new password gave ${JSON.stringify(result)}`);
  const changed: ContextNode = { ...node, connection: { ...node.connection, password, privateKey: undefined } };
  const access = await s.call("waitForAccess()", (ctx) => s.contextualizer.waitForAccess(changed, s.accessTimeoutSeconds, ctx));
  expect(access.ok, () => `after changeCredentials() set a new password, a login with it gave ${JSON.stringify(access)}: change the password of node.connection.username on the host`);
}

async function checkPool(s: Session): Promise<void> {
  const pool = s.workerPool();
  const node = s.hosts.nodes[0];
  const access = await within(pool.contextCall(s.name, "waitForAccess", { node, timeoutSeconds: s.accessTimeoutSeconds }, AbortSignal.timeout(s.timeoutMs), () => undefined), s.timeoutMs, "waitForAccess in the worker pool");
  expect(access.ok, () => `waitForAccess() in the worker pool gave ${JSON.stringify(access)} where it logs in in this thread: everything it needs must come from its arguments and options, rebuilt from JSON in each worker`);
  const controller = new AbortController();
  const call = pool.contextCall(s.name, "waitForAccess", { node: s.hosts.unreachable, timeoutSeconds: 60 }, controller.signal, () => undefined);
  await sleep(ABORT_AFTER_MS);
  controller.abort();
  const outcome = await settles(call, STOP_GRACE_MS);
  expect(outcome !== undefined, () => `waitForAccess() in the worker pool was still waiting ${STOP_GRACE_MS} ms after the call was cancelled: stop when ctx.signal aborts`);
}
