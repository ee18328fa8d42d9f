// The authorization matrix (IM behaviour §2.0, §3.2, §3.4, §2 BOOT_MODE column): every method
// that takes auth, called with valid other parameters as the owner, as another user, with the
// owner's name but a wrong password, without an InfrastructureManager item and with a badly
// formed auth item id; plus unknown ids, ADMIN_USER, and BOOT_MODE 1 and 2. No answer to a
// caller who is not an owner may carry the owner's data.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { cp, mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import zlib from "node:zlib";
import Deserializer from "xmlrpc/lib/deserializer.js";
import serializer from "xmlrpc/lib/serializer.js";
import { GOLDEN_RADL } from "../fixtures/golden.ts";
import { startTestServer, type TestServer } from "../fixtures/server.ts";

// ---------------------------------------------------------------- a small XML-RPC client

type Auth = Record<string, unknown>[];
type Pair = [boolean, unknown];

/** Calls a method; the `[ok, value]` pair, or a thrown Error for a fault or a transport failure. */
async function call(url: string, method: string, params: unknown[]): Promise<Pair> {
  const { port, pathname } = new URL(url);
  const body = serializer.serializeMethodCall(method, params);
  const reply = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: pathname, method: "POST", agent: false, headers: { "Content-Type": "text/xml" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
  if (reply.status !== 200) throw new Error(`${method}: HTTP ${reply.status} ${reply.body.toString()}`);
  const xml = reply.headers["content-encoding"] === "gzip" ? zlib.gunzipSync(reply.body) : reply.body;
  const value = await new Promise<unknown>((resolve, reject) => {
    new Deserializer().deserializeMethodResponse(Readable.from([xml]), (error, result) => {
      if (error) reject(new Error(`${method}: fault ${error.faultCode ?? ""} ${error.faultString ?? error.message}`));
      else resolve(result);
    });
  });
  assert.ok(Array.isArray(value) && value.length === 2 && typeof value[0] === "boolean", `${method} answered ${JSON.stringify(value)}`);
  return value as Pair;
}

// ---------------------------------------------------------------- identities and documents

const OWNER_NAME = "owner-user";
const OWNER_PASSWORD = "owner-secret-password";
const MARKER = "owner-only-marker";
const DUMMY = { id: "dummy", type: "Dummy" };
const OWNER_IM = { type: "InfrastructureManager", username: OWNER_NAME, password: OWNER_PASSWORD };
const OWNER: Auth = [OWNER_IM, DUMMY];
const ADMIN: Auth = [{ type: "InfrastructureManager", username: "admin", password: "admin-password" }, DUMMY];
const ADMIN_WRONG_PASSWORD: Auth = [{ type: "InfrastructureManager", username: "admin", password: "not-the-admin-password" }, DUMMY];
const NO_IM: Auth = [DUMMY];
const BAD_ID: Auth = [OWNER_IM, { id: "1bad id", type: "Dummy" }];
/** Each row gets its own intruders, so a list any of them asks for is exactly what it created. */
const otherUser = (row: string): Auth => [{ type: "InfrastructureManager", username: `other-${row}`, password: `pw-${row}` }, DUMMY];
const wrongPassword = (row: string): Auth => [{ type: "InfrastructureManager", username: OWNER_NAME, password: `wrong-${row}` }, DUMMY];

/** The owner's RADL carries a marker that must never reach anybody else. */
const OWNER_RADL = GOLDEN_RADL.RADL.replace("disk.0.os.name = 'linux'", `disk.0.os.name = 'linux' and instance_tags = '${MARKER}'`);
const RADL_ADD = "network publica\nsystem front\ndeploy front 1";

/** Worker threads are not what these tests are about: one keeps each server cheap to start. */
const LEAN = { workerThreads: 1 };

const ACCESS_DENIED = "Access to this infrastructure not granted.";
const NOT_FOUND = "Invalid infrastructure ID or access not granted.";
const NO_CREDENTIALS = "No credentials provided for the InfrastructureManager.";
const BAD_AUTH_ID = "Incorrect value in auth item id: 1bad id";
const DISABLED = "Function currently disabled.";
const AUTH_ERRORS = [ACCESS_DENIED, NOT_FOUND, NO_CREDENTIALS, DISABLED, "Incorrect value in auth item id", "Invalid InfrastructureManager credentials",
  "No username nor token", "Invalid username used", "string indices must be integers"];

// ---------------------------------------------------------------- the methods

interface Target {
  infId: string;
  /** An ExportInfrastructure document of an infrastructure of the owner's, for ImportInfrastructure. */
  document: string;
}

/**
 * How a method relates to infrastructures: `inf` acts on one; `list` answers about the
 * caller's infrastructures; `global` touches none that exist.
 */
type Kind = "inf" | "list" | "global";

interface Row {
  method: string;
  kind: Kind;
  /** BOOT_MODE values that block it (§2's table). */
  blockedIn: readonly (1 | 2)[];
  params(target: Target, auth: Auth): unknown[];
}

/** A fresh id in an exported document, so that each import makes a new infrastructure. */
function withFreshId(document: string): string {
  return JSON.stringify({ ...(JSON.parse(document) as object), id: randomUUID() });
}

const ROWS: Row[] = [
  { method: "GetInfrastructureList", kind: "list", blockedIn: [], params: (_, auth) => [auth] },
  { method: "CreateInfrastructure", kind: "global", blockedIn: [1, 2], params: (_, auth) => [OWNER_RADL, auth] },
  { method: "GetInfrastructureInfo", kind: "inf", blockedIn: [], params: (t, auth) => [t.infId, auth] },
  { method: "GetInfrastructureContMsg", kind: "inf", blockedIn: [], params: (t, auth) => [t.infId, auth] },
  { method: "GetInfrastructureState", kind: "inf", blockedIn: [], params: (t, auth) => [t.infId, auth] },
  { method: "GetInfrastructureRADL", kind: "inf", blockedIn: [], params: (t, auth) => [t.infId, auth] },
  { method: "GetVMInfo", kind: "inf", blockedIn: [], params: (t, auth) => [t.infId, "0", auth] },
  { method: "GetVMProperty", kind: "inf", blockedIn: [], params: (t, auth) => [t.infId, "0", "instance_tags", auth] },
  { method: "GetVMContMsg", kind: "inf", blockedIn: [], params: (t, auth) => [t.infId, "0", auth] },
  { method: "AlterVM", kind: "inf", blockedIn: [1, 2], params: (t, auth) => [t.infId, "0", GOLDEN_RADL.RADL_ALTER, auth] },
  { method: "DestroyInfrastructure", kind: "inf", blockedIn: [1], params: (t, auth) => [t.infId, auth] },
  { method: "AddResource", kind: "inf", blockedIn: [1, 2], params: (t, auth) => [t.infId, RADL_ADD, auth] },
  { method: "RemoveResource", kind: "inf", blockedIn: [1, 2], params: (t, auth) => [t.infId, "0", auth] },
  { method: "StopInfrastructure", kind: "inf", blockedIn: [1, 2], params: (t, auth) => [t.infId, auth] },
  { method: "StartInfrastructure", kind: "inf", blockedIn: [1, 2], params: (t, auth) => [t.infId, auth] },
  { method: "StopVM", kind: "inf", blockedIn: [1, 2], params: (t, auth) => [t.infId, "0", auth] },
  { method: "StartVM", kind: "inf", blockedIn: [1, 2], params: (t, auth) => [t.infId, "0", auth] },
  { method: "RebootVM", kind: "inf", blockedIn: [1, 2], params: (t, auth) => [t.infId, "0", auth] },
  { method: "Reconfigure", kind: "inf", blockedIn: [1, 2], params: (t, auth) => [t.infId, "", auth] },
  { method: "ExportInfrastructure", kind: "inf", blockedIn: [], params: (t, auth) => [t.infId, false, auth] },
  { method: "ImportInfrastructure", kind: "global", blockedIn: [1, 2], params: (t, auth) => [withFreshId(t.document), auth] },
  { method: "CreateDiskSnapshot", kind: "inf", blockedIn: [1, 2], params: (t, auth) => [t.infId, "0", 0, "snap", false, auth] },
  { method: "GetCloudImageList", kind: "global", blockedIn: [], params: (_, auth) => ["dummy", auth] },
  { method: "GetCloudQuotas", kind: "global", blockedIn: [], params: (_, auth) => ["dummy", auth] },
  { method: "ChangeInfrastructureAuth", kind: "inf", blockedIn: [], params: (t, auth) => [t.infId, [OWNER_IM], false, auth] },
  { method: "GetInfrastructureOwners", kind: "inf", blockedIn: [], params: (t, auth) => [t.infId, auth] },
  { method: "EstimateResources", kind: "global", blockedIn: [], params: (_, auth) => [OWNER_RADL, auth] },
  { method: "GetStats", kind: "list", blockedIn: [], params: (_, auth) => ["", "", auth] },
];

test("the matrix covers the 28 methods that take auth (§2: all 29 but GetVersion)", () => {
  const names = ROWS.map((row) => row.method);
  assert.equal(new Set(names).size, 28);
  assert.ok(!names.includes("GetVersion"));
});

// ---------------------------------------------------------------- normal mode

describe("BOOT_MODE 0: owner, other user, wrong password, no IM item, bad auth id, unknown id, admin", () => {
  let server: TestServer;
  /** Every infrastructure the owner ever created or imported (GetStats includes deleted ones). */
  const ownerIds = new Set<string>();

  before(async () => {
    server = await startTestServer({ im: { ADMIN_USER: [{ username: "admin", password: "admin-password" }] }, config: LEAN });
  });
  after(async () => {
    await server?.close();
  });

  const rpc = (method: string, params: unknown[]) => call(server.url, method, params);

  async function ownerInfrastructure(): Promise<string> {
    const [ok, id] = await rpc("CreateInfrastructure", [OWNER_RADL, OWNER]);
    assert.equal(ok, true, String(id));
    ownerIds.add(id as string);
    return id as string;
  }

  async function target(): Promise<Target> {
    const infId = await ownerInfrastructure();
    // A second infrastructure, exported (and deleted) for ImportInfrastructure's document.
    const exported = await ownerInfrastructure();
    const [ok, document] = await rpc("ExportInfrastructure", [exported, true, OWNER]);
    assert.equal(ok, true, String(document));
    return { infId, document: document as string };
  }

  /** The owner's infrastructure is untouched: same VM, same owners, same RADL. */
  async function assertIntact(infId: string): Promise<void> {
    assert.deepEqual(await rpc("GetInfrastructureInfo", [infId, OWNER]), [true, ["0"]]);
    assert.deepEqual(await rpc("GetInfrastructureOwners", [infId, OWNER]), [true, [OWNER_NAME]]);
    const [ok, radl] = await rpc("GetInfrastructureRADL", [infId, OWNER]);
    assert.equal(ok, true);
    assert.match(radl as string, new RegExp(MARKER));
    const [, vmInfo] = await rpc("GetVMInfo", [infId, "0", OWNER]);
    assert.match(vmInfo as string, /cpu\.count >= 1/, "AlterVM did not run");
    const [, state] = await rpc("GetInfrastructureState", [infId, OWNER]);
    assert.notEqual((state as { vm_states: Record<string, string> }).vm_states["0"], "stopped", "StopVM/StopInfrastructure did not run");
  }

  /** Nothing of the owner's in an answer to somebody else. */
  function assertNoLeak(answer: Pair, who: string): void {
    const text = JSON.stringify(answer);
    for (const id of ownerIds) assert.ok(!text.includes(id), `${who} was told the owner's infrastructure id ${id}: ${text}`);
    assert.ok(!text.includes(OWNER_PASSWORD), `${who} was told the owner's password: ${text}`);
    assert.ok(!text.includes(MARKER), `${who} was told the owner's RADL: ${text}`);
  }

  for (const row of ROWS) {
    test(row.method, async (t) => {
      const tgt = await target();
      const params = (auth: Auth) => row.params(tgt, auth);
      const other = otherUser(row.method);
      const wrong = wrongPassword(row.method);

      await t.test("(b) another valid user", async () => {
        const answer = await rpc(row.method, params(other));
        if (row.kind === "inf") assert.deepEqual(answer, [false, ACCESS_DENIED]);
        else if (row.kind === "list") assert.deepEqual(answer, [true, []], "this user has no infrastructures");
        else assert.equal(answer[0], true, String(answer[1]));
        assertNoLeak(answer, "another user");
      });

      await t.test("(c) the owner's username with a wrong password", async () => {
        const answer = await rpc(row.method, params(wrong));
        if (row.kind === "inf") assert.deepEqual(answer, [false, ACCESS_DENIED]);
        else if (row.kind === "list") assert.deepEqual(answer, [true, []], "this identity has no infrastructures");
        else assert.equal(answer[0], true, String(answer[1]));
        assertNoLeak(answer, "a wrong password");
      });

      await t.test("(d) no InfrastructureManager item", async () => {
        const answer = await rpc(row.method, params(NO_IM));
        assert.deepEqual(answer, [false, NO_CREDENTIALS]);
      });

      await t.test("(e) an auth item id '1bad id'", async () => {
        assert.deepEqual(await rpc(row.method, params(BAD_ID)), [false, BAD_AUTH_ID]);
        // The id check comes first (§2.0 step 1), before the IM credential check.
        assert.deepEqual(await rpc(row.method, params([{ id: "1bad id", type: "Dummy" }])), [false, BAD_AUTH_ID]);
      });

      await t.test("a client cannot declare itself admin", async () => {
        const claimed = [{ ...other[0], admin: true }, DUMMY];
        const answer = await rpc(row.method, params(claimed));
        if (row.kind === "inf") assert.deepEqual(answer, [false, ACCESS_DENIED]);
        else if (row.kind === "list") assert.deepEqual(answer, [true, []]);
        assertNoLeak(answer, "a self-declared admin");
      });

      if (row.kind === "inf") {
        await t.test("an unknown infrastructure id", async () => {
          for (const unknown of [randomUUID(), "__proto__"]) {
            assert.deepEqual(await rpc(row.method, row.params({ ...tgt, infId: unknown }, OWNER)), [false, NOT_FOUND], unknown);
          }
          // An intruder asking about an id nobody has gets the owner's answer.
          assert.deepEqual(await rpc(row.method, row.params({ ...tgt, infId: randomUUID() }, other)), [false, NOT_FOUND]);
        });

        await t.test("nothing the intruders asked for happened", async () => {
          await assertIntact(tgt.infId);
        });
      }

      await t.test("(a) the owner", async () => {
        const answer = await rpc(row.method, params(OWNER));
        assert.equal(answer[0], true, `${row.method} failed for the owner: ${String(answer[1])}`);
        assert.ok(!AUTH_ERRORS.some((message) => String(answer[1]).includes(message)));
        if (row.method === "CreateInfrastructure" || row.method === "ImportInfrastructure") ownerIds.add(answer[1] as string);
        if (row.method === "GetInfrastructureList") assert.ok((answer[1] as string[]).includes(tgt.infId));
        if (row.method === "GetStats") {
          const stats = answer[1] as { inf_id: string; im_user: string }[];
          assert.ok(stats.some((entry) => entry.inf_id === tgt.infId));
          for (const entry of stats) assert.ok(ownerIds.has(entry.inf_id), `GetStats gave the owner ${entry.inf_id}, not theirs`);
        }
      });

      if (row.kind !== "global") {
        await t.test("ADMIN_USER may use another user's infrastructure", async () => {
          const infId = await ownerInfrastructure();
          // ADMIN_USER is a username *and* password pair.
          const denied = await rpc(row.method, row.params({ ...tgt, infId }, ADMIN_WRONG_PASSWORD));
          if (row.kind === "inf") assert.deepEqual(denied, [false, ACCESS_DENIED]);
          else assert.deepEqual(denied, [true, []]);
          const answer = await rpc(row.method, row.params({ ...tgt, infId }, ADMIN));
          assert.equal(answer[0], true, `${row.method} failed for the admin: ${String(answer[1])}`);
          if (row.kind === "list") {
            const ids = row.method === "GetStats" ? (answer[1] as { inf_id: string }[]).map((entry) => entry.inf_id) : (answer[1] as string[]);
            assert.ok(ids.includes(infId), "an admin lists every infrastructure");
          } else if (row.method !== "DestroyInfrastructure") {
            assert.deepEqual(await rpc("GetInfrastructureOwners", [infId, OWNER]), [true, [OWNER_NAME]], "the admin is not made an owner");
          } else {
            assert.deepEqual(await rpc("GetInfrastructureState", [infId, OWNER]), [false, NOT_FOUND], "the admin destroyed it");
          }
        });
      }
    });
  }

  test("in the end, every identity lists only its own infrastructures", async () => {
    const [ok, ownerList] = await rpc("GetInfrastructureList", [OWNER]);
    assert.equal(ok, true);
    for (const id of ownerList as string[]) assert.ok(ownerIds.has(id), `the owner is listed ${id}`);
    const [, otherList] = await rpc("GetInfrastructureList", [otherUser("CreateInfrastructure")]);
    assert.equal((otherList as string[]).length, 2, "the ones it created as (b) and as a self-declared admin");
    assert.ok(!(otherList as string[]).some((id) => ownerIds.has(id)));
    const [, wrongList] = await rpc("GetInfrastructureList", [wrongPassword("CreateInfrastructure")]);
    assert.equal((wrongList as string[]).length, 1, "the one it created as (c)");
    assert.ok(!(wrongList as string[]).some((id) => ownerIds.has(id)));
    const [, stats] = await rpc("GetStats", ["", "", wrongPassword("ImportInfrastructure")]);
    assert.equal((stats as unknown[]).length, 1, "the one it imported as (c)");
    assert.ok(!(stats as { inf_id: string }[]).some((entry) => ownerIds.has(entry.inf_id)));
  });
});

// ---------------------------------------------------------------- BOOT_MODE 1 and 2

interface Seed {
  dataDir: string;
  /** [reads, destroy, export with delete, a spare] */
  ids: string[];
  /** An ExportInfrastructure document (its infrastructure exported with delete). */
  document: string;
}

let seeded: Promise<Seed> | undefined;

/**
 * Once for both modes: a normal server on a data folder of our own with the lowdb store, where
 * the owner creates 4 infrastructures and one more that is exported with delete; then it stops,
 * so that BOOT_MODE servers can load copies of the folder.
 */
function seed(): Promise<Seed> {
  seeded ??= (async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "infra-manager-bootmode-seed-"));
    const server = await startTestServer({ config: { ...LEAN, dataDir, store: "lowdb" } });
    try {
      const ids: string[] = [];
      for (let i = 0; i <= 4; i++) {
        const [ok, id] = await call(server.url, "CreateInfrastructure", [OWNER_RADL, OWNER]);
        assert.equal(ok, true, String(id));
        ids.push(id as string);
      }
      const [ok, document] = await call(server.url, "ExportInfrastructure", [ids.pop(), true, OWNER]);
      assert.equal(ok, true, String(document));
      return { dataDir, ids, document: document as string };
    } finally {
      await server.close();
    }
  })();
  return seeded;
}

