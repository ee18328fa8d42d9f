import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { allowTestNetwork, isAllowedAddress, revokeTestNetwork, TEST_NETWORKS_ENV } from "../setup/network-guard.mjs";

const GUARD_URL = new URL("../setup/network-guard.mjs", import.meta.url).href;

test("the network guard allows loopback only", () => {
  for (const host of ["127.0.0.1", "127.5.6.7", "localhost", "::1", "::ffff:127.0.0.1"]) assert.equal(isAllowedAddress(host), true, host);
  for (const host of ["10.0.0.1", "192.168.1.1", "8.8.8.8", "example.com", "::ffff:10.0.0.1"]) assert.equal(isAllowedAddress(host), false, host);
});

test("the network guard is active in every test process", () => {
  assert.throws(() => net.connect({ host: "10.0.0.1", port: 22 }), /network guard/);
  assert.throws(() => net.connect(22, "192.0.2.1"), /network guard/);
});

test("loopback connections still work under the guard", async () => {
  const server = net.createServer((socket) => socket.end("hi"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let data = "";
    socket.on("data", (chunk) => (data += chunk));
    socket.on("end", () => resolve(data));
    socket.on("error", reject);
  });
  server.close();
  assert.equal(reply, "hi");
});

test("the network guard is active in worker threads too (provider calls run there)", async () => {
  const { Worker } = await import("node:worker_threads");
  const { mkdtemp, writeFile, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const dir = await mkdtemp(join(tmpdir(), "guard-"));
  const file = join(dir, "worker.mjs");
  await writeFile(file, `import net from "node:net";
import { parentPort } from "node:worker_threads";
try { net.connect({ host: "10.0.0.1", port: 22 }); parentPort.postMessage("connected"); }
catch (error) { parentPort.postMessage(error.message); }`);
  const worker = new Worker(file);
  const message = await new Promise<string>((resolve) => worker.once("message", resolve));
  await worker.terminate();
  await rm(dir, { recursive: true, force: true });
  assert.match(message, /network guard/);
});

test("networks in the environment variable are allowed, and nothing outside them", () => {
  process.env[TEST_NETWORKS_ENV] = "10.213.7.0/24, 10.214.0.0/16";
  try {
    for (const host of ["10.213.7.1", "10.213.7.254", "::ffff:10.213.7.10", "10.214.200.3"]) assert.equal(isAllowedAddress(host), true, host);
    for (const host of ["10.0.0.1", "::ffff:10.0.0.1", "10.213.8.1", "10.215.0.1", "192.0.2.1", "example.com"]) assert.equal(isAllowedAddress(host), false, host);
    assert.throws(() => net.connect({ host: "10.0.0.1", port: 22 }), /network guard/);
  } finally {
    delete process.env[TEST_NETWORKS_ENV];
  }
  assert.equal(isAllowedAddress("10.213.7.1"), false, "allowed after the variable was removed");
});

test("a malformed network in the environment variable is an error, not an open door", () => {
  for (const value of ["10.213.7.0", "10.213.7.0/33", "10.213.7/24", "example.com/24", "10.213.7.0/24/1"]) {
    process.env[TEST_NETWORKS_ENV] = value;
    try {
      assert.throws(() => isAllowedAddress("10.213.7.1"), new RegExp(`${TEST_NETWORKS_ENV}.*not an IPv4 CIDR`), value);
    } finally {
      delete process.env[TEST_NETWORKS_ENV];
    }
  }
  assert.throws(() => allowTestNetwork("10.213.7.1"), /not an IPv4 CIDR/);
});

test("allowTestNetwork and revokeTestNetwork edit the environment variable", () => {
  allowTestNetwork("10.213.9.0/24");
  allowTestNetwork("10.213.10.0/24");
  allowTestNetwork("10.213.9.0/24");
  assert.equal(process.env[TEST_NETWORKS_ENV], "10.213.9.0/24,10.213.10.0/24");
  assert.equal(isAllowedAddress("10.213.10.20"), true);
  revokeTestNetwork("10.213.9.0/24");
  assert.equal(isAllowedAddress("10.213.9.20"), false);
  revokeTestNetwork("10.213.10.0/24");
  assert.equal(process.env[TEST_NETWORKS_ENV], undefined);
});

test("allowed networks reach worker threads and child processes started afterwards", async () => {
  const { Worker } = await import("node:worker_threads");
  const { execFile } = await import("node:child_process");
  const { promisify } = await import("node:util");
  const probe = `import { isAllowedAddress } from ${JSON.stringify(GUARD_URL)};
const answer = ["10.213.11.5", "10.0.0.1"].map((host) => isAllowedAddress(host)).join(",");`;
  allowTestNetwork("10.213.11.0/24");
  try {
    const worker = new Worker(`${probe}\nimport { parentPort } from "node:worker_threads";\nparentPort.postMessage(answer);`, { eval: true });
    const fromWorker = await new Promise<string>((resolve, reject) => worker.once("message", resolve).once("error", reject));
    await worker.terminate();
    assert.equal(fromWorker, "true,false");
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", `${probe}\nconsole.log(answer);`]);
    assert.equal(stdout.trim(), "true,false");
  } finally {
    revokeTestNetwork("10.213.11.0/24");
  }
});
