// Better Auth: sign-up/sign-in/sign-out/get-session, plus the JWT plugin's /token and /jwks.
// Before Better Auth sees a request: its body is bounded (413/400, lib/request-guard.ts) and it carries the
// rate-limit key this server vouches for (lib/client-address.ts), replacing any such header the client sent.
import { CLIENT_KEY_HEADER } from "@/lib/auth-options.mjs";
import { getAuth } from "@/lib/auth";
import { clientAddress } from "@/lib/client-address";
import { ConfigError } from "@/lib/env";
import { jsonError } from "@/lib/json-error";
import { readGuardedBody } from "@/lib/request-guard";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

async function handle(req: Request): Promise<Response> {
  let auth;
  try {
    auth = getAuth(); // created on first request, never at build time
  } catch (err) {
    if (err instanceof ConfigError) return jsonError(500, "misconfigured", err.message);
    throw err;
  }
  const method = req.method.toUpperCase();
  let body: Uint8Array | null = null;
  if (!["GET", "HEAD"].includes(method)) {
    const guarded = await readGuardedBody(req);
    if ("refuse" in guarded) return guarded.refuse;
    body = guarded.body;
  }
  const headers = new Headers(req.headers);
  headers.set(CLIENT_KEY_HEADER, clientAddress(req.headers));
  const res = await auth.handler(new Request(req.url, { method, headers, body: body as BodyInit | null, signal: req.signal }));
  if (res.status !== 429) return res;
  // Better Auth's 429 says when in a non-standard X-Retry-After and no content type: answer like every other refusal.
  const retryAfter = res.headers.get("x-retry-after") ?? "10";
  return jsonError(429, "rate_limited", "too many requests from this client; try again later",
    { retry_after_seconds: Number(retryAfter) }, { "retry-after": retryAfter });
}

export const GET = handle;
export const POST = handle;
export const PATCH = handle;
export const PUT = handle;
export const DELETE = handle;
