import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { PluginSpec } from "./plugins.ts";

// The server's configuration: built-in defaults, then a JSON file, then the environment.
// IM's own options keep their reference names (MAX_SIMULTANEOUS_LAUNCHES, …) under "im".

export interface ServerConfig {
  host: string;
  port: number;
  tls: { keyFile: string; certFile: string; caFile?: string } | null;
  dataDir: string;
  /** The store plugin to use, by name. */
  store: string;
  plugins: PluginSpec[];
  /** Relative plugin paths are resolved against this folder. */
  baseDir: string;
  bodyLimitBytes: number;
  logLevel: string;
  workerThreads: number;
  /** How long one provider call (a launch, a finalize, …) may take before it is given up. */
  providerCallTimeoutSeconds: number;
  im: ImOptions;
}

/** IM's options that this server implements, with the reference's names and defaults. */
export interface ImOptions {
  VERSION: string;
  BOOT_MODE: 0 | 1 | 2;
  MAX_SIMULTANEOUS_LAUNCHES: number;
  MAX_VM_FAILS: number;
  DELAY_BETWEEN_VM_RETRIES: number;
  VM_INFO_UPDATE_FREQUENCY: number;
  VM_INFO_UPDATE_ERROR_GRACE_PERIOD: number;
  WAIT_RUNNING_VM_TIMEOUT: number;
  WAIT_SSH_ACCCESS_TIMEOUT: number;
  WAIT_PUBLIC_IP_TIMEOUT: number;
  MAX_CONTEXTUALIZATION_TIME: number;
  ADMIN_USER: { username: string; password: string }[];
  USER_DB: string;
  FORCE_OIDC_AUTH: boolean;
  OIDC_ISSUERS: string[];
  OIDC_AUDIENCE: string;
  OIDC_SCOPES: string[];
  OIDC_CLIENT_ID: string;
  OIDC_CLIENT_SECRET: string;
  OIDC_GROUPS: string[];
  OIDC_GROUPS_CLAIM: string;
  OIDC_ADMIN_GROUPS: { issuer: string; group: string }[];
  DEFAULT_VM_CPUS: number;
  DEFAULT_VM_MEMORY: number;
  DEFAULT_VM_MEMORY_UNIT: string;
  DEFAULT_VM_CPU_ARCH: string;
  DEFAULT_VM_NAME: string;
  DEFAULT_DOMAIN: string;
  VMINFO_JSON: boolean;
}

export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** How long one provider call may take by default, in the server and in the conformance kits' pools. */
export const DEFAULT_PROVIDER_CALL_TIMEOUT_SECONDS = 600;

const builtin = (path: string): PluginSpec => ({ module: resolve(PACKAGE_ROOT, path) });

export const DEFAULT_IM_OPTIONS: ImOptions = {
  VERSION: "1.19.2",
  BOOT_MODE: 0,
  MAX_SIMULTANEOUS_LAUNCHES: 5,
  MAX_VM_FAILS: 3,
  DELAY_BETWEEN_VM_RETRIES: 5,
  VM_INFO_UPDATE_FREQUENCY: 10,
  VM_INFO_UPDATE_ERROR_GRACE_PERIOD: 120,
  WAIT_RUNNING_VM_TIMEOUT: 1800,
  WAIT_SSH_ACCCESS_TIMEOUT: 300,
  WAIT_PUBLIC_IP_TIMEOUT: 90,
  MAX_CONTEXTUALIZATION_TIME: 7200,
  ADMIN_USER: [],
  USER_DB: "",
  FORCE_OIDC_AUTH: false,
  // IM's default accepts EGI's issuer; a default here must not make the server dial the internet.
  OIDC_ISSUERS: [],
  OIDC_AUDIENCE: "",
  OIDC_SCOPES: [],
  OIDC_CLIENT_ID: "",
  OIDC_CLIENT_SECRET: "",
  OIDC_GROUPS: [],
  OIDC_GROUPS_CLAIM: "groups",
  OIDC_ADMIN_GROUPS: [],
  DEFAULT_VM_CPUS: 1,
  DEFAULT_VM_MEMORY: 512,
  DEFAULT_VM_MEMORY_UNIT: "M",
  DEFAULT_VM_CPU_ARCH: "x86_64",
  DEFAULT_VM_NAME: "vnode-#N#",
  DEFAULT_DOMAIN: "localdomain",
  VMINFO_JSON: false,
};

