import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import { ConfigError, DEFAULT_IM_OPTIONS, PACKAGE_ROOT, defaultConfig, loadConfig } from "../../../runtime/config.ts";
import { resolvePluginModule } from "../../../runtime/plugins.ts";

// The server configuration (runtime/config.ts): defaults, then a JSON file, then the environment,
// with IM's options (IM behaviour §8) under "im" / IM_<OPTION>.

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "infra-manager-config-"));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

let fileCounter = 0;
/** Writes a config file into its own folder and returns its path. */
async function configFile(content: unknown): Promise<string> {
  const folder = join(dir, `case-${++fileCounter}`, "etc");
  await mkdir(folder, { recursive: true });
  const file = join(folder, "config.json");
  await writeFile(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

/** Asserts a ConfigError whose message includes every fragment. */
async function rejectsWith(promise: Promise<unknown>, ...fragments: string[]): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `a ConfigError, got ${String(error)}`);
    assert.equal(error.name, "ConfigError");
    assert.match(error.message, /^Configuration: /);
    for (const fragment of fragments) assert.ok(error.message.includes(fragment), `'${error.message}' mentions '${fragment}'`);
    return true;
  });
}

// ------------------------------------------------------------------------------ defaults

const BUILTIN_PLUGINS = [
  "plugins/providers/dummy/index.ts",
  "plugins/providers/deployed-node/index.ts",
  "plugins/contextualizers/ansible/index.ts",
  "plugins/stores/lowdb/index.ts",
  "plugins/stores/memory/index.ts",
];

test("defaults: 127.0.0.1:8899, ./data, the lowdb store and every built-in plugin", async () => {
  const config = await loadConfig(undefined, {});
  assert.equal(config.host, "127.0.0.1");
  assert.equal(config.port, 8899);
  assert.equal(config.tls, null);
  assert.equal(config.dataDir, resolve(process.cwd(), "data"));
  assert.equal(config.store, "lowdb");
  assert.deepEqual(config.plugins, BUILTIN_PLUGINS.map((path) => ({ module: resolve(PACKAGE_ROOT, path) })));
  assert.equal(config.baseDir, process.cwd());
  assert.equal(config.bodyLimitBytes, 10 * 1024 * 1024);
  assert.equal(config.logLevel, "info");
  assert.ok(config.workerThreads >= 1);
  assert.equal(config.providerCallTimeoutSeconds, 600);
  assert.deepEqual(config.im, DEFAULT_IM_OPTIONS);
  assert.deepEqual(config, defaultConfig());
});

test("defaults: IM's options keep the reference's names and defaults (§8)", async () => {
  const { im } = await loadConfig(undefined, {});
  assert.equal(im.BOOT_MODE, 0);
  assert.equal(im.MAX_VM_FAILS, 3);
  assert.equal(im.DELAY_BETWEEN_VM_RETRIES, 5);
  assert.equal(im.VM_INFO_UPDATE_FREQUENCY, 10);
  assert.equal(im.VM_INFO_UPDATE_ERROR_GRACE_PERIOD, 120);
  assert.equal(im.WAIT_RUNNING_VM_TIMEOUT, 1800);
  assert.equal(im.WAIT_SSH_ACCCESS_TIMEOUT, 300);
  assert.equal(im.WAIT_PUBLIC_IP_TIMEOUT, 90);
  assert.equal(im.MAX_CONTEXTUALIZATION_TIME, 7200);
  assert.deepEqual(im.ADMIN_USER, []);
  assert.equal(im.USER_DB, "");
  assert.equal(im.FORCE_OIDC_AUTH, false);
  assert.equal(im.DEFAULT_VM_CPUS, 1);
  assert.equal(im.DEFAULT_VM_MEMORY, 512);
  assert.equal(im.DEFAULT_VM_MEMORY_UNIT, "M");
  assert.equal(im.DEFAULT_VM_CPU_ARCH, "x86_64");
  assert.equal(im.DEFAULT_VM_NAME, "vnode-#N#");
  assert.equal(im.DEFAULT_DOMAIN, "localdomain");
  assert.equal(im.VMINFO_JSON, false);
});

