import { errors } from "./errors.ts";

// The `auth` parameter of IM calls (IM behaviour §3.1, §3.5): an array of credential structs.

/** One credential: `type`, optional `id`, and provider-specific keys (values are strings). */
export type AuthItem = Readonly<Record<string, unknown>> & { type?: unknown; id?: unknown };

export const IM_TYPE = "InfrastructureManager";

/** Credential types that are not clouds. */
const NON_CLOUD_TYPES = new Set([IM_TYPE, "VMRC", "AppDBIS", "EGIIS"]);

const AUTH_ID = /^[a-zA-Z_.][\w.-]*$/;

/** Checks the shape of `auth` and every item's `id`, as the reference's request layer does. */
export function parseAuth(auth: unknown): AuthItem[] {
  if (!Array.isArray(auth) || auth.some((item) => typeof item !== "object" || item === null || Array.isArray(item))) {
    throw errors.badAuthType();
  }
  for (const item of auth as AuthItem[]) {
    const id = item.id;
    if (id !== undefined && id !== null && id !== "" && !(typeof id === "string" && AUTH_ID.test(id))) {
      throw errors.authIdFormat(String(id));
    }
  }
  return auth as AuthItem[];
}

/** A cloud the caller has credentials for; `id` is the item's id or `<type><index>`. */
export interface CloudEntry {
  id: string;
  type: string;
  server: string;
  port: number;
  protocol: string;
  path: string;
  extra: Record<string, string>;
}

/** The caller's clouds, in auth order (§3.5). */
export function cloudList(auth: readonly AuthItem[]): { cloud: CloudEntry; credential: AuthItem }[] {
  const clouds: { cloud: CloudEntry; credential: AuthItem }[] = [];
  auth.forEach((item, index) => {
    const type = typeof item.type === "string" ? item.type : "";
    if (NON_CLOUD_TYPES.has(type)) return;
    const id = typeof item.id === "string" && item.id ? item.id : `${type}${index}`;
    clouds.push({ cloud: { id, type, ...parseHost(typeof item.host === "string" ? item.host : ""), extra: {} }, credential: item });
  });
  return clouds;
}

/** `scheme://server:port/path`; a host without a scheme has no protocol, a bad port is ignored. */
export function parseHost(host: string): Pick<CloudEntry, "server" | "port" | "protocol" | "path"> {
  const match = /^(?:([a-zA-Z][\w+.-]*):\/\/)?([^/:]*)(?::([^/]*))?(\/.*)?$/.exec(host);
  if (!match) return { server: host, port: -1, protocol: "", path: "" };
  const [, protocol = "", server = "", port = "", path = ""] = match;
  const portNumber = /^\d+$/.test(port) ? Number(port) : -1;
  return { server, port: portNumber, protocol, path };
}

/** The InfrastructureManager items of an auth array. */
export function imCredentials(auth: readonly AuthItem[]): AuthItem[] {
  return auth.filter((item) => item.type === IM_TYPE);
}

/** The credentials of one provider type, for a provider call (never stored). */
export function credentialsOfType(auth: readonly AuthItem[], type: string): AuthItem[] {
  return auth.filter((item) => item.type === type);
}
