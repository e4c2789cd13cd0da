// MCP (streamable HTTP) proxied to ${BACKEND_URL}/mcp, streaming both ways.
import { proxyToBackend } from "@/lib/proxy";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

async function handle(req: Request): Promise<Response> {
  return proxyToBackend(req, "/mcp");
}

export const GET = handle;
export const POST = handle;
export const DELETE = handle;
export const OPTIONS = handle;
