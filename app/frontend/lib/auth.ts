import { betterAuth } from "better-auth";
import { Pool } from "pg";
import { buildAuthOptions } from "./auth-options.mjs";
import { readAuthEnv } from "./env";

function createAuth() {
  const env = readAuthEnv();
  const pool = new Pool({
    connectionString: env.databaseUrl,
    max: Number(process.env.AUTH_DB_POOL_SIZE || 10),
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
  });
  pool.on("error", (err) => console.error("[auth] postgres pool error:", err.message));
  return betterAuth(
    buildAuthOptions({
      pool,
      secret: env.secret,
      baseURL: env.baseURL,
      trustedOrigins: env.trustedOrigins,
      rateLimit: env.rateLimit,
      hashConcurrency: env.hashConcurrency,
    }),
  );
}

export type Auth = ReturnType<typeof createAuth>;

const holder = globalThis as unknown as { __todoAuth?: Auth };

/** The Better Auth instance, created on first use (never during `next build`). */
export function getAuth(): Auth {
  if (!holder.__todoAuth) holder.__todoAuth = createAuth();
  return holder.__todoAuth;
}

// Short-lived cache: cookie -> JWT, so a burst of proxied calls does not look up the session and sign a token
// each time. Kept well under the JWT lifetime (15 min); AUTH_TOKEN_CACHE_SECONDS=0 turns it off.
const TOKEN_CACHE_MS = Number(process.env.AUTH_TOKEN_CACHE_SECONDS ?? 30) * 1000;
const TOKEN_CACHE_MAX = 5000;
const tokenCache = new Map<string, { token: string; until: number }>();

function sessionCookieKey(cookie: string): string | null {
  // Only the session cookie identifies the caller; other cookies must not split or share entries.
  const m = cookie.match(/(?:^|;\s*)((?:__Secure-)?better-auth\.session_token)=([^;]*)/);
  return m ? `${m[1]}=${m[2]}` : null;
}

/** JWT for the session carried by these request headers (cookie), or null when there is none. */
export async function tokenForRequest(headers: Headers): Promise<string | null> {
  const cookie = headers.get("cookie");
  if (!cookie) return null;
  const key = sessionCookieKey(cookie);
  if (!key) return null;
  const now = Date.now();
  const hit = TOKEN_CACHE_MS > 0 ? tokenCache.get(key) : undefined;
  if (hit && hit.until > now) return hit.token;
  let token: string | null = null;
  try {
    const res = await getAuth().api.getToken({ headers: new Headers({ cookie }) });
    token = res?.token ?? null;
  } catch (err) {
    const status = (err as { statusCode?: number })?.statusCode;
    if (status !== 401) throw err;
    // Better Auth's session middleware turns any failure to read the session into 401, a database that does not
    // answer included: the caller would be proxied without a token and look signed out. getSession itself
    // throws when the store fails (and answers null for no session), so ask it before calling the cookie dead.
    const session = await getAuth().api.getSession({ headers: new Headers({ cookie }) });
    if (session) {
      // The store answers again and the session is valid: the 401 was the outage ending. One more try; a
      // valid session that still gets no token is the store's failure (the proxy's 503), never "signed out".
      const again = await getAuth().api.getToken({ headers: new Headers({ cookie }) });
      token = again?.token ?? null;
      if (!token) throw new Error("the session is valid but no token could be issued");
    }
  }
  if (TOKEN_CACHE_MS > 0) {
    if (token) {
      if (tokenCache.size >= TOKEN_CACHE_MAX) {
        for (const [k, v] of tokenCache) if (v.until <= now) tokenCache.delete(k);
        if (tokenCache.size >= TOKEN_CACHE_MAX) tokenCache.clear();
      }
      tokenCache.set(key, { token, until: now + TOKEN_CACHE_MS });
    } else {
      tokenCache.delete(key);
    }
  }
  return token;
}