after(async () => {
  if (seeded) await rm((await seeded).dataDir, { recursive: true, force: true });
});

for (const mode of [1, 2] as const) {
  describe(`BOOT_MODE ${mode}`, () => {
    let server: TestServer | undefined;
    let dataDir: string;
    /** [reads, destroy, export with delete, a spare] */
    let ids: string[];
    let document: string;

    before(async () => {
      const origin = await seed();
      ({ ids, document } = origin);
      dataDir = await mkdtemp(join(tmpdir(), `infra-manager-bootmode-${mode}-`));
      await cp(origin.dataDir, dataDir, { recursive: true });
      server = await startTestServer({ im: { BOOT_MODE: mode }, config: { ...LEAN, dataDir, store: "lowdb" } });
    });
    after(async () => {
      await server?.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    const rpc = (method: string, params: unknown[]) => call(server!.url, method, params);
    const destructive = new Set(["DestroyInfrastructure", "RemoveResource"]);

    for (const row of ROWS) {
      const blocked = row.blockedIn.includes(mode);
      test(`${row.method} ${blocked ? "is disabled" : "works"}`, async () => {
        const infId = destructive.has(row.method) ? ids[1] : ids[0];
        const params = (auth: Auth, id = infId) => row.params({ infId: id, document: withFreshId(document) }, auth);
        if (blocked) {
          assert.deepEqual(await rpc(row.method, params(OWNER)), [false, DISABLED]);
          // The mode check comes before the credential and infrastructure checks, after the auth id check (§2).
          assert.deepEqual(await rpc(row.method, params(NO_IM)), [false, DISABLED]);
          assert.deepEqual(await rpc(row.method, params(otherUser(row.method))), [false, DISABLED]);
          if (row.kind === "inf") assert.deepEqual(await rpc(row.method, params(OWNER, randomUUID())), [false, DISABLED]);
          assert.deepEqual(await rpc(row.method, params(BAD_ID)), [false, BAD_AUTH_ID]);
        } else {
          const answer = await rpc(row.method, params(OWNER));
          assert.equal(answer[0], true, `${row.method} failed in BOOT_MODE ${mode}: ${String(answer[1])}`);
          assert.deepEqual(await rpc(row.method, params(NO_IM)), [false, NO_CREDENTIALS]);
          if (row.kind === "inf") {
            assert.deepEqual(await rpc(row.method, params(otherUser(row.method), ids[3])), [false, ACCESS_DENIED]);
            assert.deepEqual(await rpc(row.method, params(OWNER, randomUUID())), [false, NOT_FOUND]);
          }
        }
      });
    }

    test(`ExportInfrastructure with delete is ${mode === 1 ? "disabled" : "allowed"}`, async () => {
      const answer = await rpc("ExportInfrastructure", [ids[2], true, OWNER]);
      if (mode === 1) {
        assert.deepEqual(answer, [false, DISABLED]);
        assert.equal((await rpc("GetInfrastructureState", [ids[2], OWNER]))[0], true, "not deleted");
      } else {
        assert.equal(answer[0], true, String(answer[1]));
        assert.equal((JSON.parse(answer[1] as string) as { id: string }).id, ids[2]);
        assert.deepEqual(await rpc("GetInfrastructureState", [ids[2], OWNER]), [false, NOT_FOUND]);
      }
    });

    test("the infrastructures loaded from the store are still there", async () => {
      const [ok, list] = await rpc("GetInfrastructureList", [OWNER]);
      assert.equal(ok, true);
      // Mode 2 allows DestroyInfrastructure and ExportInfrastructure(delete).
      const expected = mode === 1 ? ids : [ids[0], ids[3]];
      assert.deepEqual([...(list as string[])].sort(), [...expected].sort());
    });
  });
}
