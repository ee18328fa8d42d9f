import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ImError, type AuthItem } from "../../../core/index.ts";
import { REDACTED, createLogger, redact } from "../../../runtime/logger.ts";
import { Credentials, newInstallationSecret, type Identity, type OwnerRecord } from "../../../runtime/service/credentials.ts";
import { OidcVerifier } from "../../../runtime/service/oidc.ts";

// Logs never carry credentials; IM credentials are validated as IM behaviour §3.2 says and owners
// are authorised as §3.4 says, without ever storing a password.

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "infra-manager-credentials-"));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

// ============================================================================== logger

function capture(level?: string, fields?: Record<string, unknown>) {
  const lines: string[] = [];
  const logger = createLogger({ level, fields, write: (line) => lines.push(line) });
  const entries = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, entries };
}

const SECRETS = ["hunter2", "tok-123456", "-----BEGIN RSA PRIVATE KEY-----abc", "aws-secret-xyz", "proxy-cert-data", "admin-pass"];

test("logger: one JSON line per entry with time, level, message and fields", () => {
  const { logger, lines, entries } = capture("debug");
  logger.info("started", { port: 8899, host: "127.0.0.1" });
  assert.equal(lines.length, 1);
  assert.ok(lines[0]!.endsWith("\n"));
  assert.equal(lines[0]!.trimEnd().includes("\n"), false, "one line");
  const [entry] = entries();
  assert.equal(entry!.level, "info");
  assert.equal(entry!.message, "started");
  assert.equal(entry!.port, 8899);
  assert.equal(entry!.host, "127.0.0.1");
  assert.ok(!Number.isNaN(Date.parse(entry!.time as string)));
});

test("logger: secret-looking keys are redacted at any depth", () => {
  const { logger, lines, entries } = capture("debug");
  logger.warn("call", {
    password: "hunter2",
    request: {
      method: "CreateInfrastructure",
      auth: [{ type: "InfrastructureManager", username: "u", password: "hunter2" }],
      nested: { deeper: { token: "tok-123456", list: [{ private_key: "-----BEGIN RSA PRIVATE KEY-----abc" }, { name: "fine" }] } },
    },
    cloud: { type: "EC2", username: "AKIA", secretKey: "aws-secret-xyz", proxy: "proxy-cert-data" },
    credentials: [{ username: "x", password: "admin-pass" }],
    items: [[{ accessToken: "tok-123456" }]],
    apiKey: "aws-secret-xyz",
    Authorization: "Bearer tok-123456",
  });
  const line = lines.join("");
  for (const secret of SECRETS) assert.ok(!line.includes(secret), `'${secret}' does not reach the log`);
  const [entry] = entries() as any[];
  assert.equal(entry.password, REDACTED);
  assert.equal(entry.request.method, "CreateInfrastructure", "other values are kept");
  assert.equal(entry.request.auth, REDACTED, "an `auth` array is redacted whole");
  assert.equal(entry.request.nested.deeper.token, REDACTED);
  assert.equal(entry.request.nested.deeper.list[0].private_key, REDACTED);
  assert.equal(entry.request.nested.deeper.list[1].name, "fine");
  assert.equal(entry.cloud.username, "AKIA");
  assert.equal(entry.cloud.secretKey, REDACTED);
  assert.equal(entry.cloud.proxy, REDACTED);
  assert.equal(entry.credentials, REDACTED, "a credentials array is redacted whole");
  assert.equal(entry.items[0][0].accessToken, REDACTED, "objects inside nested arrays are redacted too");
  assert.equal(entry.apiKey, REDACTED);
  assert.equal(entry.Authorization, REDACTED, "keys match case-insensitively");
});

test("logger: redaction applies to the base and child fields as well", () => {
  const { logger, lines, entries } = capture("info", { service: "im", token: "tok-123456" });
  const child = logger.child({ infrastructureId: "abc", auth: { password: "hunter2" } });
  child.info("child entry", { passwd: "hunter2" });
  logger.info("parent entry");
  const text = lines.join("");
  assert.ok(!text.includes("hunter2") && !text.includes("tok-123456"));
  const [childEntry, parentEntry] = entries();
  assert.equal(childEntry!.service, "im");
  assert.equal(childEntry!.infrastructureId, "abc");
  assert.equal(childEntry!.auth, REDACTED);
  assert.equal(childEntry!.token, REDACTED);
  assert.equal(childEntry!.passwd, REDACTED);
  assert.equal(parentEntry!.infrastructureId, undefined, "a child's fields stay in the child");
});

