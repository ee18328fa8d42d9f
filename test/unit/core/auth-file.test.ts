import assert from "node:assert/strict";
import { test } from "node:test";
import { AuthFileError, parseAuthFile, type AuthCredential, type AuthFileResolvers } from "../../../core/auth-file.ts";

// The auth file of IM behaviour §3.6, as the command line reads it. `file(...)` and
// `command(...)` go through injected resolvers; these fake ones read from a table.

const FILES: Record<string, string> = {
  "/keys/id_rsa": "-----BEGIN KEY-----\nabc\n-----END KEY-----\n",
  "/tmp/proxy.pem": "  proxy contents  \n",
};
const resolvers: AuthFileResolvers = {
  file: (path) => {
    if (path in FILES) return FILES[path];
    throw new Error(`ENOENT: no such file or directory, open '${path}'`);
  },
  command: (command) => {
    if (command === "oidc-token demo") return "tok-123\n";
    throw new Error("exit status 1");
  },
};

const IM = { type: "InfrastructureManager", username: "u", password: "p" };

const GOOD: [name: string, text: string, expected: AuthCredential[]][] = [
  ["plain pairs", "id = im; type = InfrastructureManager; username = u; password = p", [{ id: "im", ...IM }]],
  ["no spaces around = and ;", "type=InfrastructureManager;username=u;password=p", [IM]],
  ["a trailing ; and an empty pair", "type = Dummy;; id = d;", [{ type: "Dummy", id: "d" }]],
  ["comments and blank lines are skipped", "# my clouds\n\n   \n  # indented comment\ntype = Dummy\n", [{ type: "Dummy" }]],
  ["CRLF line ends", "type = Dummy\r\ntype = InfrastructureManager; username = u; password = p\r\n", [{ type: "Dummy" }, IM]],
  ["a BOM at the start", "\uFEFFtype = Dummy", [{ type: "Dummy" }]],
  ["single quotes protect ;", "type = InfrastructureManager; username = u; password = 'a;b'", [{ ...IM, password: "a;b" }]],
  ["double quotes protect ;", 'type = InfrastructureManager; username = u; password = "a;b"', [{ ...IM, password: "a;b" }]],
  ["a double quote inside single quotes is text", `type = InfrastructureManager; username = u; password = 'some;"pass'`, [{ ...IM, password: 'some;"pass' }]],
  ["a single quote inside double quotes is text", `type = InfrastructureManager; username = u; password = "it's"`, [{ ...IM, password: "it's" }]],
  ["spaces inside quotes are kept", "type = InfrastructureManager; username = u; password = '  p  '", [{ ...IM, password: "  p  " }]],
  ["quotes in the middle of a value delimit", "type = Dummy; tag = a'b;c'd", [{ type: "Dummy", tag: "ab;cd" }]],
  ["an empty quoted value", "type = Dummy; token = ''", [{ type: "Dummy", token: "" }]],
  ["an unquoted = inside a value is kept", "type = InfrastructureManager; username = u; password = abc=def; host = h", [{ ...IM, password: "abc=def", host: "h" }]],
  ["a trailing = (base64 padding) is kept", "type = OpenStack; password = c2VjcmV0==", [{ type: "OpenStack", password: "c2VjcmV0==" }]],
  ["a quoted = is kept", "type = OpenStack; password = 'a = b'", [{ type: "OpenStack", password: "a = b" }]],
  ["an empty unquoted value", "type = Dummy; host =", [{ type: "Dummy", host: "" }]],
  ["\\n becomes a newline", "type = EC2; private_key = line1\\nline2\\n", [{ type: "EC2", private_key: "line1\nline2\n" }]],
  ["\\n inside quotes too", "type = EC2; private_key = 'a;\\nb'", [{ type: "EC2", private_key: "a;\nb" }]],
  ["file(...) is read and trimmed", "type = OCCI; proxy = file(/tmp/proxy.pem)", [{ type: "OCCI", proxy: "proxy contents" }]],
  ["a quoted file(...) is read too (as im_client does)", "type = EC2; private_key = 'file(/keys/id_rsa)'", [{ type: "EC2", private_key: "-----BEGIN KEY-----\nabc\n-----END KEY-----" }]],
  ["file( in the middle of a value is text", "type = Dummy; note = see file(/x) later", [{ type: "Dummy", note: "see file(/x) later" }]],
  ["command(...) runs and loses its newlines", "type = InfrastructureManager; token = command(oidc-token demo)", [{ type: "InfrastructureManager", token: "tok-123" }]],
  ["a later key wins", "type = Dummy; id = a; id = b", [{ type: "Dummy", id: "b" }]],
  ["keys with dots, dashes and digits", "type = Kubernetes; api.version-2 = v1", [{ type: "Kubernetes", "api.version-2": "v1" }]],
  ["several credentials in order", "type = InfrastructureManager; username = u; password = p\nid = one; type = OpenNebula; host = server:2633\nid = d; type = Dummy", [IM, { id: "one", type: "OpenNebula", host: "server:2633" }, { id: "d", type: "Dummy" }]],
  ["JSON: an array of objects", '[\n  {"type": "InfrastructureManager", "username": "u", "password": "p"},\n  {"id": "d", "type": "Dummy"}\n]\n', [IM, { id: "d", type: "Dummy" }]],
  ["JSON: a single object", '{"type": "Dummy", "id": "d"}', [{ type: "Dummy", id: "d" }]],
  ["JSON: file(...) and command(...) values are resolved", '[{"type": "OCCI", "proxy": "file(/tmp/proxy.pem)", "token": "command(oidc-token demo)"}]', [{ type: "OCCI", proxy: "proxy contents", token: "tok-123" }]],
  ["JSON: numbers and booleans become strings", '[{"type": "Dummy", "port": 8080, "verify": false}]', [{ type: "Dummy", port: "8080", verify: "false" }]],
  ["JSON: ; = and \\n in values are plain text", String.raw`[{"type": "Dummy", "password": "a;b=c\\n"}]`, [{ type: "Dummy", password: "a;b=c\\n" }]],
  ["JSON on one line among text lines", 'type = InfrastructureManager; username = u; password = p\n{"type": "Dummy", "id": "d"}\n', [IM, { type: "Dummy", id: "d" }]],
  ["a JSON line first, then text lines", '{"type": "Dummy", "id": "d"}\ntype = InfrastructureManager; username = u; password = p', [{ type: "Dummy", id: "d" }, IM]],
];