test("defaults are fresh objects: changing one config does not change the next", async () => {
  const first = await loadConfig(undefined, {});
  first.im.ADMIN_USER.push({ username: "x", password: "y" });
  first.plugins.push({ module: "extra" });
  const second = await loadConfig(undefined, {});
  assert.equal(second.plugins.length, BUILTIN_PLUGINS.length);
  assert.deepEqual(DEFAULT_IM_OPTIONS.ADMIN_USER, [], "the defaults themselves are untouched");
  assert.deepEqual(second.im.ADMIN_USER, []);
});

// ------------------------------------------------------------------------------ the file

test("the file overrides the defaults, resolving relative paths against the file's folder", async () => {
  const file = await configFile({
    listen: { host: "0.0.0.0", port: 9001 },
    tls: { keyFile: "pki/key.pem", certFile: "pki/cert.pem", caFile: "/abs/ca.pem" },
    dataDir: "../var/data",
    store: "memory",
    plugins: ["./my-provider.ts", { module: "some-package", options: { a: 1 } }],
    limits: { bodyBytes: 4096 },
    log: { level: "debug" },
    workerThreads: 4,
    timeouts: { providerCallSeconds: 90 },
    im: { MAX_VM_FAILS: 7, FORCE_OIDC_AUTH: true, DEFAULT_VM_NAME: "node-#N#", ADMIN_USER: [{ username: "root", password: "pw" }] },
  });
  const folder = resolve(file, "..");
  const config = await loadConfig(file, {});
  assert.equal(config.host, "0.0.0.0");
  assert.equal(config.port, 9001);
  assert.deepEqual(config.tls, { keyFile: join(folder, "pki/key.pem"), certFile: join(folder, "pki/cert.pem"), caFile: "/abs/ca.pem" });
  assert.equal(config.dataDir, resolve(folder, "../var/data"));
  assert.equal(config.store, "memory");
  assert.deepEqual(config.plugins, [{ module: "./my-provider.ts" }, { module: "some-package", options: { a: 1 } }]);
  assert.equal(config.baseDir, folder, "relative plugin paths are resolved against the file's folder");
  assert.equal(resolvePluginModule(config.plugins[0]!.module, config.baseDir), pathToFileURL(join(folder, "my-provider.ts")).href);
  assert.equal(resolvePluginModule(config.plugins[1]!.module, config.baseDir), "some-package", "package names stay as they are");
  assert.equal(config.bodyLimitBytes, 4096);
  assert.equal(config.logLevel, "debug");
  assert.equal(config.workerThreads, 4);
  assert.equal(config.providerCallTimeoutSeconds, 90);
  assert.equal(config.im.MAX_VM_FAILS, 7);
  assert.equal(config.im.FORCE_OIDC_AUTH, true);
  assert.equal(config.im.DEFAULT_VM_NAME, "node-#N#");
  assert.deepEqual(config.im.ADMIN_USER, [{ username: "root", password: "pw" }]);
  assert.equal(config.im.WAIT_PUBLIC_IP_TIMEOUT, 90, "options the file does not name keep their defaults");
});

test("a file with a relative path is resolved from the current folder, and its contents from its own folder", async () => {
  const file = await configFile({ dataDir: "data" });
  const relativePath = relative(process.cwd(), file);
  assert.ok(!isAbsolute(relativePath));
  const config = await loadConfig(relativePath, {});
  assert.equal(config.dataDir, join(resolve(file, ".."), "data"));
});

test("a file without plugins keeps the built-in plugins and the current folder as their base", async () => {
  const config = await loadConfig(await configFile({ listen: { port: 1234 } }), {});
  assert.equal(config.port, 1234);
  assert.equal(config.host, "127.0.0.1");
  assert.equal(config.plugins.length, BUILTIN_PLUGINS.length);
  assert.equal(config.baseDir, process.cwd());
});

