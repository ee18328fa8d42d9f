// OIDC tokens as InfrastructureManager credentials (IM behaviour §3.2-§3.4), end to end against
// a fake issuer on 127.0.0.1 (test/fixtures/oidc-issuer.ts): discovery, userinfo on every call,
// introspection for scopes, groups, admin groups, and every refusal's exact message.
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startOidcIssuer, type OidcIssuer } from "../fixtures/oidc-issuer.ts";
import { startTestServer, type TestServer } from "../fixtures/server.ts";
import { rpcClient } from "../fixtures/xmlrpc-client.ts";

const RADL = `network public (outbound = 'yes')
system node (cpu.count >= 1 and memory.size >= 512m and net_interface.0.connection = 'public' and disk.0.image.url = 'mock0://linux.for.ev.er/image')
deploy node 1
contextualize ()`;
const DUMMY = { id: "dummy", type: "Dummy" };
const ACCESS_DENIED = "Access to this infrastructure not granted.";

type Pair = [boolean, unknown];

let issuer: OidcIssuer;
before(async () => {
  issuer = await startOidcIssuer();
});
after(async () => {
  await issuer?.close();
});

const tokenAuth = (token: string) => [{ type: "InfrastructureManager", token }, DUMMY];
const call = (server: TestServer, method: string, ...params: unknown[]) => rpcClient(server.url).call<Pair>(method, ...params);

describe("tokens, with issuer, audience, groups and admin groups configured", () => {
  let server: TestServer;
  const alice = { userinfo: { sub: "alice-sub", preferred_username: "alice", groups: ["im-users"] } };
  before(async () => {
    server = await startTestServer({
      config: { store: "lowdb" },
      im: {
        OIDC_ISSUERS: [issuer.url], OIDC_AUDIENCE: "im", OIDC_GROUPS: ["im-users"],
        OIDC_ADMIN_GROUPS: [{ issuer: issuer.url.replace(/\/$/, ""), group: "im-admins" }],
        ADMIN_USER: [{ username: "__OPENID__boss", password: `${issuer.url}boss-sub` }],
      },
    });
  });
  after(async () => {
    await server?.close();
  });

  test("a token's user owns what it creates, under its __OPENID__ name, and any token of the same user reaches it", async () => {
    const token = issuer.issue(alice);
    const [created, id] = await call(server, "CreateInfrastructure", RADL, tokenAuth(token));
    assert.equal(created, true, String(id));
    assert.deepEqual(await call(server, "GetInfrastructureOwners", id, tokenAuth(token)), [true, ["__OPENID__alice"]]);
    const later = issuer.issue(alice);
    assert.deepEqual(await call(server, "GetInfrastructureInfo", id, tokenAuth(later)), [true, ["0"]]);
    const [, list] = await call(server, "GetInfrastructureList", tokenAuth(later));
    assert.ok((list as string[]).includes(id as string));

    // Nobody gets in with the derived pair as a password, nor with another user's token.
    const derived = [{ type: "InfrastructureManager", username: "__OPENID__alice", password: `${issuer.url}alice-sub` }, DUMMY];
    assert.deepEqual(await call(server, "GetInfrastructureInfo", id, derived), [false, "Invalid username used for the InfrastructureManager."]);
    const bob = issuer.issue({ userinfo: { sub: "bob-sub", preferred_username: "bob", groups: ["im-users"] } });
    assert.deepEqual(await call(server, "GetInfrastructureInfo", id, tokenAuth(bob)), [false, ACCESS_DENIED]);

    // The stored record holds a salted hash of the derived pair, neither the token nor the pair.
    const folder = join(server.dataDir, "infrastructures");
    const record = await readFile(join(folder, (await readdir(folder)).find((file) => file.startsWith(id as string))!), "utf8");
    assert.ok(record.includes("__OPENID__alice"));
    for (const secret of [token, later, token.split(".")[1], `${issuer.url}alice-sub`]) assert.ok(!record.includes(secret), `the record holds ${secret.slice(0, 20)}…`);
    assert.deepEqual(await call(server, "DestroyInfrastructure", id, tokenAuth(token)), [true, ""]);
  });

  test("the issuer's userinfo is asked on every call; its discovery document once", async () => {
    const token = issuer.issue(alice);
    const userinfo = issuer.requests.get("/userinfo") ?? 0;
    for (let i = 0; i < 3; i++) assert.equal((await call(server, "GetInfrastructureList", tokenAuth(token)))[0], true);
    assert.equal(issuer.requests.get("/userinfo"), userinfo + 3);
    assert.equal(issuer.requests.get("/.well-known/openid-configuration"), 1);
    const twice = [{ type: "InfrastructureManager", token }, { type: "InfrastructureManager", token }];
    assert.equal((await call(server, "GetInfrastructureList", twice))[0], true);
    assert.equal(issuer.requests.get("/userinfo"), userinfo + 4, "a token repeated in one call is asked once");
  });

  test("members of an admin group reach every infrastructure", async () => {
    const [, id] = await call(server, "CreateInfrastructure", RADL, tokenAuth(issuer.issue(alice)));
    const carol = issuer.issue({ userinfo: { sub: "carol-sub", preferred_username: "carol", groups: ["im-users", "im-admins"] } });
    assert.deepEqual(await call(server, "GetInfrastructureInfo", id, tokenAuth(carol)), [true, ["0"]]);
    const [, list] = await call(server, "GetInfrastructureList", tokenAuth(carol));
    assert.ok((list as string[]).includes(id as string));
    assert.deepEqual(await call(server, "GetInfrastructureOwners", id, tokenAuth(carol)), [true, ["__OPENID__alice"]], "an admin is not made an owner");
    // An ADMIN_USER entry may name a token's user by its derived pair (T27).
    const boss = issuer.issue({ userinfo: { sub: "boss-sub", preferred_username: "boss", groups: ["im-users"] } });
    assert.deepEqual(await call(server, "GetInfrastructureInfo", id, tokenAuth(boss)), [true, ["0"]]);
  });

  test("ChangeInfrastructureAuth takes token owners, validated at once", async () => {
    const aliceAuth = tokenAuth(issuer.issue(alice));
    const [, id] = await call(server, "CreateInfrastructure", RADL, aliceAuth);
    const bob = { userinfo: { sub: "bob-sub", preferred_username: "bob", groups: ["im-users"] } };
    assert.deepEqual(await call(server, "ChangeInfrastructureAuth", id, [{ type: "InfrastructureManager", token: issuer.issue(bob) }], false, aliceAuth), [true, ""]);
    assert.deepEqual(await call(server, "GetInfrastructureOwners", id, aliceAuth), [true, ["__OPENID__alice", "__OPENID__bob"]]);
    assert.deepEqual(await call(server, "GetInfrastructureInfo", id, tokenAuth(issuer.issue(bob))), [true, ["0"]]);
    assert.deepEqual(await call(server, "ChangeInfrastructureAuth", id, [{ type: "InfrastructureManager", token: issuer.forge() }], true, aliceAuth),
      [false, "Invalid new infrastructure data provided: Invalid InfrastructureManager credentials. Code: 401. Message: invalid token.."]);
    assert.deepEqual(await call(server, "GetInfrastructureOwners", id, aliceAuth), [true, ["__OPENID__alice", "__OPENID__bob"]], "a refused change changes nothing");
  });

  test("each refusal has the reference's message, and the server answers the next call", async () => {
    const refusals: [string, string][] = [
      ["not-a-jwt", "Error trying to decode OIDC auth token: it is not a JWT (header.payload.signature)"],
      [issuer.issue(alice, { iss: "https://elsewhere.example/" }), "Invalid InfrastructureManager credentials. Issuer not accepted."],
      [issuer.issue(alice, { aud: "another-service" }), "Invalid InfrastructureManager credentials. Audience not accepted."],
      [issuer.issue(alice, { exp: Math.floor(Date.now() / 1000) - 60 }), "Invalid InfrastructureManager credentials. OIDC auth Token expired."],
      [issuer.issue(alice, { exp: "tomorrow" }), "Invalid InfrastructureManager credentials. OIDC auth Error getting token info."],
      [issuer.forge(), "Invalid InfrastructureManager credentials. Code: 401. Message: invalid token.."],
      [issuer.issue({ userinfo: { sub: "dave-sub", preferred_username: "dave", groups: ["others"] } }),
        "Error trying to validate OIDC auth token: Invalid InfrastructureManager credentials. User not in configured groups."],
    ];
    for (const [token, message] of refusals) {
      assert.deepEqual(await call(server, "GetInfrastructureList", tokenAuth(token)), [false, message], message);
      assert.equal((await call(server, "GetInfrastructureList", tokenAuth(issuer.issue(alice))))[0], true);
    }
  });
});