test("redact: returns a copy, leaves the input intact, and turns errors into their messages", () => {
  const input = { user: { name: "u", password: "hunter2" }, list: [1, "two", null], error: new Error("it broke") };
  const output = redact(input) as any;
  assert.equal(input.user.password, "hunter2", "the caller's object is not changed");
  assert.equal(output.user.password, REDACTED);
  assert.deepEqual(output.list, [1, "two", null]);
  assert.equal(output.error, "it broke");
});

test("logger: levels filter entries below the threshold", () => {
  const levels = ["debug", "info", "warn", "error"] as const;
  for (const [index, threshold] of levels.entries()) {
    const { logger, entries } = capture(threshold);
    for (const level of levels) logger[level](`${level} message`);
    assert.deepEqual(entries().map((e) => e.level), levels.slice(index), `threshold ${threshold}`);
  }
  const { logger, entries } = capture(undefined);
  logger.debug("hidden");
  logger.info("shown");
  assert.deepEqual(entries().map((e) => e.message), ["shown"], "info by default");
  const lines: string[] = [];
  const quiet = createLogger({ level: "error", write: (l) => lines.push(l) }).child({ a: 1 });
  quiet.warn("hidden");
  quiet.error("shown");
  assert.equal(lines.length, 1, "a child keeps its parent's level");
});

// ============================================================================== credentials

const IM = "InfrastructureManager";
const im = (fields: Record<string, unknown>): AuthItem => ({ type: IM, ...fields });

/** No issuer is accepted: tokens are refused before any request (test/integration/oidc.test.ts has an issuer). */
const NO_OIDC = new OidcVerifier({ issuers: [], audience: "", scopes: [], clientId: "", clientSecret: "", groups: [], groupsClaim: "groups", adminGroups: [] });

const credentials = (options: Partial<ConstructorParameters<typeof Credentials>[0]> = {}) =>
  new Credentials({ installationSecret: "test-installation-secret", adminUsers: [{ username: "boss", password: "boss-pass" }], oidc: NO_OIDC, ...options });

async function rejectsIm(promise: Promise<unknown>, message: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ImError, `an ImError, got ${String(error)}`);
    assert.equal(error.message, message);
    return true;
  });
}

test("§3.2: no InfrastructureManager item", async () => {
  const creds = credentials();
  await rejectsIm(creds.identities([]), "No credentials provided for the InfrastructureManager.");
  await rejectsIm(creds.identities([{ type: "Dummy" }, { type: "OpenStack", username: "u", password: "p" }]), "No credentials provided for the InfrastructureManager.");
  await rejectsIm(creds.identities([{ type: "infrastructuremanager", username: "u", password: "p" }]), "No credentials provided for the InfrastructureManager.");
});

test("§3.2: an IM item without a username", async () => {
  const creds = credentials();
  await rejectsIm(creds.identities([im({ password: "p" })]), "No username nor token for the InfrastructureManager.");
  await rejectsIm(creds.identities([im({ username: "", password: "p" })]), "No username nor token for the InfrastructureManager.");
  await rejectsIm(creds.identities([im({ username: "ok", password: "p" }), im({ password: "p" })]), "No username nor token for the InfrastructureManager.");
});

test("§3.2: a __OPENID__ username cannot be used with a password", async () => {
  await rejectsIm(credentials().identities([im({ username: "__OPENID__micafer", password: "https://iam/sub" })]), "Invalid username used for the InfrastructureManager.");
});

test("§3.2: valid items give one identity each, non-admin, without a token", async () => {
  const identities = await credentials().identities([im({ username: "alice", password: "pa" }), { type: "Dummy" }, im({ username: "bob", password: "pb" })]);
  assert.deepEqual(identities, [
    { username: "alice", password: "pa", admin: false, hasToken: false },
    { username: "bob", password: "pb", admin: false, hasToken: false },
  ]);
  const [noPassword] = await credentials().identities([im({ username: "carol" })]);
  assert.equal(noPassword!.password, "");
});

test("§3.2: USER_DB allows only the listed username/password pairs", async () => {
  const userDb = join(dir, "users.json");
  await writeFile(userDb, JSON.stringify({ users: [{ username: "alice", password: "pa" }, { username: "bob", password: "pb" }] }));
  const creds = credentials({ userDb });
  assert.equal((await creds.identities([im({ username: "alice", password: "pa" })])).length, 1);
  await rejectsIm(creds.identities([im({ username: "alice", password: "wrong" })]), "Invalid InfrastructureManager credentials");
  await rejectsIm(creds.identities([im({ username: "mallory", password: "pa" })]), "Invalid InfrastructureManager credentials");
  await rejectsIm(creds.identities([im({ username: "alice", password: "pb" })]), "Invalid InfrastructureManager credentials");
  await rejectsIm(creds.identities([im({ username: "alice", password: "pa" }), im({ username: "eve", password: "x" })]), "Invalid InfrastructureManager credentials");
});

