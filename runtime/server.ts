import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ProviderError } from "../core/index.ts";
import type { ServerConfig } from "./config.ts";
import { createLogger, type RuntimeLogger } from "./logger.ts";
import { loadPlugins, resolveStore } from "./plugins.ts";
import { Credentials, newInstallationSecret } from "./service/credentials.ts";
import { ImService } from "./service/im-service.ts";
import type { ProviderCaller } from "./service/deployment.ts";
import { OidcVerifier } from "./service/oidc.ts";
import type { ProviderPool } from "./workers/pool.ts";
import { imMethods } from "./xmlrpc/methods.ts";
import { XmlRpcServer } from "./xmlrpc/server.ts";

// Wires a server from its configuration: plugins, store, worker pool, IM service, XML-RPC.

/** How long after listening the provider worker threads start, unless a call needs them first. */
const POOL_START_DELAY_MS = 1000;

export interface RunningServer {
  host: string;
  port: number;
  service: ImService;
  /** Stops accepting calls, finishes the ones in flight, saves everything, stops the workers. */
  close(): Promise<void>;
}

export async function startServer(config: ServerConfig, log: RuntimeLogger = createLogger({ level: config.logLevel })): Promise<RunningServer> {
  const plugins = await loadPlugins(config.plugins, config.baseDir);
  await mkdir(config.dataDir, { recursive: true });
  const store = resolveStore(plugins, config.store, { dataDir: config.dataDir });
  await store.open();
  const im = config.im;
  // The worker threads start a moment after the server listens (or at the first provider
  // call, e.g. for a deployment that resumes): booting them alongside the load of the stored
  // infrastructures and the first calls would slow both on a small machine. The pool's module
  // (and piscina) loads then too, so that start-up does not wait for it.
  let pool: Promise<ProviderPool> | undefined;
  const startPool = () => (pool ??= import("./workers/pool.ts").then(({ ProviderPool }) =>
    new ProviderPool({
      plugins: config.plugins, baseDir: config.baseDir, logLevel: config.logLevel, launchConcurrency: im.MAX_SIMULTANEOUS_LAUNCHES, threads: config.workerThreads,
      callTimeoutMs: config.providerCallTimeoutSeconds * 1000, log,
    })));
  let closed = false;
  // After close() no call may start a new pool: its worker threads would keep the process alive.
  const providers: ProviderCaller = {
    call: async (type, op, cloud, credentials, args) => {
      if (closed) throw new ProviderError("the server is shutting down");
      return (await startPool()).call(type, op, cloud, credentials, args);
    },
  };
  // The first contextualizer plugin configured carries out contextualization.
  const contextualizerName = plugins.contextualizerNames[0];
  const oidc = new OidcVerifier({
    issuers: im.OIDC_ISSUERS, audience: im.OIDC_AUDIENCE, scopes: im.OIDC_SCOPES, clientId: im.OIDC_CLIENT_ID, clientSecret: im.OIDC_CLIENT_SECRET,
    groups: im.OIDC_GROUPS, groupsClaim: im.OIDC_GROUPS_CLAIM, adminGroups: im.OIDC_ADMIN_GROUPS,
  });
  const credentials = new Credentials({ installationSecret: await installationSecret(config.dataDir), adminUsers: im.ADMIN_USER, userDb: im.USER_DB, forceOidc: im.FORCE_OIDC_AUTH, oidc });
  const service = new ImService({
    settings: {
      version: im.VERSION,
      bootMode: im.BOOT_MODE,
      maxVmFails: im.MAX_VM_FAILS,
      delayBetweenVmRetries: im.DELAY_BETWEEN_VM_RETRIES,
      vmInfoUpdateFrequency: im.VM_INFO_UPDATE_FREQUENCY,
      vmInfoUpdateErrorGracePeriod: im.VM_INFO_UPDATE_ERROR_GRACE_PERIOD,
      defaults: { cpus: im.DEFAULT_VM_CPUS, memory: im.DEFAULT_VM_MEMORY, memoryUnit: im.DEFAULT_VM_MEMORY_UNIT, arch: im.DEFAULT_VM_CPU_ARCH },
      defaultVmName: im.DEFAULT_VM_NAME,
      vmInfoJson: im.VMINFO_JSON,
      context: {
        maxTime: im.MAX_CONTEXTUALIZATION_TIME,
        waitRunningVm: im.WAIT_RUNNING_VM_TIMEOUT,
        waitSshAccess: im.WAIT_SSH_ACCCESS_TIMEOUT,
        waitPublicIp: im.WAIT_PUBLIC_IP_TIMEOUT,
        pollMs: 1000,
        names: { vmName: im.DEFAULT_VM_NAME, domain: im.DEFAULT_DOMAIN },
        cacheRoot: join(config.dataDir, "contextualization"),
      },
    },
    store,
    providers,
    providerTypes: plugins.providerTypes,
    contextualizer: contextualizerName === undefined ? null : {
      call: async (op, args, signal, output) => {
        if (closed) throw new Error("the server is shutting down");
        return (await startPool()).contextCall(contextualizerName, op, args, signal, output);
      },
    },
    credentials,
    log,
  });
  await service.start();
  const tls = config.tls && {
    key: await readFile(config.tls.keyFile),
    cert: await readFile(config.tls.certFile),
    ca: config.tls.caFile ? await readFile(config.tls.caFile) : undefined,
  };
  const server = new XmlRpcServer({
    methods: imMethods(service, log),
    bodyLimitBytes: config.bodyLimitBytes,
    tls: tls ?? undefined,
    log: (level, message, fields) => log[level](message, fields),
  });
  const address = await server.listen(config.port, config.host);
  setTimeout(() => closed || startPool(), POOL_START_DELAY_MS).unref();
  log.info("infra-manager serving the IM XML-RPC API", { host: address.host, port: address.port, store: config.store, providers: plugins.providerTypes });
  return {
    ...address,
    service,
    close: async () => {
      try {
        await server.close();
        await service.stop();
      } finally {
        closed = true;
        await (await pool)?.close();
        await store.close();
      }
      log.info("infra-manager stopped");
    },
  };
}

/** The secret that salts owner hashes; created once per data directory. */
async function installationSecret(dataDir: string): Promise<string> {
  const file = join(dataDir, "installation-secret");
  try {
    return (await readFile(file, "utf8")).trim();
  } catch {
    const secret = newInstallationSecret();
    await writeFile(file, `${secret}\n`, { mode: 0o600, flag: "wx" }).catch(() => undefined);
    return (await readFile(file, "utf8")).trim();
  }
}