test("tls: null in the file keeps TLS off", async () => {
  assert.equal((await loadConfig(await configFile({ tls: null }), {})).tls, null);
});

test("an unreadable or malformed file is a ConfigError naming the file", async () => {
  const missing = join(dir, "does-not-exist.json");
  await rejectsWith(loadConfig(missing, {}), "cannot read", missing);
  const broken = await configFile("{ not json");
  await rejectsWith(loadConfig(broken, {}), "cannot read", broken);
});

// ------------------------------------------------------------------------------ the environment

test("INFRA_MANAGER_HOST/PORT/DATA_DIR/STORE/BODY_LIMIT/LOG_LEVEL/PROVIDER_CALL_TIMEOUT override the defaults", async () => {
  const config = await loadConfig(undefined, {
    INFRA_MANAGER_HOST: "::1",
    INFRA_MANAGER_PORT: "8000",
    INFRA_MANAGER_DATA_DIR: "some/dir",
    INFRA_MANAGER_STORE: "memory",
    INFRA_MANAGER_BODY_LIMIT: "2048",
    INFRA_MANAGER_LOG_LEVEL: "warn",
    INFRA_MANAGER_PROVIDER_CALL_TIMEOUT: "2.5",
  });
  assert.equal(config.host, "::1");
  assert.equal(config.port, 8000);
  assert.equal(config.dataDir, resolve(process.cwd(), "some/dir"), "relative to the current folder");
  assert.equal(config.store, "memory");
  assert.equal(config.bodyLimitBytes, 2048);
  assert.equal(config.logLevel, "warn");
  assert.equal(config.providerCallTimeoutSeconds, 2.5);
});

test("the environment overrides the file", async () => {
  const file = await configFile({ listen: { host: "10.1.1.1", port: 9001 }, store: "memory", log: { level: "debug" }, im: { MAX_VM_FAILS: 7 } });
  const config = await loadConfig(file, { INFRA_MANAGER_PORT: "9002", INFRA_MANAGER_STORE: "lowdb", IM_MAX_VM_FAILS: "2" });
  assert.equal(config.host, "10.1.1.1", "what the environment does not set comes from the file");
  assert.equal(config.port, 9002);
  assert.equal(config.store, "lowdb");
  assert.equal(config.logLevel, "debug");
  assert.equal(config.im.MAX_VM_FAILS, 2);
});

test("empty environment variables are ignored", async () => {
  const config = await loadConfig(undefined, { INFRA_MANAGER_HOST: "", INFRA_MANAGER_PORT: "", INFRA_MANAGER_PLUGINS: "" });
  assert.equal(config.host, "127.0.0.1");
  assert.equal(config.port, 8899);
  assert.equal(config.plugins.length, BUILTIN_PLUGINS.length);
});

test("INFRA_MANAGER_PLUGINS as a comma list: trimmed module names, relative to the current folder", async () => {
  const file = await configFile({ plugins: ["./from-file.ts"] });
  const config = await loadConfig(file, { INFRA_MANAGER_PLUGINS: " ./a.ts , /abs/b.ts,pkg-c" });
  assert.deepEqual(config.plugins, [{ module: "./a.ts" }, { module: "/abs/b.ts" }, { module: "pkg-c" }]);
  assert.equal(config.baseDir, process.cwd());
  assert.equal(resolvePluginModule("./a.ts", config.baseDir), pathToFileURL(resolve(process.cwd(), "a.ts")).href);
});

test("INFRA_MANAGER_PLUGINS as JSON: names and specs with options", async () => {
  const config = await loadConfig(undefined, {
    INFRA_MANAGER_PLUGINS: ` [ "./a.ts", { "module": "pkg-b", "options": { "latency": 5 } } ]`,
  });
  assert.deepEqual(config.plugins, [{ module: "./a.ts" }, { module: "pkg-b", options: { latency: 5 } }]);
  assert.equal(config.baseDir, process.cwd());
});