export function defaultConfig(): ServerConfig {
  return {
    host: "127.0.0.1",
    port: 8899,
    tls: null,
    dataDir: resolve("data"),
    store: "lowdb",
    plugins: [
      builtin("plugins/providers/dummy/index.ts"),
      builtin("plugins/providers/deployed-node/index.ts"),
      builtin("plugins/contextualizers/ansible/index.ts"),
      builtin("plugins/stores/lowdb/index.ts"),
      builtin("plugins/stores/memory/index.ts"),
    ],
    baseDir: process.cwd(),
    bodyLimitBytes: 10 * 1024 * 1024,
    logLevel: "info",
    workerThreads: 2,
    providerCallTimeoutSeconds: DEFAULT_PROVIDER_CALL_TIMEOUT_SECONDS,
    im: structuredClone(DEFAULT_IM_OPTIONS),
  };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(`Configuration: ${message}`);
    this.name = "ConfigError";
  }
}

/** The configuration file's shape (every key optional). */
interface ConfigFile {
  listen?: { host?: string; port?: number };
  tls?: { keyFile: string; certFile: string; caFile?: string } | null;
  dataDir?: string;
  store?: string;
  plugins?: (string | PluginSpec)[];
  limits?: { bodyBytes?: number };
  log?: { level?: string };
  workerThreads?: number;
  timeouts?: { providerCallSeconds?: number };
  im?: Partial<ImOptions>;
}

/** Defaults, overridden by the file (if any), overridden by the environment. */
export async function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<ServerConfig> {
  const config = defaultConfig();
  if (file) {
    let parsed: ConfigFile;
    try {
      parsed = JSON.parse(await readFile(file, "utf8")) as ConfigFile;
    } catch (error) {
      throw new ConfigError(`cannot read ${file}: ${(error as Error).message}`);
    }
    applyFile(config, parsed, dirname(resolve(file)));
  }
  applyEnvironment(config, env);
  validate(config);
  return config;
}

function applyFile(config: ServerConfig, file: ConfigFile, baseDir: string): void {
  const known = new Set(["listen", "tls", "dataDir", "store", "plugins", "limits", "log", "workerThreads", "timeouts", "im"]);
  for (const key of Object.keys(file)) if (!known.has(key)) throw new ConfigError(`unknown key '${key}'`);
  if (file.listen?.host !== undefined) config.host = file.listen.host;
  if (file.listen?.port !== undefined) config.port = file.listen.port;
  if (file.tls !== undefined) config.tls = file.tls && { ...file.tls, keyFile: resolve(baseDir, file.tls.keyFile), certFile: resolve(baseDir, file.tls.certFile), caFile: file.tls.caFile && resolve(baseDir, file.tls.caFile) };
  if (file.dataDir !== undefined) config.dataDir = resolve(baseDir, file.dataDir);
  if (file.store !== undefined) config.store = file.store;
  if (file.plugins !== undefined) {
    config.plugins = file.plugins.map((p) => (typeof p === "string" ? { module: p } : p));
    config.baseDir = baseDir;
  }
  if (file.limits?.bodyBytes !== undefined) config.bodyLimitBytes = file.limits.bodyBytes;
  if (file.log?.level !== undefined) config.logLevel = file.log.level;
  if (file.workerThreads !== undefined) config.workerThreads = file.workerThreads;
  if (file.timeouts?.providerCallSeconds !== undefined) config.providerCallTimeoutSeconds = file.timeouts.providerCallSeconds;
  for (const [name, value] of Object.entries(file.im ?? {})) setImOption(config, name, value, "file");
}

function applyEnvironment(config: ServerConfig, env: NodeJS.ProcessEnv): void {
  const number = (name: string) => {
    const value = Number(env[name]);
    if (!Number.isFinite(value)) throw new ConfigError(`${name} must be a number, not '${env[name]}'`);
    return value;
  };
  if (env.INFRA_MANAGER_HOST) config.host = env.INFRA_MANAGER_HOST;
  if (env.INFRA_MANAGER_PORT) config.port = number("INFRA_MANAGER_PORT");
  if (env.INFRA_MANAGER_DATA_DIR) config.dataDir = resolve(env.INFRA_MANAGER_DATA_DIR);
  if (env.INFRA_MANAGER_STORE) config.store = env.INFRA_MANAGER_STORE;
  if (env.INFRA_MANAGER_PLUGINS) {
    config.plugins = env.INFRA_MANAGER_PLUGINS.trim().startsWith("[")
      ? (JSON.parse(env.INFRA_MANAGER_PLUGINS) as (string | PluginSpec)[]).map((p) => (typeof p === "string" ? { module: p } : p))
      : env.INFRA_MANAGER_PLUGINS.split(",").map((module) => ({ module: module.trim() }));
    config.baseDir = process.cwd();
  }
  if (env.INFRA_MANAGER_TLS_KEY || env.INFRA_MANAGER_TLS_CERT) {
    config.tls = { keyFile: resolve(env.INFRA_MANAGER_TLS_KEY ?? ""), certFile: resolve(env.INFRA_MANAGER_TLS_CERT ?? ""), caFile: env.INFRA_MANAGER_TLS_CA && resolve(env.INFRA_MANAGER_TLS_CA) };
  }
  if (env.INFRA_MANAGER_BODY_LIMIT) config.bodyLimitBytes = number("INFRA_MANAGER_BODY_LIMIT");
  if (env.INFRA_MANAGER_LOG_LEVEL) config.logLevel = env.INFRA_MANAGER_LOG_LEVEL;
  if (env.INFRA_MANAGER_WORKER_THREADS) config.workerThreads = number("INFRA_MANAGER_WORKER_THREADS");
  if (env.INFRA_MANAGER_PROVIDER_CALL_TIMEOUT) config.providerCallTimeoutSeconds = number("INFRA_MANAGER_PROVIDER_CALL_TIMEOUT");
  for (const name of Object.keys(DEFAULT_IM_OPTIONS)) {
    const value = env[`IM_${name}`];
    if (value !== undefined) setImOption(config, name, value, "environment");
  }
}

