import { appendFileSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import {
  Feature, PLUGIN_API_VERSION, ProviderError, definePlugin,
  type CloudProvider, type ImageInfo, type LaunchRequest, type LaunchResult, type Observation, type OpContext, type ProviderVm, type Quotas, type System,
} from "../../../core/index.ts";

// The reference's Dummy cloud (IM behaviour §6.4): launches nothing, needs no credentials,
// and answers every call at once with fixed data. Options add what tests and benchmarks need.

export interface DummyOptions {
  /** Simulated latency of every launch, in milliseconds (default 0). */
  launchLatencyMs?: number;
  /** Share of launches that fail, 0..1 (default 0). */
  failureRate?: number;
  /**
   * A file where every launch is recorded by idempotency key: a fake cloud that survives a
   * restart, so that a repeated launch returns the VMs already created.
   */
  ledgerFile?: string;
}

const IMAGES: ImageInfo[] = [
  { uri: "mock0://linux.for.ev.er/image1", name: "Image Name1" },
  { uri: "mock0://linux.for.ev.er/image2", name: "Image Name2" },
];

const QUOTA_KEYS = ["cores", "ram", "instances", "floating_ips", "security_groups"];

export class DummyProvider implements CloudProvider {
  readonly type = "Dummy";
  readonly capabilities = ["start", "stop", "reboot", "alter", "snapshot", "images", "quotas"] as const;

  constructor(private readonly options: DummyOptions = {}) {}

  async concreteSystem(system: System): Promise<System[]> {
    const concrete = system.clone();
    if (concrete.getValue("disk.0.os.credentials.username") === undefined) concrete.setValue("disk.0.os.credentials.username", "username");
    return [concrete];
  }

  async launch(request: LaunchRequest, ctx: OpContext): Promise<LaunchResult[]> {
    const known = this.recordedLaunch(request.idempotencyKey);
    if (known) return known.map((providerId) => this.launched(request, providerId));
    if (this.options.launchLatencyMs) await sleep(this.options.launchLatencyMs, undefined, { signal: ctx.signal });
    const results: LaunchResult[] = [];
    for (let i = 0; i < request.count; i++) {
      if (Math.random() < (this.options.failureRate ?? 0)) results.push({ ok: false, error: "Simulated launch failure" });
      // The reference uses the time in centiseconds; the suffix keeps ids of one batch apart.
      else results.push(this.launched(request, `${Math.floor(Date.now() / 10)}${request.count > 1 ? `-${i}` : ""}`));
    }
    this.recordLaunch(request.idempotencyKey, results);
    return results;
  }

  /** Dummy VMs show the requested RADL with fixed address, credentials and state. */
  private launched(request: LaunchRequest, providerId: string): LaunchResult {
    const info = request.requestedRadl.clone();
    const system = info.systems[0];
    system.setValue("state", "running");
    system.setValue("provider.type", "Dummy");
    system.setValue("net_interface.0.ip", "10.0.0.1");
    system.setCredentials({ username: "username", password: "password" });
    return { ok: true, providerId, info, state: "running" };
  }

  private recordedLaunch(key: string): string[] | undefined {
    if (!this.options.ledgerFile) return undefined;
    let text: string;
    try {
      text = readFileSync(this.options.ledgerFile, "utf8");
    } catch {
      return undefined;
    }
    for (const line of text.split("\n")) {
      if (!line) continue;
      const entry = JSON.parse(line) as { key: string; ids: string[] };
      if (entry.key === key) return entry.ids;
    }
    return undefined;
  }

  private recordLaunch(key: string, results: LaunchResult[]): void {
    if (!this.options.ledgerFile) return;
    const ids = results.flatMap((r) => (r.ok ? [r.providerId] : []));
    appendFileSync(this.options.ledgerFile, `${JSON.stringify({ key, ids })}\n`);
  }

  async observe(vm: ProviderVm): Promise<Observation> {
    return { state: vm.state };
  }

  async finalize(): Promise<void> {}

  /** Dummy addresses are data: nothing may ever dial them. */
  connectionInfo(): null {
    return null;
  }

  async start(): Promise<Observation> {
    return { state: "running" };
  }

  async stop(): Promise<Observation> {
    return { state: "stopped" };
  }

  async reboot(vm: ProviderVm): Promise<Observation> {
    return { state: vm.state };
  }

  /** Copies cpu.count and memory.size (in M); both must be given, as in the reference. */
  async alter(vm: ProviderVm, system: System): Promise<Observation & { info: typeof vm.info }> {
    const info = vm.info.clone();
    const target = info.systems[0];
    const memory = system.getFeature("memory.size");
    const cpus = system.getValue("cpu.count");
    if (!memory || typeof cpus !== "number") throw new ProviderError("'NoneType' object has no attribute 'getValue'");
    target.setValue("cpu.count", cpus);
    target.addFeature(Feature.number("memory.size", "=", memory.getValue("M") as number, false, "M"), "other", "other");
    return { state: vm.state, info };
  }

  async createSnapshot(_vm: ProviderVm, _disk: number, imageName: string): Promise<string> {
    return `mock0://linux.for.ev.er/${imageName}`;
  }

  async deleteImage(): Promise<void> {}

  async listImages(): Promise<ImageInfo[]> {
    return IMAGES.map((image) => ({ ...image }));
  }

  async getQuotas(): Promise<Quotas> {
    return Object.fromEntries(QUOTA_KEYS.map((key) => [key, { used: 1, limit: 10 }]));
  }
}

export default definePlugin<DummyOptions>({
  manifest: { name: "Dummy", kind: "provider", version: "1.0.0", apiVersion: PLUGIN_API_VERSION },
  register(registrar, options) {
    registrar.provider(() => new DummyProvider(options));
  },
});
