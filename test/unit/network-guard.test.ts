import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { isAllowedAddress } from "../setup/network-guard.mjs";

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