test("INFRA_MANAGER_TLS_KEY/CERT (and CA) switch TLS on with resolved paths", async () => {
  const config = await loadConfig(undefined, { INFRA_MANAGER_TLS_KEY: "k.pem", INFRA_MANAGER_TLS_CERT: "/etc/c.pem", INFRA_MANAGER_TLS_CA: "ca.pem" });
  assert.deepEqual(config.tls, { keyFile: resolve("k.pem"), certFile: "/etc/c.pem", caFile: resolve("ca.pem") });
  const withoutCa = await loadConfig(undefined, { INFRA_MANAGER_TLS_KEY: "/k.pem", INFRA_MANAGER_TLS_CERT: "/c.pem" });
  assert.equal(withoutCa.tls?.keyFile, "/k.pem");
  assert.equal(withoutCa.tls?.certFile, "/c.pem");
  assert.equal(withoutCa.tls?.caFile, undefined);
});

test("IM_<OPTION> sets IM options, converted to each option's type", async () => {
  const { im } = await loadConfig(undefined, {
    IM_MAX_VM_FAILS: "9",
    IM_BOOT_MODE: "2",
    IM_DELAY_BETWEEN_VM_RETRIES: "0",
    IM_FORCE_OIDC_AUTH: "true",
    IM_VMINFO_JSON: "yes",
    IM_USER_DB: "/etc/im/users.json",
    IM_DEFAULT_VM_NAME: "123",
    IM_ADMIN_USER: `[{"username":"admin","password":"secret"}]`,
  });
  assert.equal(im.MAX_VM_FAILS, 9);
  assert.equal(im.BOOT_MODE, 2);
  assert.equal(im.DELAY_BETWEEN_VM_RETRIES, 0);
  assert.equal(im.FORCE_OIDC_AUTH, true);
  assert.equal(im.VMINFO_JSON, true);
  assert.equal(im.USER_DB, "/etc/im/users.json");
  assert.equal(im.DEFAULT_VM_NAME, "123", "string options stay strings, even when they look like numbers");
  assert.deepEqual(im.ADMIN_USER, [{ username: "admin", password: "secret" }]);
});

test("IM_<OPTION> booleans: 1/true/yes/on are true, anything else false", async () => {
  for (const value of ["1", "true", "TRUE", "yes", "On"]) assert.equal((await loadConfig(undefined, { IM_FORCE_OIDC_AUTH: value })).im.FORCE_OIDC_AUTH, true, value);
  for (const value of ["0", "false", "no", "off"]) assert.equal((await loadConfig(undefined, { IM_FORCE_OIDC_AUTH: value })).im.FORCE_OIDC_AUTH, false, value);
});

test("ADMIN_USER may be a single JSON object as well as a list (§8)", async () => {
  const single = await loadConfig(undefined, { IM_ADMIN_USER: `{"username":"admin","password":"secret"}` });
  assert.deepEqual(single.im.ADMIN_USER, [{ username: "admin", password: "secret" }]);
  const empty = await loadConfig(undefined, { IM_ADMIN_USER: "{}" });
  assert.deepEqual(empty.im.ADMIN_USER, [], "IM's default {} means no admin");
  const fromFile = await loadConfig(await configFile({ im: { ADMIN_USER: { username: "a", password: "b" } } }), {});
  assert.deepEqual(fromFile.im.ADMIN_USER, [{ username: "a", password: "b" }]);
});

test("environment variables that are not IM options are not read as such", async () => {
  const config = await loadConfig(undefined, { IM_DATA_DB: "sqlite:///x", IM_SOMETHING_ELSE: "1", PATH: "/bin" });
  assert.deepEqual(config.im, DEFAULT_IM_OPTIONS);
});

// ------------------------------------------------------------------------------ errors

test("an unknown key in the file is a ConfigError naming it", async () => {
  await rejectsWith(loadConfig(await configFile({ listen: { port: 1 }, lsiten: {} }), {}), "unknown key 'lsiten'");
});

test("an unknown IM option in the file is a ConfigError naming it and its source", async () => {
  await rejectsWith(loadConfig(await configFile({ im: { MAX_VM_FAILZ: 3 } }), {}), "unknown IM option 'MAX_VM_FAILZ'", "file");
});

