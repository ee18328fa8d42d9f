// Loaded before every test file and in every worker thread (see the `test` script; plain
// JavaScript because worker threads start without TypeScript support): any connection that is
// not to loopback fails, so no test can reach the outside or dial a fake address such as the
// Dummy provider's 10.0.0.1. Tests allow the hosts they create in their own network namespaces
// with `allowTestHost` (this thread only) or `allowTestNetwork` (also worker threads and child
// processes started afterwards).
import net from "node:net";

/**
 * Comma-separated IPv4 CIDRs that connections may reach. An environment variable because worker
 * threads copy the environment when they start and child processes inherit it; it is read at
 * every check, so networks allowed after this module loaded count too.
 */
export const TEST_NETWORKS_ENV = "INFRA_MANAGER_TEST_HOSTS";

const allowedHosts = new Set();

/** @param {string} address */
export function allowTestHost(address) {
  allowedHosts.add(address);
}

/** @param {string} cidr */
function parseCidr(cidr) {
  const [address, prefix, ...rest] = cidr.split("/");
  const bits = Number(prefix);
  if (rest.length > 0 || !net.isIPv4(address) || !/^\d{1,2}$/.test(prefix ?? "") || bits > 32) {
    throw new Error(`network guard: ${JSON.stringify(cidr)} in ${TEST_NETWORKS_ENV} is not an IPv4 CIDR such as 10.213.4.0/24`);
  }
  return { address, bits };
}

/** @param {string | undefined} value */
function networksIn(value) {
  return (value ?? "").split(",").map((cidr) => cidr.trim()).filter(Boolean);
}

/**
 * Allows connections to `cidr` here and in worker threads and child processes started from now on.
 * @param {string} cidr
 */
export function allowTestNetwork(cidr) {
  parseCidr(cidr);
  const networks = networksIn(process.env[TEST_NETWORKS_ENV]);
  if (!networks.includes(cidr)) process.env[TEST_NETWORKS_ENV] = [...networks, cidr].join(",");
}

/** @param {string} cidr */
export function revokeTestNetwork(cidr) {
  const networks = networksIn(process.env[TEST_NETWORKS_ENV]).filter((network) => network !== cidr);
  if (networks.length > 0) process.env[TEST_NETWORKS_ENV] = networks.join(",");
  else delete process.env[TEST_NETWORKS_ENV];
}

// Parsed once per distinct value of the variable rather than at every connection.
let cachedNetworks = { value: /** @type {string | undefined} */ (undefined), list: new net.BlockList() };

function allowedNetworks() {
  const value = process.env[TEST_NETWORKS_ENV];
  if (value !== cachedNetworks.value) {
    const list = new net.BlockList();
    for (const cidr of networksIn(value)) {
      const { address, bits } = parseCidr(cidr);
      list.addSubnet(address, bits, "ipv4");
    }
    cachedNetworks = { value, list };
  }
  return cachedNetworks.list;
}

/** @param {string} host */
export function isAllowedAddress(host) {
  if (allowedHosts.has(host)) return true;
  if (host === "localhost" || host === "::1" || host === "[::1]") return true;
  // BlockList matches IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) against IPv4 subnets too.
  if (net.isIPv4(host)) return host.startsWith("127.") || allowedNetworks().check(host, "ipv4");
  if (!net.isIPv6(host)) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return (!!mapped && mapped[1].startsWith("127.")) || allowedNetworks().check(host, "ipv6");
}

const originalConnect = net.Socket.prototype.connect;

net.Socket.prototype.connect = function guardedConnect(...args) {
  const [first, second] = args;
  const options = Array.isArray(first) ? first[0] : first;
  let host;
  if (typeof options === "object" && options !== null) host = options.path ? undefined : (options.host ?? "localhost");
  else if (typeof options === "number") host = typeof second === "string" ? second : "localhost";
  if (host !== undefined && !isAllowedAddress(host)) {
    throw new Error(`network guard: test tried to connect to ${host}; only loopback and registered test hosts are allowed`);
  }
  return originalConnect.apply(this, args);
};
