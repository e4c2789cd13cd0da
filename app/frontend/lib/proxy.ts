// Streams a request to the backend and the answer back. Used by app/api/[...path] and app/mcp.
import { Agent, fetch as backendFetch } from "undici";
import { tokenForRequest } from "./auth";
import { clientAddress } from "./client-address";
import { backendUrl } from "./env";
import { jsonError } from "./json-error";
import { readGuardedBody } from "./request-guard";

export { jsonError };

// While no backend answers (none Ready, restarting, unreachable): how long to tell clients to wait.
export const BACKEND_RETRY_AFTER_S = 5;

// One connection per request to the backend. With keep-alive, kube-proxy (which balances
// connections, not requests) would pin this pod's traffic to one backend replica, so new
// replicas started by the HPA would get nothing and a conversation would never move.
// An in-cluster connect takes milliseconds, but the first packet of a connection waits for the NetworkPolicy
// agent's verdict, which took over 1 s while a rollout's new pods held both cores (a 1 s timeout failed four
// attempts in a row in a rehearsal); 3 s bounds one that goes nowhere (a stale endpoint's ARP).
const backendDispatcher = new Agent({ pipelining: 0, connect: { timeout: 3_000 } });

// Errors raised before a single byte of the request left this pod: retrying cannot run anything twice,
// and each retry is a new connection, so the Service picks an endpoint again. They happen while an
// endpoint is going away and a node's kube-proxy has not yet dropped it (measured on three kind nodes:
// one EHOSTUNREACH after 3 s among 4 backend replicas during a pod kill).
const CONNECT_ERRORS = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT"]);
// Three attempts in all: worst case 3 x 3 s + 0.5 s of pauses, then the 503 with Retry-After (a Service with no
// Ready endpoint whose connects hang: every backend pod unready while the database is away).
const CONNECT_RETRY_DELAYS_MS = [100, 400];

function connectError(err: unknown): boolean {
  const code = (err as { cause?: { code?: string } })?.cause?.code;
  return code !== undefined && CONNECT_ERRORS.has(code);
}

// Request headers passed to the backend as they came (Authorization handled separately).
const FORWARD_REQUEST_HEADERS = [
  "content-type",
  "accept",
  "mcp-session-id",
  "mcp-protocol-version",
  "last-event-id",
  "x-request-id",
];

// Response headers passed back to the caller.
const FORWARD_RESPONSE_HEADERS = [
  "content-type",
  "x-served-by",
  "x-request-id",
  "mcp-session-id",
  "mcp-protocol-version",
  "cache-control",
  "location",
  "www-authenticate",
  "retry-after",
];

const CONNECT_TIMEOUT_MS = Number(process.env.BACKEND_TIMEOUT_MS || 120_000);

export function backendUnavailable(reason: string) {
  return jsonError(503, "backend_unavailable", reason, { retry_after_seconds: BACKEND_RETRY_AFTER_S },
    { "retry-after": String(BACKEND_RETRY_AFTER_S) });
}

function describeFetchError(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return `no answer within ${CONNECT_TIMEOUT_MS} ms`;
  const code = e?.cause?.code;
  const msg = e?.cause?.message || e?.message || String(err);
  return code ? `${code}: ${msg}` : msg;
}

/**
 * Forward `req` to `${BACKEND_URL}${path}${query}`.
 * Authorization: the caller's header if present, else the session user's JWT (from the cookie), else none.
 */
export async function proxyToBackend(req: Request, path: string): Promise<Response> {
  const incoming = new URL(req.url);
  const base = backendUrl();
  const target = `${base}${path}${incoming.search}`;

  const headers = new Headers();
  for (const name of FORWARD_REQUEST_HEADERS) {
    const v = req.headers.get(name);
    if (v !== null) headers.set(name, v);
  }
  // The client as this server vouches for it, not whatever X-Forwarded-For the caller wrote.
  headers.set("x-forwarded-for", clientAddress(req.headers));

  const authz = req.headers.get("authorization");
  if (authz) {
    headers.set("authorization", authz);
  } else {
    try {
      const token = await tokenForRequest(req.headers);
      if (token) headers.set("authorization", `Bearer ${token}`);
    } catch (err) {
      console.error("[proxy] could not get a token for the session:", err);
      return jsonError(503, "auth_unavailable", `could not read the session: ${describeFetchError(err)}`,
        { retry_after_seconds: BACKEND_RETRY_AFTER_S }, { "retry-after": String(BACKEND_RETRY_AFTER_S) });
    }
  }

  const method = req.method.toUpperCase();
  // Bounded and checked here, before forwarding: an oversized or absurdly nested body is the caller's 413/400,
  // never a backend connection cut mid-upload (which used to surface as a 502).
  let body: Uint8Array | null = null;
  if (!["GET", "HEAD"].includes(method)) {
    const guarded = await readGuardedBody(req);
    if ("refuse" in guarded) return guarded.refuse;
    body = guarded.body;
  }
  const hasBody = body !== null;

  // Abort if the backend does not answer (headers) in time, or when the caller goes away.
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new DOMException("timeout", "TimeoutError")), CONNECT_TIMEOUT_MS);
  const onClientAbort = () => ctl.abort(req.signal.reason);
  req.signal?.addEventListener?.("abort", onClientAbort, { once: true });

  const send = async () => (await backendFetch(target, {
    dispatcher: backendDispatcher,
    method,
    headers,
    body: hasBody ? body : undefined,
    redirect: "manual",
    signal: ctl.signal,
    cache: "no-store",
  } as never)) as unknown as Response;

  let upstream: Response;
  try {
    let attempt = 0;
    for (;;) {
      try {
        upstream = await send();
        break;
      } catch (err) {
        const retry = connectError(err) && attempt < CONNECT_RETRY_DELAYS_MS.length && !ctl.signal.aborted;
        if (!retry) throw err;
        // Logged: a connect that fails or hangs while the backend has Ready pods is a network fault worth finding
        // (lost SYNs cost 1-3 s each, and the caller sees only a slow answer).
        console.warn(`[proxy] backend connect failed (${describeFetchError(err)}); retry ${attempt + 1} of ${CONNECT_RETRY_DELAYS_MS.length}`);
        await new Promise((resolve) => setTimeout(resolve, CONNECT_RETRY_DELAYS_MS[attempt++]));
      }
    }
  } catch (err) {
    clearTimeout(timer);
    if (req.signal?.aborted) return jsonError(499, "client_closed", "the caller went away");
    // No backend answered (no Ready pod behind the Service, refused, reset, timed out): temporary, say when to retry.
    return backendUnavailable(`backend ${base} unreachable: ${describeFetchError(err)}`);
  }
  clearTimeout(timer);

  const out = new Headers();
  for (const name of FORWARD_RESPONSE_HEADERS) {
    const v = upstream.headers.get(name);
    if (v !== null) out.set(name, v);
  }
  // A redirect to the backend's own address would leak an internal URL: make it relative.
  const loc = out.get("location");
  if (loc && loc.startsWith(base)) out.set("location", loc.slice(base.length) || "/");
  if (!out.has("cache-control")) out.set("cache-control", "no-store");
  if (upstream.status === 503 && !out.has("retry-after")) out.set("retry-after", String(BACKEND_RETRY_AFTER_S));
  const noBody = method === "HEAD" || upstream.status === 204 || upstream.status === 304;
  return new Response(noBody ? null : upstream.body, { status: upstream.status, headers: out });
}