function isAdminGroupEntry(item: unknown): boolean {
  const { issuer, group } = (item ?? {}) as Record<string, unknown>;
  return typeof issuer === "string" && typeof group === "string";
}

/** IM options that are lists of names. */
const STRING_LISTS = new Set(["OIDC_ISSUERS", "OIDC_SCOPES", "OIDC_GROUPS"]);

/** Sets an IM option, converting strings from the environment to the option's type. */
function setImOption(config: ServerConfig, name: string, value: unknown, source: string): void {
  if (!(name in DEFAULT_IM_OPTIONS)) throw new ConfigError(`unknown IM option '${name}' in the ${source}`);
  const expected = DEFAULT_IM_OPTIONS[name as keyof ImOptions];
  let converted = value;
  if (typeof value === "string" && typeof expected !== "string") {
    try {
      converted = typeof expected === "boolean" ? /^(1|true|yes|on)$/i.test(value) : JSON.parse(value);
    } catch {
      if (!STRING_LISTS.has(name)) throw new ConfigError(`IM option ${name} cannot be read from '${value}'`);
    }
    // IM's own form of a list of names (im.cfg, the environment): comma-separated.
    if (STRING_LISTS.has(name) && !Array.isArray(converted)) converted = value.split(",").map((item) => item.trim()).filter(Boolean);
  }
  // ADMIN_USER may be one JSON object as well as a list of them (IM behaviour §8); IM's default is {}.
  if (name === "ADMIN_USER" && typeof converted === "object" && converted !== null && !Array.isArray(converted)) {
    converted = Object.keys(converted).length === 0 ? [] : [converted];
  }
  const ok = Array.isArray(expected) ? Array.isArray(converted) : typeof converted === typeof expected;
  if (!ok) throw new ConfigError(`IM option ${name} must be a ${Array.isArray(expected) ? "list" : typeof expected}`);
  if (STRING_LISTS.has(name) && !(converted as unknown[]).every((item) => typeof item === "string")) throw new ConfigError(`IM option ${name} must be a list of strings`);
  if (name === "OIDC_ADMIN_GROUPS" && !(converted as unknown[]).every(isAdminGroupEntry)) throw new ConfigError('IM option OIDC_ADMIN_GROUPS must be a list of { "issuer", "group" }');
  (config.im as unknown as Record<string, unknown>)[name] = converted;
}

function validate(config: ServerConfig): void {
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) throw new ConfigError(`invalid port ${config.port}`);
  if (![0, 1, 2].includes(config.im.BOOT_MODE)) throw new ConfigError("BOOT_MODE must be 0, 1 or 2");
  if (config.im.MAX_SIMULTANEOUS_LAUNCHES < 1) throw new ConfigError("MAX_SIMULTANEOUS_LAUNCHES must be at least 1");
  if (config.im.MAX_VM_FAILS < 1) throw new ConfigError("MAX_VM_FAILS must be at least 1");
  if (config.bodyLimitBytes < 1024) throw new ConfigError("the body limit must be at least 1024 bytes");
  if (config.workerThreads < 1) throw new ConfigError("workerThreads must be at least 1");
  // Beyond a day a timer would not be a deadline any more (and past 24.8 days Node fires it at once).
  const timeout = config.providerCallTimeoutSeconds;
  if (typeof timeout !== "number" || !(timeout > 0 && timeout <= 86_400)) throw new ConfigError("timeouts.providerCallSeconds must be a number of seconds above 0 and at most 86400");
}
