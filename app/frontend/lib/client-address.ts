// Who is calling: the key for rate limiting (and the X-Forwarded-For the backend sees).
//
// The key is the TCP peer address of the connection, stamped on every request by the server's entry point
// (scripts/server-entry.cjs: SOCKET_ADDRESS_HEADER, replacing any copy a client sent). X-Forwarded-For is
// believed only when that peer is a configured proxy (TRUSTED_PROXIES: addresses and CIDRs, comma separated;
// default none): then the key is the right-most address in it that is not itself a trusted proxy. Anyone else
// can write any X-Forwarded-For, so it never moves their key.
//
// Behind a NodePort, kube-proxy may rewrite the source address to the node's (externalTrafficPolicy: Cluster):
// every client then shares the node's key and the limits apply to them together. That errs on the safe side;
// to tell clients apart, put a proxy that sets X-Forwarded-For in front and list its address in TRUSTED_PROXIES,
// or use externalTrafficPolicy: Local, which keeps the client's address.
import { isIP } from "node:net";

export const SOCKET_ADDRESS_HEADER = "x-todo-socket-address";
const UNKNOWN = "0.0.0.0"; // no stamped address (e.g. `next dev`): one shared key, the safe side

type Cidr = { bytes: number[]; bits: number };

function toBytes(address: string): number[] | null {
  const kind = isIP(address);
  if (kind === 4) return address.split(".").map(Number);
  if (kind !== 6) return null;
  let [head, tail] = address.includes("::") ? address.split("::") : [address, null];
  const parse = (part: string | null): number[] => {
    if (!part) return [];
    const out: number[] = [];
    for (const group of part.split(":")) {
      if (group.includes(".")) out.push(...(toBytes(group) ?? []));
      else out.push(parseInt(group, 16) >> 8, parseInt(group, 16) & 255);
    }
    return out;
  };
  const h = parse(head);
  const t = parse(tail);
  if (tail === null) return h;
  return [...h, ...new Array(16 - h.length - t.length).fill(0), ...t];
}

/** "::ffff:10.0.0.1" -> "10.0.0.1"; strips an IPv6 zone; anything that is not an IP -> null. */
export function normalizeAddress(raw: string | null | undefined): string | null {
  if (!raw) return null;
  let address = raw.trim().replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const mapped = address.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i);
  if (mapped) address = mapped[1];
  return isIP(address) ? address : null;
}

/** Parse TRUSTED_PROXIES ("10.0.0.0/8, 127.0.0.1, fd00::/8"); throws naming the first bad entry. */
export function parseTrustedProxies(value: string | undefined): Cidr[] {
  const out: Cidr[] = [];
  for (const entry of String(value ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    const [addr, bitsText] = entry.split("/");
    const normal = normalizeAddress(addr);
    const bytes = normal ? toBytes(normal) : null;
    const max = bytes ? bytes.length * 8 : 0;
    const bits = bitsText === undefined ? max : Number(bitsText);
    if (!bytes || !Number.isInteger(bits) || bits < 0 || bits > max)
      throw new Error(`TRUSTED_PROXIES: ${JSON.stringify(entry)} is not an IP address or CIDR`);
    out.push({ bytes, bits });
  }
  return out;
}

function inCidr(address: string, cidr: Cidr): boolean {
  const bytes = toBytes(address);
  if (!bytes || bytes.length !== cidr.bytes.length) return false;
  for (let bit = 0; bit < cidr.bits; bit++) {
    const i = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if ((bytes[i] & mask) !== (cidr.bytes[i] & mask)) return false;
  }
  return true;
}

let cached: { raw: string | undefined; cidrs: Cidr[] } | null = null;
function trustedProxies(): Cidr[] {
  const raw = process.env.TRUSTED_PROXIES;
  if (!cached || cached.raw !== raw) cached = { raw, cidrs: parseTrustedProxies(raw) };
  return cached.cidrs;
}

/** The client's address as this server can vouch for it (see the top of this file). */
export function clientAddress(headers: Headers, trusted: Cidr[] = trustedProxies()): string {
  const peer = normalizeAddress(headers.get(SOCKET_ADDRESS_HEADER));
  if (!peer) return UNKNOWN;
  const isTrusted = (address: string) => trusted.some((cidr) => inCidr(address, cidr));
  if (!isTrusted(peer)) return peer;
  const hops = (headers.get("x-forwarded-for") ?? "").split(",").map((s) => normalizeAddress(s));
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i];
    if (hop === null) return peer; // a hop we cannot read: stop at what we can vouch for
    if (!isTrusted(hop)) return hop;
  }
  return peer;
}
