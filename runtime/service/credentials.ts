import { createHmac, hash as digest, randomBytes, scrypt as scryptCallback, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { errors, imCredentials, type AuthItem } from "../../core/index.ts";
import { OIDC_USER_PREFIX } from "../../core/oidc.ts";
import type { OidcUser, OidcVerifier } from "./oidc.ts";

// IM credentials (IM behaviour §3.2, §3.4). Owners are stored as salted scrypt hashes, never
// as passwords. The salt of a username is the same in every record of this server, so one
// hash per (user, password) serves every infrastructure the user owns. An OIDC token stands for
// the `__OPENID__` user its issuer vouches for; the token itself is never kept.

const scrypt = promisify(scryptCallback) as (password: string, salt: string, keylen: number) => Promise<Buffer>;

/** A validated InfrastructureManager credential of the current call. */
export interface Identity {
  username: string;
  password: string;
  admin: boolean;
  hasToken: boolean;
}

/** An owner as stored: the username in clear (GetInfrastructureOwners returns it), the rest hashed. */
export interface OwnerRecord {
  username: string;
  salt: string;
  hash: string;
  hasToken: boolean;
}

export interface CredentialOptions {
  /** A secret of this installation, for deriving per-user salts. */
  installationSecret: string;
  /** IM's ADMIN_USER entries. */
  adminUsers: { username: string; password: string }[];
  /** IM's USER_DB: a JSON file `{"users": [{"username", "password"}]}`; empty disables it. */
  userDb?: string;
  /** IM's FORCE_OIDC_AUTH. */
  forceOidc?: boolean;
  /** Validates OIDC tokens (IM's OIDC_* options). */
  oidc: OidcVerifier;
}

const CACHE_LIMIT = 10_000;

export class Credentials {
  private readonly hashes = new Map<string, string>();
  private readonly salts = new Map<string, string>();

  constructor(private readonly options: CredentialOptions) {}

  /** Validates every IM item of `auth` and returns the caller's identities. */
  async identities(auth: readonly AuthItem[]): Promise<Identity[]> {
    const items = imCredentials(auth);
    if (items.length === 0) throw errors.noImCredentials();
    const identities: Identity[] = [];
    // A token repeated in one call is asked to its issuer once.
    const verified = new Map<string, Promise<OidcUser>>();
    for (const item of items) {
      const token = typeof item.token === "string" && item.token ? item.token : undefined;
      if (this.options.forceOidc && !token) throw errors.noImToken();
      if (token) {
        if (!verified.has(token)) verified.set(token, this.options.oidc.verify(token));
        const user = await verified.get(token)!;
        const admin = user.adminByGroup || this.isAdminUser(user.username, user.password);
        identities.push({ username: user.username, password: user.password, admin, hasToken: true });
        continue;
      }
      if (typeof item.username !== "string" || item.username === "") throw errors.noImUsername();
      const username = item.username;
      const password = typeof item.password === "string" ? item.password : "";
      if (username.startsWith(OIDC_USER_PREFIX)) throw errors.invalidImUsername();
      if (this.options.userDb && !(await this.inUserDb(username, password))) throw errors.invalidCredentials();
      identities.push({ username, password, admin: this.isAdminUser(username, password), hasToken: false });
    }
    return identities;
  }

  private isAdminUser(username: string, password: string): boolean {
    return this.options.adminUsers.some((a) => a.username === username && a.password === password);
  }

  /** The stored form of a new owner. */
  async ownerRecord(identity: Identity): Promise<OwnerRecord> {
    const salt = this.saltFor(identity.username);
    return { username: identity.username, salt, hash: await this.hash(identity.password, salt), hasToken: identity.hasToken };
  }

  /** Whether any identity is an admin or matches any owner (§3.4). */
  isAuthorized(identities: readonly Identity[], owners: readonly OwnerRecord[]): Promise<boolean> {
    return this.authorizer(identities)(owners);
  }

  /**
   * isAuthorized for the owners of many infrastructures (GetInfrastructureList, GetStats): an
   * owner record that many infrastructures share is checked once, not once per infrastructure.
   */
  authorizer(identities: readonly Identity[]): (owners: readonly OwnerRecord[]) => Promise<boolean> {
    const checked = new Map<string, Promise<boolean>>();
    const matches = (index: number, owner: OwnerRecord): Promise<boolean> => {
      const key = `${index}\0${owner.salt}\0${owner.hash}`;
      let match = checked.get(key);
      if (!match) {
        match = this.hash(identities[index].password, owner.salt).then((hash) => safeEqual(hash, owner.hash));
        checked.set(key, match);
      }
      return match;
    };
    return async (owners) => {
      for (let index = 0; index < identities.length; index++) {
        const identity = identities[index];
        if (identity.admin) return true;
        for (const owner of owners) {
          if (owner.username !== identity.username || (owner.hasToken && !identity.hasToken)) continue;
          if (await matches(index, owner)) return true;
        }
      }
      return false;
    };
  }

  /** An HMAC of the username, remembered: every CreateInfrastructure needs its caller's. */
  private saltFor(username: string): string {
    let salt = this.salts.get(username);
    if (salt === undefined) {
      salt = createHmac("sha256", this.options.installationSecret).update(username).digest("base64url").slice(0, 22);
      remember(this.salts, username, salt);
    }
    return salt;
  }

  /** scrypt, remembered per (salt, password) by a digest so that plain passwords are not kept. */
  private async hash(password: string, salt: string): Promise<string> {
    const key = digest("sha256", `${salt}\0${password}`, "base64"); // one-shot: this runs on every call
    const known = this.hashes.get(key);
    if (known) return known;
    const hash = (await scrypt(password, salt, 32)).toString("base64");
    remember(this.hashes, key, hash);
    return hash;
  }

  private async inUserDb(username: string, password: string): Promise<boolean> {
    try {
      const db = JSON.parse(await readFile(this.options.userDb!, "utf8")) as { users?: { username?: unknown; password?: unknown }[] };
      return (db.users ?? []).some((u) => u.username === username && u.password === password);
    } catch {
      return false;
    }
  }
}

/** Adds to a cache of at most CACHE_LIMIT entries, forgetting the oldest. */
function remember(cache: Map<string, string>, key: string, value: string): void {
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function newInstallationSecret(): string {
  return randomBytes(32).toString("base64");
}
