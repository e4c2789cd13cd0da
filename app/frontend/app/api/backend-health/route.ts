// Backend readiness as seen from the frontend: proxies GET ${BACKEND_URL}/readyz.
import { proxyToBackend } from "@/lib/proxy";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function GET(req: Request) {
  // Health checks carry no credentials; drop the cookie so no session lookup happens.
  const bare = new Request(new URL(req.url).origin + "/api/backend-health", { method: "GET", signal: req.signal });
  return proxyToBackend(bare, "/readyz");
}
