// Interop with the client every IM tool is built on: Python's stdlib xmlrpc.client, configured
// like the reference's clients (allow_none=True).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";
import { XmlRpcDouble, XmlRpcServer, type RpcMethod } from "../../../runtime/xmlrpc/server.ts";

const METHODS: RpcMethod[] = [
  { name: "echo", params: ["value"], required: 1, handler: ([value]) => value },
  { name: "isNone", params: ["value"], required: 1, handler: ([value]) => value === null },
  { name: "GetInfrastructureState", params: ["inf_id", "auth_data"], required: 2, handler: () => [true, {}] },
  { name: "doubles", params: [], required: 0, handler: () => [new XmlRpcDouble(2), 0.5, 2] },
  { name: "none", params: [], required: 0, handler: () => null },
  { name: "overflow", params: [], required: 0, handler: () => 4 * 1024 ** 3 },
  { name: "large", params: [], required: 0, handler: () => "ünïcode ".repeat(1000) },
  { name: "ansi", params: [], required: 0, handler: () => "color \x1b[31mred\x1b[0m end" },
  {
    name: "throws",
    params: [],
    required: 0,
    handler: () => {
      throw new Error("boom");
    },
  },
];

const SCRIPT = String.raw`
import json, sys, xmlrpc.client

url = sys.argv[1]
proxy = xmlrpc.client.ServerProxy(url, allow_none=True)

def fault(call):
    try:
        call()
    except xmlrpc.client.Fault as error:
        return [error.faultCode, error.faultString]
    return None

out = {}
out["ints"] = [proxy.echo(value) for value in (0, -7, 2**31 - 1, -2**31)]
try:
    proxy.echo(2**31)
    out["big_int"] = "sent"
except OverflowError as error:
    out["big_int"] = str(error)
out["unicode"] = proxy.echo("héllo ✓ 日本 😀 <a href='x'>&amp; ]]> \" '")
out["empty"] = [proxy.echo(""), proxy.echo([]), proxy.echo({})]
out["nested"] = proxy.echo({"a": [1, [2, {"b": True}], {}], "c": {"d": False, "e": "", "__proto__": "x"}})
out["booleans"] = [proxy.echo(True), proxy.echo(False)]
out["doubles"] = [proxy.echo(1.5), proxy.echo(-0.25)]
out["double_types"] = [[type(value).__name__, value] for value in proxy.doubles()]
out["none_argument"] = proxy.isNone(None)
out["ansi"] = proxy.ansi()
out["large"] = proxy.large()
out["faults"] = {
    "unknown": fault(lambda: proxy.NoSuchMethod(1)),
    "arity": fault(lambda: proxy.GetInfrastructureState("id")),
    "throws": fault(proxy.throws),
    "none": fault(proxy.none),
    "overflow": fault(proxy.overflow),
}
gzip_transport = xmlrpc.client.Transport()
gzip_transport.encode_threshold = 0  # gzip every request body
out["gzip_request"] = xmlrpc.client.ServerProxy(url, transport=gzip_transport, allow_none=True).echo("x" * 3000) == "x" * 3000
print(json.dumps(out))
`;

test("Python's xmlrpc.client round-trips values and receives faults as xmlrpc.client.Fault", async (t) => {
  const server = new XmlRpcServer({ methods: METHODS, bodyLimitBytes: 1024 * 1024 });
  const { port } = await server.listen(0, "127.0.0.1");
  t.after(() => server.close());

  const { stdout } = await promisify(execFile)("python3", ["-c", SCRIPT, `http://127.0.0.1:${port}/RPC2`], { timeout: 30_000 });
  const out = JSON.parse(stdout);

  assert.deepEqual(out.ints, [0, -7, 2 ** 31 - 1, -(2 ** 31)]);
  assert.equal(out.big_int, "int exceeds XML-RPC limits", "Python refuses to send it");
  assert.equal(out.unicode, "héllo ✓ 日本 😀 <a href='x'>&amp; ]]> \" '");
  assert.deepEqual(out.empty, ["", [], {}]);
  assert.deepEqual(out.nested, { a: [1, [2, { b: true }], {}], c: { d: false, e: "", ["__proto__"]: "x" } });
  assert.deepEqual(out.booleans, [true, false]);
  assert.deepEqual(out.doubles, [1.5, -0.25]);
  assert.deepEqual(out.double_types, [["float", 2], ["float", 0.5], ["int", 2]]);
  assert.equal(out.none_argument, true);
  assert.equal(out.ansi, "color \ufffd[31mred\ufffd[0m end");
  assert.equal(out.large, "ünïcode ".repeat(1000), "a gzipped response");
  assert.deepEqual(out.faults, {
    unknown: [1, `<class 'Exception'>:method "NoSuchMethod" is not supported`],
    arity: [1, "<class 'TypeError'>:GetInfrastructureState() missing 1 required positional argument: 'auth_data'"],
    throws: [1, "<class 'Exception'>:boom"],
    none: [1, "<class 'TypeError'>:cannot marshal None unless allow_none is enabled"],
    overflow: [1, "<class 'OverflowError'>:int exceeds XML-RPC limits"],
  });
  assert.equal(out.gzip_request, true);
});
