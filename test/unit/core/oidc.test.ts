import assert from "node:assert/strict";
import { test } from "node:test";
import { ImError } from "../../../core/index.ts";
import {
  checkExpiry, checkGroups, checkIssuerAndAudience, checkScopes, decodeToken, inAdminGroup, oidcIdentity, type OidcPolicy,
} from "../../../core/oidc.ts";

// The OIDC checks that need no network (core/oidc.ts, IM behaviour §3.3).

const base64url = (value: string) => Buffer.from(value).toString("base64url");
const jwt = (claims: unknown) => `${base64url('{"alg":"RS256"}')}.${base64url(JSON.stringify(claims))}.c2lnbmF0dXJl`;

const POLICY: OidcPolicy = { issuers: ["https://iam.example/"], audience: "", scopes: [], groups: [], groupsClaim: "groups", adminGroups: [] };

function throwsIm(fn: () => unknown, message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ImError, String(error));
    assert.equal(error.message, message);
    return true;
  });
}

test("a token's payload is read without its signature; a token that is not a JWT is refused", () => {
  assert.deepEqual(decodeToken(jwt({ iss: "https://iam.example/", sub: "s", name: "Zoë" })), { iss: "https://iam.example/", sub: "s", name: "Zoë" });
  assert.deepEqual(decodeToken(`x.${base64url('{"a":1}')}==`), { a: 1 }, "padding is allowed");
  throwsIm(() => decodeToken("just-a-string"), "Error trying to decode OIDC auth token: it is not a JWT (header.payload.signature)");
  throwsIm(() => decodeToken("a.b+c.d"), "Error trying to decode OIDC auth token: a part of it is not URL-safe base64");
  assert.throws(() => decodeToken(`a.${base64url("not json")}.c`), /^ImError: Error trying to decode OIDC auth token: its payload is not JSON/);
  throwsIm(() => decodeToken(`a.${base64url("[1]")}.c`), "Error trying to decode OIDC auth token: its payload is not a JSON object");
  assert.throws(() => decodeToken(`a.${Buffer.from([0xff, 0xfe]).toString("base64url")}.c`), /^ImError: Error trying to decode OIDC auth token: its payload is not base64url-encoded UTF-8/);
  assert.throws(() => decodeToken("a.abcde.c"), /^ImError: Error trying to decode OIDC auth token: its payload is not base64url-encoded UTF-8/, "a length no base64 has");
});

test("the issuer must be listed exactly, and the audience (when configured) named in `aud`", () => {
  assert.equal(checkIssuerAndAudience({ iss: "https://iam.example/" }, POLICY), "https://iam.example/");
  throwsIm(() => checkIssuerAndAudience({ iss: "https://iam.example" }, POLICY), "Invalid InfrastructureManager credentials. Issuer not accepted.");
  throwsIm(() => checkIssuerAndAudience({}, POLICY), "Invalid InfrastructureManager credentials. Issuer not accepted.");
  throwsIm(() => checkIssuerAndAudience({ iss: "https://iam.example/" }, { ...POLICY, issuers: [] }), "Invalid InfrastructureManager credentials. Issuer not accepted.");
  const audience = { ...POLICY, audience: "im" };
  assert.equal(checkIssuerAndAudience({ iss: "https://iam.example/", aud: "other,im" }, audience), "https://iam.example/");
  assert.equal(checkIssuerAndAudience({ iss: "https://iam.example/", aud: ["other", "im"] }, audience), "https://iam.example/");
  for (const aud of [undefined, "", "imx", ["other"]]) {
    throwsIm(() => checkIssuerAndAudience({ iss: "https://iam.example/", aud }, audience), "Invalid InfrastructureManager credentials. Audience not accepted.");
  }
});

test("introspected scopes must include every required scope", () => {
  checkScopes({ scope: "openid profile im" }, ["openid", "im"]);
  throwsIm(() => checkScopes({}, ["openid"]), "Invalid InfrastructureManager credentials. No scope obtained from introspection.");
  throwsIm(() => checkScopes({ scope: "" }, ["openid"]), "Invalid InfrastructureManager credentials. No scope obtained from introspection.");
  throwsIm(() => checkScopes({ scope: "openid profile" }, ["openid", "im"]), "Invalid InfrastructureManager credentials. Scopes openid im not in introspection scopes: openid profile");
});

test("`exp` must lie in the future; one that is not a number is an error of its own", () => {
  checkExpiry({ exp: 1000 }, 999.5);
  checkExpiry({ exp: "1000" }, 1000);
  throwsIm(() => checkExpiry({ exp: 999 }, 1000), "Invalid InfrastructureManager credentials. OIDC auth Token expired.");
  for (const exp of [undefined, "soon", null, {}]) throwsIm(() => checkExpiry({ exp }, 1000), "Invalid InfrastructureManager credentials. OIDC auth Error getting token info.");
});

test("the identity of a token's user: preferred_username, else name, else sub; the password is the issuer and sub", () => {
  assert.deepEqual(oidcIdentity("https://iam-test.indigo-datacloud.eu/", { preferred_username: "micafer", name: "Miguel", sub: "sub" }),
    { username: "__OPENID__micafer", password: "https://iam-test.indigo-datacloud.eu/sub" });
  assert.deepEqual(oidcIdentity("https://iam.example", { name: "Miguel", sub: "s1" }), { username: "__OPENID__Miguel", password: "https://iam.example/s1" });
  assert.deepEqual(oidcIdentity("https://iam.example/", { sub: "s1" }), { username: "__OPENID__s1", password: "https://iam.example/s1" });
});

test("OIDC_GROUPS must all be in the groups claim; OIDC_ADMIN_GROUPS make admins of their issuer's members", () => {
  const policy = { ...POLICY, groups: ["users", "im"], groupsClaim: "eduperson_entitlement", adminGroups: [{ issuer: "https://iam.example", group: "admins" }] };
  checkGroups({ eduperson_entitlement: ["im", "users", "x"] }, policy);
  for (const userinfo of [{}, { eduperson_entitlement: ["users"] }, { groups: ["users", "im"] }, { eduperson_entitlement: "users,im" }]) {
    throwsIm(() => checkGroups(userinfo, policy), "Error trying to validate OIDC auth token: Invalid InfrastructureManager credentials. User not in configured groups.");
  }
  assert.equal(inAdminGroup("https://iam.example/", { eduperson_entitlement: ["admins"] }, policy), true, "issuers compare with their trailing slash");
  assert.equal(inAdminGroup("https://other.example/", { eduperson_entitlement: ["admins"] }, policy), false);
  assert.equal(inAdminGroup("https://iam.example/", { eduperson_entitlement: ["users"] }, policy), false);
});
