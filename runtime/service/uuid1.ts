import { randomBytes } from "node:crypto";

// Infrastructure ids are time-based UUIDs (version 1), as the reference's are.

const GREGORIAN_OFFSET_MS = 12219292800000n;
const node = randomBytes(6);
node[0] |= 0x01; // a random node id has the multicast bit set (RFC 4122 §4.5)
let clockSeq = randomBytes(2).readUInt16BE() & 0x3fff;
let lastTicks = 0n;

export function uuid1(now = Date.now()): string {
  let ticks = (BigInt(now) + GREGORIAN_OFFSET_MS) * 10000n;
  if (ticks <= lastTicks) {
    ticks = lastTicks + 1n;
    if (ticks - lastTicks > 10000n) clockSeq = (clockSeq + 1) & 0x3fff;
  }
  lastTicks = ticks;
  const hex = ticks.toString(16).padStart(15, "0");
  const timeLow = hex.slice(-8);
  const timeMid = hex.slice(-12, -8);
  const timeHigh = `1${hex.slice(0, 3)}`;
  const seq = (0x8000 | clockSeq).toString(16);
  return `${timeLow}-${timeMid}-${timeHigh}-${seq}-${node.toString("hex")}`;
}