test("§3.2: a missing or unreadable USER_DB rejects everyone", async () => {
  const malformed = join(dir, "malformed-users.json");
  await writeFile(malformed, "{ users: [");
  const noUsers = join(dir, "no-users.json");
  await writeFile(noUsers, JSON.stringify({ people: [{ username: "alice", password: "pa" }] }));
  for (const userDb of [join(dir, "missing.json"), dir, malformed, noUsers]) {
    await rejectsIm(credentials({ userDb }).identities([im({ username: "alice", password: "pa" })]), "Invalid InfrastructureManager credentials");
  }
});

test("§3.2: an empty USER_DB disables the allow-list", async () => {
  assert.equal((await credentials({ userDb: "" }).identities([im({ username: "anyone", password: "x" })])).length, 1);
});

test("§3.2: the ADMIN_USER pair makes an admin; the client's admin flag is ignored", async () => {
  const creds = credentials();
  const [admin] = await creds.identities([im({ username: "boss", password: "boss-pass" })]);
  assert.equal(admin!.admin, true);
  const [wrongPassword] = await creds.identities([im({ username: "boss", password: "guess" })]);
  assert.equal(wrongPassword!.admin, false, "the username alone is not enough");
  for (const flag of [true, "true", "True", 1]) {
    const [claimed] = await creds.identities([im({ username: "alice", password: "pa", admin: flag })]);
    assert.equal(claimed!.admin, false, `admin: ${JSON.stringify(flag)} is overwritten`);
  }
  const [bossWithFlag] = await creds.identities([im({ username: "boss", password: "boss-pass", admin: false })]);
  assert.equal(bossWithFlag!.admin, true);
  const none = credentials({ adminUsers: [] });
  assert.equal((await none.identities([im({ username: "boss", password: "boss-pass" })]))[0]!.admin, false);
});

test("§3.2: FORCE_OIDC_AUTH refuses items without a token", async () => {
  await rejectsIm(credentials({ forceOidc: true }).identities([im({ username: "alice", password: "pa" })]), "No token provided for the InfrastructureManager.");
  await rejectsIm(credentials({ forceOidc: true }).identities([im({ username: "alice", password: "pa", token: "" })]), "No token provided for the InfrastructureManager.");
  assert.equal((await credentials({ forceOidc: false }).identities([im({ username: "alice", password: "pa" })])).length, 1);
});

test("§3.4: owner records keep the username but never the password", async () => {
  const creds = credentials();
  const password = "Very-Secret-Pa55word!";
  const [identity] = await creds.identities([im({ username: "alice", password })]);
  const record = await creds.ownerRecord(identity!);
  assert.equal(record.username, "alice");
  assert.equal(record.hasToken, false);
  const json = JSON.stringify(record);
  assert.ok(!json.includes(password), "the password is not in the stored record");
  assert.ok(!json.includes(Buffer.from(password).toString("base64")), "not even base64-encoded");
  assert.ok(!json.includes(Buffer.from(password).toString("hex")), "not even hex-encoded");
  assert.deepEqual(Object.keys(record).sort(), ["hasToken", "hash", "salt", "username"]);
  for (const value of Object.values(record)) if (typeof value === "string" && value !== "alice") assert.notEqual(value, password);
});

const identity = (username: string, password: string, extra: Partial<Identity> = {}): Identity => ({ username, password, admin: false, hasToken: false, ...extra });

test("§3.4: isAuthorized matches username and password, and refuses others", async () => {
  const creds = credentials();
  const owners = [await creds.ownerRecord(identity("alice", "pa"))];
  assert.equal(await creds.isAuthorized([identity("alice", "pa")], owners), true);
  assert.equal(await creds.isAuthorized([identity("alice", "wrong")], owners), false, "a wrong password");
  assert.equal(await creds.isAuthorized([identity("alice", "")], owners), false, "an empty password");
  assert.equal(await creds.isAuthorized([identity("bob", "pa")], owners), false, "another user with the same password");
  assert.equal(await creds.isAuthorized([identity("Alice", "pa")], owners), false, "usernames are case-sensitive");
  assert.equal(await creds.isAuthorized([], owners), false);
  assert.equal(await creds.isAuthorized([identity("alice", "pa")], []), false, "an infrastructure without owners");
});

test("§3.4: any identity matching any owner is enough", async () => {
  const creds = credentials();
  const owners = [await creds.ownerRecord(identity("alice", "pa")), await creds.ownerRecord(identity("bob", "pb"))];
  assert.equal(await creds.isAuthorized([identity("mallory", "x"), identity("bob", "pb")], owners), true);
  assert.equal(await creds.isAuthorized([identity("bob", "pa"), identity("alice", "pb")], owners), false, "pairs do not mix");
});

