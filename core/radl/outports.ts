// The `outports` feature of networks (spec §4.3.1): `[cidr-]remote[/proto][-local[/proto]]` or
// `[cidr-]init:end[/proto]`, comma-separated.

export type PortProtocol = "tcp" | "udp" | "icmp";

export interface Outport {
  remoteCidr: string;
  /** The remote (public) port, or the first port of a range. */
  remotePort: number;
  /** The local (VM) port, or the last port of a range. */
  localPort: number;
  protocol: PortProtocol;
  /** `INIT:END`: ports opened as they are, no mapping. */
  range: boolean;
}

const PORT = "([0-9]+)";
const PROTO = "(?:/(tcp|udp|icmp))?";
const CIDR = "([0-9]{1,3}(?:\\.[0-9]{1,3}){3}/[0-9]{1,2})";
const MAPPING = new RegExp(`^(?:${CIDR}-)?${PORT}${PROTO}(?:-${PORT}${PROTO})?$`);
const RANGE = new RegExp(`^(?:${CIDR}-)?${PORT}:${PORT}${PROTO}$`);

export const DEFAULT_CIDR = "0.0.0.0/0";

/** Parses an `outports` value; throws an Error naming the bad entry. */
export function parseOutports(value: string): Outport[] {
  return value.split(",").map(parseEntry);
}

function parseEntry(entry: string): Outport {
  const range = RANGE.exec(entry);
  if (range) {
    const [, cidr, init, end, proto] = range;
    return { remoteCidr: cidr ?? DEFAULT_CIDR, remotePort: Number(init), localPort: Number(end), protocol: (proto as PortProtocol) ?? "tcp", range: true };
  }
  const mapping = MAPPING.exec(entry);
  if (!mapping) throw new Error(`Invalid outports entry '${entry}'`);
  const [, cidr, remote, remoteProto, local, localProto] = mapping;
  if (remoteProto && localProto && remoteProto !== localProto) throw new Error(`Different protocols in outports entry '${entry}'`);
  return {
    remoteCidr: cidr ?? DEFAULT_CIDR,
    remotePort: Number(remote),
    localPort: Number(local ?? remote),
    protocol: ((remoteProto ?? localProto) as PortProtocol) ?? "tcp",
    range: false,
  };
}