describe("introspected scopes (OIDC_SCOPES with OIDC_CLIENT_ID and OIDC_CLIENT_SECRET)", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      im: { OIDC_ISSUERS: [issuer.url], OIDC_SCOPES: ["openid", "im"], OIDC_CLIENT_ID: issuer.clientId, OIDC_CLIENT_SECRET: issuer.clientSecret, FORCE_OIDC_AUTH: true },
    });
  });
  after(async () => {
    await server?.close();
  });

  const user = (scope?: string) => ({ userinfo: { sub: "erin-sub", name: "Erin" }, scope });

  test("a token with every scope passes; others are refused with the reference's messages", async () => {
    assert.deepEqual(await call(server, "GetInfrastructureList", tokenAuth(issuer.issue(user("openid profile im")))), [true, []]);
    assert.deepEqual(await call(server, "GetInfrastructureList", tokenAuth(issuer.issue(user("openid")))),
      [false, "Invalid InfrastructureManager credentials. Scopes openid im not in introspection scopes: openid"]);
    assert.deepEqual(await call(server, "GetInfrastructureList", tokenAuth(issuer.issue(user()))),
      [false, "Invalid InfrastructureManager credentials. No scope obtained from introspection."]);
    assert.deepEqual(await call(server, "GetInfrastructureList", tokenAuth(issuer.forge())),
      [false, "Invalid InfrastructureManager credentials. Invalid token or Client credentials."]);
  });

  test("with FORCE_OIDC_AUTH a username and password are refused", async () => {
    assert.deepEqual(await call(server, "GetInfrastructureList", [{ type: "InfrastructureManager", username: "u", password: "p" }]),
      [false, "No token provided for the InfrastructureManager."]);
  });
});

test("without OIDC_ISSUERS (the default) every token is refused without a request to anybody", async () => {
  const server = await startTestServer();
  try {
    const before = [...issuer.requests.values()].reduce((a, b) => a + b, 0);
    const token = issuer.issue({ userinfo: { sub: "frank-sub" } });
    assert.deepEqual(await call(server, "GetInfrastructureList", tokenAuth(token)), [false, "Invalid InfrastructureManager credentials. Issuer not accepted."]);
    assert.equal([...issuer.requests.values()].reduce((a, b) => a + b, 0), before);
  } finally {
    await server.close();
  }
});
