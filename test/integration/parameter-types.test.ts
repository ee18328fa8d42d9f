import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startTestServer, type TestServer } from "../fixtures/server.ts";
import { AUTH, rpcClient, type RpcClient } from "../fixtures/xmlrpc-client.ts";

// Parameters of the wrong type get the error Python would raise, never a silent default.

let server: TestServer;
let client: RpcClient;
before(async () => {
  server = await startTestServer();
  client = rpcClient(server.url);
});
after(() => server.close());

test("GetInfrastructureList with a filter that is not a string", async () => {
  assert.deepEqual(await client.call("GetInfrastructureList", AUTH, { not: "a pattern" }), [false, "first argument must be string or compiled pattern"]);
  assert.deepEqual(await client.call("GetInfrastructureList", AUTH, "(unclosed"), [false, "Invalid regular expression: /(unclosed/: Unterminated group"]);
});

test("ImportInfrastructure of something that is not a JSON string", async () => {
  assert.deepEqual(await client.call("ImportInfrastructure", { id: "x" }, AUTH), [false, "Error importing the infrastructure, incorrect data: the JSON object must be str, bytes or bytearray, not a struct"]);
});

test("GetStats with dates that are not YYYY-MM-DD", async () => {
  assert.deepEqual(await client.call("GetStats", "notadate", "", AUTH), [false, "time data 'notadate' does not match format '%Y-%m-%d'"]);
  assert.deepEqual(await client.call("GetStats", "", "2026-13-45", AUTH), [false, "time data '2026-13-45' does not match format '%Y-%m-%d'"]);
  assert.deepEqual(await client.call("GetStats", "2000-01-01", "2100-01-01", AUTH), [true, []]);
});
