import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { startTestServer } from "../fixtures/server.ts";
import { TLS_CERT, TLS_KEY } from "../fixtures/tls.ts";

test("with tls.keyFile and tls.certFile in the configuration, IM clients talk HTTPS", { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "infra-manager-tls-"));
  const keyFile = join(dir, "key.pem");
  const certFile = join(dir, "cert.pem");
  await writeFile(keyFile, TLS_KEY);
  await writeFile(certFile, TLS_CERT);
  const tlsServer = await startTestServer({ config: { tls: { keyFile, certFile } } });
  try {
    const script = `
import ssl, sys, xmlrpc.client
context = ssl.create_default_context(cafile=sys.argv[2])
server = xmlrpc.client.ServerProxy(sys.argv[1], allow_none=True, context=context)
auth = [{"type": "InfrastructureManager", "username": "u", "password": "p"}, {"type": "Dummy"}]
print(server.GetVersion())
ok, inf = server.CreateInfrastructure("network p (outbound = 'yes')\\nsystem s (net_interface.0.connection = 'p')\\ndeploy s 1\\ncontextualize ()", auth)
print(ok, server.GetInfrastructureState(inf, auth)[1]["state"])
`;
    const url = `https://127.0.0.1:${tlsServer.port}/RPC2`;
    const { stdout } = await promisify(execFile)("python3", ["-c", script, url, certFile]);
    assert.equal(stdout, "[True, '1.19.2']\nTrue configured\n");
  } finally {
    await tlsServer.close();
    await rm(dir, { recursive: true, force: true });
  }
});
