// Better Auth: sign-up/sign-in/sign-out/get-session, plus the JWT plugin's /token and /jwks.
import { getAuth } from "@/lib/auth";
import { ConfigError } from "@/lib/env";
import { jsonError } from "@/lib/proxy";

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
  return auth.handler(req);
}

export const GET = handle;
export const POST = handle;
export const PATCH = handle;
export const PUT = handle;
export const DELETE = handle;
