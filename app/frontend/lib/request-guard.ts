// Bounds on what a request may carry, applied before anything parses or forwards it.
import { jsonError } from "./json-error";

const DEFAULT_MAX_BODY_BYTES = 65536; // the backend's MAX_BODY_BYTES default
const DEFAULT_MAX_JSON_DEPTH = 32; // the backend's MAX_JSON_DEPTH default

function intEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  return Number.isInteger(n) && n >= min && n <= max ? n : fallback; // instrumentation refuses bad values at start
}

export const maxBodyBytes = () => intEnv("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1024, 16 * 1024 * 1024);
export const maxJsonDepth = () => intEnv("MAX_JSON_DEPTH", DEFAULT_MAX_JSON_DEPTH, 4, 512);

/** True when a JSON text nests arrays/objects deeper than `limit` (brackets inside strings do not count). */
export function jsonDepthExceeds(body: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * Read the body, at most MAX_BODY_BYTES of it, and check a JSON body's nesting.
 * Returns the bytes (null for no body), or the JSON error Response to answer instead (413 / 400).
 */
export async function readGuardedBody(req: Request): Promise<{ body: Uint8Array | null } | { refuse: Response }> {
  const limit = maxBodyBytes();
  const declared = req.headers.get("content-length");
  if (declared !== null && !/^\d+$/.test(declared.trim()))
    return { refuse: jsonError(400, "bad_request", "invalid Content-Length header") };
  const tooLarge = () => ({ refuse: jsonError(413, "body_too_large", `request body over ${limit} bytes`, { limit }) });
  if (declared !== null && Number(declared) > limit) return tooLarge();
  if (req.body === null) return { body: null };
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return tooLarge();
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  const type = (req.headers.get("content-type") ?? "").toLowerCase();
  if (/^application\/([a-z0-9.+-]*\+)?json\b/.test(type.trim()) && jsonDepthExceeds(body, maxJsonDepth()))
    return { refuse: jsonError(400, "json_too_deep", `JSON nested deeper than ${maxJsonDepth()} levels`) };
  return { body: size ? body : null };
}
