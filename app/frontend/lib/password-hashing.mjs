// Password hashing with a concurrency limit sized to the pod's memory.
// Better Auth hashes with scrypt (N=16384, r=16): each hash in flight holds ~32 MiB, and scryptAsync interleaves
// on the event loop, so an unbounded burst of sign-ups allocates 32 MiB per request at once and gets the pod
// OOM-killed. Hashes beyond the limit wait in line (FIFO); the CPU is one event loop either way, so the line
// costs latency, not throughput.
import { readFileSync } from "node:fs";
import { hashPassword, verifyPassword } from "better-auth/crypto";

const MiB = 1024 * 1024;
// What the server needs besides hashing (Next + Better Auth + pg, measured ~150 MiB RSS), with headroom.
export const RESERVED_BYTES = 192 * MiB;
// One scrypt hash (32 MiB working array) plus the garbage it leaves until the next GC.
export const BYTES_PER_HASH = 64 * MiB;
export const MAX_HASH_CONCURRENCY = 16;
const UNLIMITED_DEFAULT = 4;

/** The cgroup memory limit in bytes (v2 memory.max, else v1 memory.limit_in_bytes), or null when none is set. */
export function cgroupMemoryLimit(files = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]) {
  for (const file of files) {
    let text;
    try {
      text = readFileSync(file, "utf8").trim();
    } catch {
      continue;
    }
    if (text === "max") return null;
    const bytes = Number(text);
    if (Number.isFinite(bytes) && bytes > 0 && bytes < 2 ** 52) return bytes; // v1 says "unlimited" with ~2^63
    return null;
  }
  return null;
}

/**
 * PASSWORD_HASH_CONCURRENCY when set (1..16), else derived from the cgroup memory limit:
 * floor((limit - 192 MiB) / 64 MiB), at least 1 and at most 16 (512 MiB -> 5); 4 without a limit.
 * @returns {{ limit: number, source: string }}
 */
export function hashConcurrency(env = process.env, memoryLimit = cgroupMemoryLimit()) {
  const raw = env.PASSWORD_HASH_CONCURRENCY;
  if (raw !== undefined && raw !== "") {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > MAX_HASH_CONCURRENCY)
      throw new Error(`PASSWORD_HASH_CONCURRENCY must be an integer from 1 to ${MAX_HASH_CONCURRENCY}, got ${JSON.stringify(raw)}`);
    return { limit: n, source: "PASSWORD_HASH_CONCURRENCY" };
  }
  if (memoryLimit === null) return { limit: UNLIMITED_DEFAULT, source: "default (no cgroup memory limit)" };
  const n = Math.floor((memoryLimit - RESERVED_BYTES) / BYTES_PER_HASH);
  return {
    limit: Math.min(MAX_HASH_CONCURRENCY, Math.max(1, n)),
    source: `cgroup memory limit ${Math.round(memoryLimit / MiB)} MiB`,
  };
}

/** A counting semaphore: run(fn) waits for a free slot, FIFO. */
export class Semaphore {
  constructor(limit) {
    this.limit = limit;
    this.active = 0;
    this.waiting = [];
    this.peak = 0;
  }

  async run(fn) {
    if (this.active >= this.limit) await new Promise((resolve) => this.waiting.push(resolve));
    else this.active++;
    this.peak = Math.max(this.peak, this.active);
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the slot passes straight to the next in line
      else this.active--;
    }
  }
}

/** Better Auth's `emailAndPassword.password` with its own scrypt hashing, at most `limit` at once. */
export function limitedPasswordHashing(limit) {
  const slots = new Semaphore(limit);
  return {
    hash: (password) => slots.run(() => hashPassword(password)),
    verify: (data) => slots.run(() => verifyPassword(data)),
  };
}
