import {
  ProviderError,
  type CloudEntry, type CloudProvider, type LaunchRequest, type LaunchResult, type Observation, type OpContext, type ProviderState, type ProviderVm, type Radl, type System,
} from "infra-manager/core";
import { ExampleClient, type ExampleServer } from "./client.ts";

// The Example cloud as an infra-manager provider. Each call builds a client from the call's
// own credentials: providers keep no per-user state, and one instance serves every user.

/** The IM auth `type` this provider answers to: auth lines say `type = Example`. */
export const EXAMPLE_TYPE = "Example";

/** Images of this cloud are written `example://<image name>` in RADL. */
const IMAGE_SCHEME = "example://";

/** The cloud's statuses as IM states; a status missing here is `unknown`. */
export const EXAMPLE_STATE_MAP: ReadonlyMap<string, ProviderState> = new Map([
  ["BUILDING", "pending"],
  ["ACTIVE", "running"],
  ["STOPPED", "stopped"],
  ["SHUTOFF", "off"],
  ["ERROR", "failed"],
]);

export interface ExampleOptions {
  /** How long one API call may take before it fails as retryable (default 30 s). */
  requestTimeoutMs?: number;
}

export class ExampleProvider implements CloudProvider {
  readonly type = EXAMPLE_TYPE;
  readonly capabilities = ["start", "stop"] as const;

  constructor(private readonly options: ExampleOptions = {}) {}

  /** One variant per image of this cloud the system asks for; none when it asks for no such image. */
  async concreteSystem(system: System): Promise<System[]> {
    const value = system.getValue("disk.0.image.url");
    const urls = Array.isArray(value) ? value : [value];
    return urls.filter((url): url is string => typeof url === "string" && url.startsWith(IMAGE_SCHEME)).map((url) => {
      const concrete = system.clone();
      concrete.setValue("disk.0.image.url", url);
      concrete.setValue("provider.type", EXAMPLE_TYPE);
      if (concrete.getValue("disk.0.os.credentials.username") === undefined) concrete.setValue("disk.0.os.credentials.username", "cloudadm");
      return concrete;
    });
  }

  /**
   * Creates one server per VM. Each carries a client token made of the launch's idempotency
   * key and its position, so repeating a launch (after a restart) returns the same servers.
   */
  async launch(request: LaunchRequest, ctx: OpContext): Promise<LaunchResult[]> {
    const client = this.client(ctx);
    const system = request.radl.systems[0];
    if (!system) throw new ProviderError("No system to launch");
    const image = String(system.getValue("disk.0.image.url")).slice(IMAGE_SCHEME.length);
    const memory = system.getFeature("memory.size")?.getValue("M");
    const results: LaunchResult[] = [];
    for (let index = 0; index < request.count; index++) {
      try {
        const server = await client.createServer({
          name: `${system.name}-${request.infrastructureId.slice(0, 8)}-${index}`,
          image,
          cpus: Number(system.getValue("cpu.count") ?? 1),
          memoryMb: typeof memory === "number" ? memory : 512,
          clientToken: `${request.idempotencyKey}#${index}`,
        });
        results.push({ ok: true, providerId: server.id, info: describe(request.radl, server), state: stateOf(server), nativeState: server.status });
      } catch (error) {
        // Until a server exists the failure is the whole launch's, thrown with its kind; after
        // that it is this VM's alone, so that the servers already created are kept.
        if (results.length === 0) throw error;
        results.push({ ok: false, error: (error as Error).message });
      }
    }
    return results;
  }

  /** A server the cloud no longer knows is `off`, as IM's connectors report deleted VMs. */
  async observe(vm: ProviderVm, ctx: OpContext): Promise<Observation> {
    const server = await this.client(ctx).getServer(requireId(vm));
    if (!server) return { state: "off" };
    return this.observation(vm, server);
  }

  /** Deleting a placeholder, or a server already gone, succeeds. This cloud has no shared resources for `last`. */
  async finalize(vm: ProviderVm, _last: boolean, ctx: OpContext): Promise<void> {
    if (vm.providerId !== null) await this.client(ctx).deleteServer(vm.providerId);
  }

  async start(vm: ProviderVm, ctx: OpContext): Promise<Observation> {
    return this.observation(vm, await this.client(ctx).act(requireId(vm), "start"));
  }

  async stop(vm: ProviderVm, ctx: OpContext): Promise<Observation> {
    return this.observation(vm, await this.client(ctx).act(requireId(vm), "stop"));
  }

  /** The state, and the VM's description when the cloud changed something it shows (its address). */
  private observation(vm: ProviderVm, server: ExampleServer): Observation {
    const observation: Observation = { state: stateOf(server), nativeState: server.status };
    const info = describe(vm.info, server);
    if (info.toString() !== vm.info.toString()) observation.info = info;
    return observation;
  }

  /** The auth line of this call's cloud (by id), else the first of this type. */
  private client(ctx: OpContext): ExampleClient {
    const credential = ctx.credentials.find((item) => item.id === ctx.cloud.id) ?? ctx.credentials[0];
    const token = credential?.token;
    if (typeof token !== "string" || !ctx.cloud.server) {
      throw new ProviderError(`No correct auth data has been specified to ${EXAMPLE_TYPE}: its auth line needs host and token.`, "auth");
    }
    return new ExampleClient(baseUrl(ctx.cloud), token, ctx.signal, this.options.requestTimeoutMs ?? 30_000);
  }
}

function stateOf(server: ExampleServer): ProviderState {
  return EXAMPLE_STATE_MAP.get(server.status) ?? "unknown";
}

/** The VM's description with what the cloud knows: its address on the first interface. */
function describe(radl: Radl, server: ExampleServer): Radl {
  const info = radl.clone();
  const system = info.systems[0];
  if (system && server.ip && system.hasFeature("net_interface.0.connection")) system.setValue("net_interface.0.ip", server.ip);
  return info;
}

function requireId(vm: ProviderVm): string {
  if (vm.providerId === null) throw new ProviderError(`VM ${vm.imId} was never created in the ${EXAMPLE_TYPE} cloud`);
  return vm.providerId;
}

/** `host = https://cloud.test:8443/api` in the auth line; https when it names no scheme. */
function baseUrl(cloud: CloudEntry): string {
  return `${cloud.protocol || "https"}://${cloud.server}${cloud.port > 0 ? `:${cloud.port}` : ""}${cloud.path.replace(/\/*$/, "/")}`;
}