test("IM options of the wrong type are ConfigErrors naming the option and the type", async () => {
  await rejectsWith(loadConfig(await configFile({ im: { MAX_VM_FAILS: true } }), {}), "MAX_VM_FAILS", "number");
  await rejectsWith(loadConfig(await configFile({ im: { FORCE_OIDC_AUTH: 1 } }), {}), "FORCE_OIDC_AUTH", "boolean");
  await rejectsWith(loadConfig(await configFile({ im: { DEFAULT_VM_NAME: 5 } }), {}), "DEFAULT_VM_NAME", "string");
  await rejectsWith(loadConfig(await configFile({ im: { ADMIN_USER: 42 } }), {}), "ADMIN_USER", "list");
  await rejectsWith(loadConfig(await configFile({ im: { ADMIN_USER: "admin" } }), {}), "ADMIN_USER", "cannot be read from 'admin'");
  await rejectsWith(loadConfig(undefined, { IM_ADMIN_USER: "42" }), "ADMIN_USER", "list");
  await rejectsWith(loadConfig(undefined, { IM_MAX_VM_FAILS: "[1]" }), "MAX_VM_FAILS", "number");
});

test("IM_<OPTION> values that cannot be converted are ConfigErrors quoting the value", async () => {
  await rejectsWith(loadConfig(undefined, { IM_MAX_VM_FAILS: "three" }), "MAX_VM_FAILS", "'three'");
  await rejectsWith(loadConfig(undefined, { IM_ADMIN_USER: "[{" }), "ADMIN_USER", "'[{'");
});

test("non-numeric INFRA_MANAGER_PORT/BODY_LIMIT are ConfigErrors naming the variable and value", async () => {
  await rejectsWith(loadConfig(undefined, { INFRA_MANAGER_PORT: "http" }), "INFRA_MANAGER_PORT", "'http'");
  await rejectsWith(loadConfig(undefined, { INFRA_MANAGER_BODY_LIMIT: "10MB" }), "INFRA_MANAGER_BODY_LIMIT", "'10MB'");
});

test("a bad port is a ConfigError naming it", async () => {
  await rejectsWith(loadConfig(undefined, { INFRA_MANAGER_PORT: "70000" }), "invalid port 70000");
  await rejectsWith(loadConfig(undefined, { INFRA_MANAGER_PORT: "-1" }), "invalid port -1");
  await rejectsWith(loadConfig(undefined, { INFRA_MANAGER_PORT: "80.5" }), "invalid port 80.5");
  await rejectsWith(loadConfig(await configFile({ listen: { port: 65536 } }), {}), "invalid port 65536");
  await rejectsWith(loadConfig(await configFile({ listen: { port: "8080" } }), {}), "invalid port");
  assert.equal((await loadConfig(undefined, { INFRA_MANAGER_PORT: "0" })).port, 0, "0 (any free port) is allowed");
  assert.equal((await loadConfig(undefined, { INFRA_MANAGER_PORT: "65535" })).port, 65535);
});

test("BOOT_MODE outside 0..2 is a ConfigError", async () => {
  for (const value of ["3", "-1", "1.5"]) await rejectsWith(loadConfig(undefined, { IM_BOOT_MODE: value }), "BOOT_MODE must be 0, 1 or 2");
  await rejectsWith(loadConfig(await configFile({ im: { BOOT_MODE: 7 } }), {}), "BOOT_MODE must be 0, 1 or 2");
  for (const mode of [0, 1, 2]) assert.equal((await loadConfig(undefined, { IM_BOOT_MODE: String(mode) })).im.BOOT_MODE, mode);
});