for (const [name, text, expected] of GOOD) {
  test(`auth file: ${name}`, () => {
    assert.deepEqual(parseAuthFile(text, resolvers), expected);
  });
}

const BAD: [name: string, text: string, line: number | null, message: RegExp][] = [
  ["a pair without =", "type = Dummy\ntype = EC2; username", 2, /^line 2: expected 'key = value', found 'username'$/],
  ["an empty key", "type = Dummy; = value", 1, /^line 1: missing key before '='/],
  ["a key with a space", "# c\ntype = Dummy; user name = x", 2, /^line 2: invalid key 'user name'$/],
  ["an unterminated single quote", "type = Dummy\n\ntype = EC2; password = 'abc", 3, /^line 3: unterminated quote \('\)$/],
  ["an unterminated double quote", 'type = EC2; password = "abc', 1, /^line 1: unterminated quote \("\)$/],
  ["a missing ; between pairs", "type = Dummy host = h", 1, /^line 1: the value of 'type' looks like a missing ';' before 'host ='/],
  ["a credential without type", "type = Dummy\nusername = u; password = p", 2, /^line 2: the credential has no 'type'$/],
  ["a line of only ;", "type = Dummy\n;;", 2, /^line 2: no 'key = value' pairs$/],
  ["an unreadable file(...)", "type = Dummy\n# key\ntype = EC2; private_key = file(/missing)", 3, /^line 3: cannot read file\(\/missing\) for 'private_key': ENOENT/],
  ["file() without a path", "type = EC2; private_key = file()", 1, /^line 1: the value of 'private_key' is file\(\) without a path$/],
  ["a failing command(...)", "type = InfrastructureManager; token = command(false)", 1, /^line 1: command\(false\) for 'token' failed: exit status 1$/],
  ["a Bearer file", "Bearer abc.def.ghi", 1, /^line 1: a 'Bearer <token>' file is for IM's REST API/],
  ["an empty file", "\n  \n", null, /^the auth file has no credentials$/],
  ["only comments", "# nothing\n# here\n", null, /^the auth file has no credentials$/],
  ["JSON: a syntax error, with its line", '[\n  {"type": "Dummy"},\n  {"type": "EC2",}\n]', 3, /^line 3: invalid JSON: /],
  ["JSON: an unfinished document (the line where it stops)", '[\n  {"type": "Dummy"},\n', 2, /^line 2: invalid JSON: Unexpected end/],
  ["JSON: an item that is not an object", '[\n  {"type": "Dummy"},\n  "EC2"\n]', 3, /^line 3: credential 2 is not an object$/],
  ["JSON: an item without type", '[\n  {"type": "Dummy"},\n\n  {"username": "u"}\n]', 4, /^line 4: credential 2 has no 'type'$/],
  ["JSON: a value that is an object", '[{"type": "Dummy", "extra": {"a": 1}}]', 1, /^line 1: credential 1: the value of 'extra' must be a string$/],
  ["JSON: an empty array", "[]", null, /^the auth file has no credentials$/],
  ["JSON: a bad file(...) names the credential", '[{"type": "Dummy"},\n {"type": "EC2", "private_key": "file(/missing)"}]', 2, /^line 2: credential 2: cannot read file\(\/missing\)/],
  ["a bad JSON line among text lines", 'type = Dummy\n{"type": "EC2",\n', 2, /^line 2: invalid JSON: /],
];

for (const [name, text, line, message] of BAD) {
  test(`auth file error: ${name}`, () => {
    assert.throws(() => parseAuthFile(text, resolvers), (error: unknown) => {
      assert.ok(error instanceof AuthFileError, String(error));
      assert.equal(error.line, line);
      assert.match(error.message, message);
      return true;
    });
  });
}

test("auth file: without resolvers, file(...) and command(...) stay as written (what a server must do)", () => {
  assert.deepEqual(parseAuthFile("type = EC2; private_key = file(/etc/passwd); token = command(id)"), [
    { type: "EC2", private_key: "file(/etc/passwd)", token: "command(id)" },
  ]);
});

test("auth file: the examples/auth.dat of this repository", async () => {
  const { readFile } = await import("node:fs/promises");
  const text = await readFile(new URL("../../../examples/auth.dat", import.meta.url), "utf8");
  assert.deepEqual(parseAuthFile(text), [
    { id: "im", type: "InfrastructureManager", username: "demo", password: "demo-password" },
    { id: "dummy", type: "Dummy" },
  ]);
});
