import {
  checkExpiry, checkGroups, checkIssuerAndAudience, checkScopes, decodeToken, inAdminGroup, oidcIdentity,
  type OidcPolicy, type TokenClaims,
} from "../../core/oidc.ts";
import { errors } from "../../core/index.ts";

// The network half of IM's OIDC validation (IM behaviour §3.3): the issuer's discovery
// document, token introspection when the server has a client of its own, and the userinfo
// endpoint, which is asked on every call since it is what vouches for the token.

export interface OidcOptions extends OidcPolicy {
  /** IM's OIDC_CLIENT_ID and OIDC_CLIENT_SECRET, for introspection. */
  clientId: string;
  clientSecret: string;
  /** Per request to the issuer (IM's is 10 s). */
  timeoutMs?: number;
}

/** What a valid token stands for. */
export interface OidcUser {
  username: string;
  password: string;
  /** In one of OIDC_ADMIN_GROUPS (ADMIN_USER is checked by the caller). */
  adminByGroup: boolean;
}

interface IssuerEndpoints {
  userinfo: string;
  introspection?: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** How long an issuer's endpoints are remembered. */
const DISCOVERY_TTL_MS = 60 * 60_000;

/** A failed request to the issuer, with IM's wording of it. */
class IssuerError extends Error {}

export class OidcVerifier {
  /** Discoveries by issuer, in flight or answered (a failed one is forgotten). */
  private readonly endpoints = new Map<string, { at: number; endpoints: Promise<IssuerEndpoints> }>();
  private readonly timeoutMs: number;

  constructor(private readonly options: OidcOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** The checks of §3.3, in the reference's order; every refusal is an ImError with its message. */
  async verify(token: string): Promise<OidcUser> {
    const claims = decodeToken(token);
    const issuer = checkIssuerAndAudience(claims, this.options);
    // Only a server with a client of its own at the issuer can introspect.
    if (this.options.scopes.length > 0 && this.options.clientId && this.options.clientSecret) {
      let introspection: TokenClaims;
      try {
        introspection = await this.introspect(issuer, token);
      } catch (error) {
        if (!(error instanceof IssuerError)) throw error;
        throw errors.oidcRejected("Invalid token or Client credentials.");
      }
      checkScopes(introspection, this.options.scopes);
    }
    checkExpiry(claims, Date.now() / 1000);
    let userinfo: TokenClaims;
    try {
      userinfo = await this.userinfo(issuer, token);
    } catch (error) {
      if (!(error instanceof IssuerError)) throw error;
      throw errors.oidcRejected(`${error.message}.`);
    }
    checkGroups(userinfo, this.options);
    return { ...oidcIdentity(issuer, userinfo), adminByGroup: inAdminGroup(issuer, userinfo, this.options) };
  }

  private async userinfo(issuer: string, token: string): Promise<TokenClaims> {
    const { userinfo } = await this.discover(issuer);
    return this.json(userinfo, { headers: { Authorization: `Bearer ${token}` } });
  }

  private async introspect(issuer: string, token: string): Promise<TokenClaims> {
    const { introspection } = await this.discover(issuer);
    if (!introspection) throw new IssuerError("the issuer has no introspection endpoint");
    const client = Buffer.from(`${this.options.clientId}:${this.options.clientSecret}`).toString("base64");
    return this.json(introspection, {
      method: "POST",
      headers: { Authorization: `Basic ${client}`, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token, token_type_hint: "access_token" }).toString(),
    });
  }

  /** `<iss>/.well-known/openid-configuration`, remembered per issuer when it answered. */
  private discover(issuer: string): Promise<IssuerEndpoints> {
    const known = this.endpoints.get(issuer);
    if (known && Date.now() - known.at < DISCOVERY_TTL_MS) return known.endpoints;
    const endpoints = this.json(`${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`, {}).then((document) => {
      if (typeof document.userinfo_endpoint !== "string") throw new IssuerError("The issuer's OpenID configuration has no userinfo_endpoint");
      const introspection = typeof document.introspection_endpoint === "string" ? document.introspection_endpoint : undefined;
      return { userinfo: document.userinfo_endpoint, introspection };
    });
    const entry = { at: Date.now(), endpoints };
    this.endpoints.set(issuer, entry);
    endpoints.catch(() => {
      if (this.endpoints.get(issuer) === entry) this.endpoints.delete(issuer);
    });
    return endpoints;
  }

  /** A JSON object from the issuer; anything else is an IssuerError worded as IM's. */
  private async json(url: string, init: RequestInit): Promise<TokenClaims> {
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, { ...init, redirect: "error", signal: AbortSignal.timeout(this.timeoutMs) });
      text = await response.text();
    } catch (error) {
      const cause = (error as Error & { cause?: Error }).cause;
      throw new IssuerError(cause ? `${(error as Error).message}: ${cause.message}` : (error as Error).message);
    }
    if (response.status !== 200) throw new IssuerError(`Code: ${response.status}. Message: ${text}.`);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new IssuerError(`The answer of ${url} is not JSON`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new IssuerError(`The answer of ${url} is not a JSON object`);
    return value as TokenClaims;
  }
}