test("other range checks: launches, VM fails, body limit, worker threads and the provider call timeout", async () => {
  await rejectsWith(loadConfig(undefined, { IM_MAX_SIMULTANEOUS_LAUNCHES: "0" }), "MAX_SIMULTANEOUS_LAUNCHES");
  await rejectsWith(loadConfig(undefined, { IM_MAX_VM_FAILS: "0" }), "MAX_VM_FAILS");
  await rejectsWith(loadConfig(undefined, { INFRA_MANAGER_BODY_LIMIT: "100" }), "body limit");
  await rejectsWith(loadConfig(await configFile({ workerThreads: 0 }), {}), "workerThreads");
  const timeout = "timeouts.providerCallSeconds must be a number of seconds above 0 and at most 86400";
  for (const value of [0, -1, 86_401, "60", null]) await rejectsWith(loadConfig(await configFile({ timeouts: { providerCallSeconds: value } }), {}), timeout);
  await rejectsWith(loadConfig(undefined, { INFRA_MANAGER_PROVIDER_CALL_TIMEOUT: "0" }), timeout);
  await rejectsWith(loadConfig(undefined, { INFRA_MANAGER_PROVIDER_CALL_TIMEOUT: "ten" }), "INFRA_MANAGER_PROVIDER_CALL_TIMEOUT", "'ten'");
});

test("OIDC options: lists of names as JSON lists or comma-separated strings, as IM writes them", async () => {
  const fromEnv = await loadConfig(undefined, {
    IM_OIDC_ISSUERS: "https://iam.example/, https://aai.example/",
    IM_OIDC_SCOPES: '["openid","im"]',
    IM_OIDC_GROUPS: "users",
    IM_OIDC_ADMIN_GROUPS: '[{"issuer":"https://iam.example/","group":"admins"}]',
    IM_OIDC_CLIENT_SECRET: "s3cret",
  });
  assert.deepEqual(fromEnv.im.OIDC_ISSUERS, ["https://iam.example/", "https://aai.example/"]);
  assert.deepEqual(fromEnv.im.OIDC_SCOPES, ["openid", "im"]);
  assert.deepEqual(fromEnv.im.OIDC_GROUPS, ["users"]);
  assert.deepEqual(fromEnv.im.OIDC_ADMIN_GROUPS, [{ issuer: "https://iam.example/", group: "admins" }]);
  assert.equal(fromEnv.im.OIDC_CLIENT_SECRET, "s3cret");
  assert.deepEqual((await loadConfig(undefined, { IM_OIDC_GROUPS: "1234" })).im.OIDC_GROUPS, ["1234"], "a name that JSON reads as a number is still a name");
  const defaults = await loadConfig(undefined, {});
  assert.deepEqual(defaults.im.OIDC_ISSUERS, [], "no issuer by default: the server never dials one unasked");
  assert.equal(defaults.im.OIDC_GROUPS_CLAIM, "groups");
  await rejectsWith(loadConfig(await configFile({ im: { OIDC_ISSUERS: [1] } }), {}), "OIDC_ISSUERS must be a list of strings");
  assert.deepEqual((await loadConfig(await configFile({ im: { OIDC_ISSUERS: "https://iam.example/" } }), {})).im.OIDC_ISSUERS, ["https://iam.example/"], "im.cfg's form, in a file too");
  await rejectsWith(loadConfig(await configFile({ im: { OIDC_ISSUERS: { url: "https://iam.example/" } } }), {}), "OIDC_ISSUERS must be a list");
  await rejectsWith(loadConfig(await configFile({ im: { OIDC_ADMIN_GROUPS: [{ issuer: "x" }] } }), {}), "OIDC_ADMIN_GROUPS must be a list of");
  await rejectsWith(loadConfig(undefined, { IM_OIDC_ADMIN_GROUPS: "https://iam.example/,admins" }), "OIDC_ADMIN_GROUPS cannot be read");
});

test("loadConfig reads process.env when no environment is given", async () => {
  const saved = process.env.INFRA_MANAGER_LOG_LEVEL;
  process.env.INFRA_MANAGER_LOG_LEVEL = "error";
  try {
    assert.equal((await loadConfig(undefined)).logLevel, "error");
  } finally {
    if (saved === undefined) delete process.env.INFRA_MANAGER_LOG_LEVEL;
    else process.env.INFRA_MANAGER_LOG_LEVEL = saved;
  }
});