test("§3.4: an admin passes without being an owner", async () => {
  const creds = credentials();
  const owners = [await creds.ownerRecord(identity("alice", "pa"))];
  const [admin] = await creds.identities([im({ username: "boss", password: "boss-pass" })]);
  assert.equal(await creds.isAuthorized([admin!], owners), true);
  assert.equal(await creds.isAuthorized([admin!], []), true);
  assert.equal(await creds.isAuthorized([identity("nobody", "x"), admin!], owners), true);
});

test("§3.4: a token-created owner is out of reach of password callers", async () => {
  const creds = credentials();
  const owners = [await creds.ownerRecord(identity("__OPENID__alice", "https://iss/sub", { hasToken: true }))];
  assert.equal(owners[0]!.hasToken, true);
  assert.equal(await creds.isAuthorized([identity("__OPENID__alice", "https://iss/sub")], owners), false);
  assert.equal(await creds.isAuthorized([identity("__OPENID__alice", "https://iss/sub", { hasToken: true })], owners), true);
  // A password-created owner accepts a token caller with the same pair.
  const passwordOwners = [await creds.ownerRecord(identity("carol", "pc"))];
  assert.equal(await creds.isAuthorized([identity("carol", "pc", { hasToken: true })], passwordOwners), true);
});

test("records survive JSON (the store) and another Credentials instance with the same secret", async () => {
  const secret = newInstallationSecret();
  const creds = credentials({ installationSecret: secret });
  const stored = JSON.parse(JSON.stringify([await creds.ownerRecord(identity("alice", "pa"))])) as OwnerRecord[];
  const afterRestart = credentials({ installationSecret: secret });
  assert.equal(await afterRestart.isAuthorized([identity("alice", "pa")], stored), true);
  assert.equal(await afterRestart.isAuthorized([identity("alice", "pb")], stored), false);
});

test("the same user's records share a salt; other users and other installations differ", async () => {
  const creds = credentials();
  const first = await creds.ownerRecord(identity("alice", "pa"));
  const second = await creds.ownerRecord(identity("alice", "pa"));
  const otherPassword = await creds.ownerRecord(identity("alice", "pz"));
  const otherUser = await creds.ownerRecord(identity("bob", "pa"));
  assert.equal(first.salt, second.salt);
  assert.equal(first.hash, second.hash);
  assert.equal(first.salt, otherPassword.salt);
  assert.notEqual(first.hash, otherPassword.hash);
  assert.notEqual(first.salt, otherUser.salt);
  assert.notEqual(first.hash, otherUser.hash, "the same password hashes differently for another user");
  const elsewhere = await credentials({ installationSecret: "another-installation" }).ownerRecord(identity("alice", "pa"));
  assert.notEqual(elsewhere.salt, first.salt);
  assert.notEqual(newInstallationSecret(), newInstallationSecret());
});

test("repeated checks of the same user are fast after the first (one hash serves every record)", async () => {
  const creds = credentials();
  const caller = [identity("alice", "pa")];
  // One owner record per infrastructure the user owns.
  const records: OwnerRecord[] = [];
  for (let i = 0; i < 1000; i++) records.push(await creds.ownerRecord(caller[0]!));
  assert.equal(await creds.isAuthorized(caller, [records[0]!]), true);
  const start = performance.now();
  for (const record of records) assert.equal(await creds.isAuthorized(caller, [record]), true);
  const elapsed = performance.now() - start;
  assert.ok(elapsed < 500, `1000 checks took ${elapsed.toFixed(0)} ms`);

  // A wrong password is remembered too, so repeated bad guesses do not cost a hash each either,
  // and are still refused.
  const wrong = [identity("alice", "nope")];
  assert.equal(await creds.isAuthorized(wrong, [records[0]!]), false);
  const startWrong = performance.now();
  for (let i = 0; i < 200; i++) assert.equal(await creds.isAuthorized(wrong, [records[i]!]), false);
  assert.ok(performance.now() - startWrong < 500);
});

test("the hash is deliberately slow: a first check costs real work", async () => {
  const creds = credentials();
  const record = await creds.ownerRecord(identity("dave", "pd"));
  const fresh = credentials();
  const start = performance.now();
  for (let i = 0; i < 5; i++) assert.equal(await fresh.isAuthorized([identity("dave", `guess-${i}`)], [record]), false);
  const perHash = (performance.now() - start) / 5;
  assert.ok(perHash > 1, `an uncached check costs a real key derivation (${perHash.toFixed(2)} ms)`);
});
