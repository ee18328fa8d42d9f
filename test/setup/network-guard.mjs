// Loaded before every test file and in every worker thread (see the `test` script; plain
// JavaScript because worker threads start without TypeScript support): any connection that is
// not to loopback fails, so no test can reach the outside or dial a fake address such as the
// Dummy provider's 10.0.0.1. Tests that create hosts in their own network namespaces register
// them with `allowTestHost`.
import net from "node:net";

const allowedHosts = new Set();

/** @param {string} address */
export function allowTestHost(address) {
  allowedHosts.add(address);
}

/** @param {string} host */
export function isAllowedAddress(host) {
  if (allowedHosts.has(host)) return true;
  if (host === "localhost" || host === "::1" || host === "[::1]") return true;
  if (net.isIPv4(host)) return host.startsWith("127.");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return !!mapped && mapped[1].startsWith("127.");
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
