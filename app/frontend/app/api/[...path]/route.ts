// Everything under /api that is not auth/health/backend-health: proxied to ${BACKEND_URL}/api/...
import { jsonError, proxyToBackend } from "@/lib/proxy";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const RESERVED = new Set(["auth", "health", "backend-health"]);

async function handle(req: Request): Promise<Response> {
  const { pathname } = new URL(req.url);
  const first = pathname.split("/")[2] ?? "";
  if (RESERVED.has(first)) return jsonError(404, "not_found", `no route ${req.method} ${pathname}`);
  return proxyToBackend(req, pathname);
}

export const GET = handle;
export const POST = handle;
export const PUT = handle;
export const PATCH = handle;
export const DELETE = handle;
export const HEAD = handle;
export const OPTIONS = handle;
