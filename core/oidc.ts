import { errors } from "./errors.ts";

// OIDC access tokens as IM reads them (IM behaviour §3.3). The payload is read without checking
// the signature: what vouches for a token is the issuer's userinfo endpoint, which the runtime
// asks on every call. These are the checks that need no network, in the reference's order.

/** The claims of a token's payload. */
export type TokenClaims = Readonly<Record<string, unknown>>;

/** The server's OIDC settings (IM's OIDC_* options). */
export interface OidcPolicy {
  /** Accepted `iss` values; empty accepts no token at all. */
  issuers: readonly string[];
  /** When set, the `aud` claim must name it. */
  audience: string;
  /** When set with a client id and secret, introspection must grant every one of these. */
  scopes: readonly string[];
  /** Every one of these must be in the userinfo claim `groupsClaim`. */
  groups: readonly string[];
  groupsClaim: string;
  /** Users in `group` of `issuer` are admins. */
  adminGroups: readonly { issuer: string; group: string }[];
}

/** The `__OPENID__` users that tokens map to cannot log in with a password. */
export const OIDC_USER_PREFIX = "__OPENID__";

const BASE64URL_PART = /^[A-Za-z0-9_-]*={0,2}$/;

/** The payload of a JWT, unverified. */
export function decodeToken(token: string): TokenClaims {
  const parts = token.split(".");
  const reason = parts.length < 2
    ? "it is not a JWT (header.payload.signature)"
    : parts.some((part) => !BASE64URL_PART.test(part)) ? "a part of it is not URL-safe base64" : undefined;
  if (reason) throw errors.oidcDecode(reason);
  let text: string;
  try {
    text = base64UrlText(parts[1]);
  } catch (error) {
    throw errors.oidcDecode(`its payload is not base64url-encoded UTF-8: ${(error as Error).message}`);
  }
  let claims: unknown;
  try {
    claims = JSON.parse(text);
  } catch (error) {
    throw errors.oidcDecode(`its payload is not JSON: ${(error as Error).message}`);
  }
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) throw errors.oidcDecode("its payload is not a JSON object");
  return claims as TokenClaims;
}

function base64UrlText(part: string): string {
  const base64 = part.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "="));
  return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

/** The issuer and audience checks, which come before any request to the issuer. */
export function checkIssuerAndAudience(claims: TokenClaims, policy: OidcPolicy): string {
  const issuer = claims.iss;
  if (typeof issuer !== "string" || !policy.issuers.includes(issuer)) throw errors.oidcRejected("Issuer not accepted.");
  if (policy.audience) {
    const audiences = Array.isArray(claims.aud) ? claims.aud : typeof claims.aud === "string" ? claims.aud.split(",") : [];
    if (!audiences.includes(policy.audience)) throw errors.oidcRejected("Audience not accepted.");
  }
  return issuer;
}

/** The scope check on an introspection answer. */
export function checkScopes(introspection: Readonly<Record<string, unknown>>, required: readonly string[]): void {
  const granted = typeof introspection.scope === "string" ? introspection.scope : "";
  if (!granted) throw errors.oidcRejected("No scope obtained from introspection.");
  const scopes = granted.split(" ");
  if (!required.every((scope) => scopes.includes(scope))) {
    throw errors.oidcRejected(`Scopes ${required.join(" ")} not in introspection scopes: ${granted}`);
  }
}

/** The `exp` check; `now` in epoch seconds. */
export function checkExpiry(claims: TokenClaims, now: number): void {
  const expires = typeof claims.exp === "number" ? claims.exp : typeof claims.exp === "string" && /^-?\d+$/.test(claims.exp) ? Number(claims.exp) : NaN;
  if (!Number.isFinite(expires)) throw errors.oidcRejected("OIDC auth Error getting token info.");
  if (Math.trunc(expires) - Math.trunc(now) < 0) throw errors.oidcRejected("OIDC auth Token expired.");
}

/** `iss` with a trailing slash, the form issuers are compared and passwords derived in. */
export function normalizedIssuer(issuer: string): string {
  return issuer.endsWith("/") ? issuer : `${issuer}/`;
}

/**
 * The IM identity of a token's user: `__OPENID__` and the user's preferred name, name or
 * subject; the password is the issuer and the subject, which no other issuer can produce.
 */
export function oidcIdentity(issuer: string, userinfo: TokenClaims): { username: string; password: string } {
  const text = (value: unknown) => (value === undefined || value === null ? "" : String(value));
  const name = text(userinfo.preferred_username) || text(userinfo.name) || text(userinfo.sub);
  return { username: OIDC_USER_PREFIX + name, password: normalizedIssuer(issuer) + text(userinfo.sub) };
}

function groupsOf(userinfo: TokenClaims, claim: string): unknown[] {
  const groups = userinfo[claim];
  return Array.isArray(groups) ? groups : [];
}

/** The OIDC_GROUPS check on the userinfo answer. */
export function checkGroups(userinfo: TokenClaims, policy: OidcPolicy): void {
  const groups = groupsOf(userinfo, policy.groupsClaim);
  if (!policy.groups.every((group) => groups.includes(group))) {
    throw errors.oidcValidation("Invalid InfrastructureManager credentials. User not in configured groups.");
  }
}

/** Whether OIDC_ADMIN_GROUPS makes the token's user an admin. */
export function inAdminGroup(issuer: string, userinfo: TokenClaims, policy: OidcPolicy): boolean {
  const groups = groupsOf(userinfo, policy.groupsClaim);
  return policy.adminGroups.some((admin) => normalizedIssuer(admin.issuer) === normalizedIssuer(issuer) && groups.includes(admin.group));
}
