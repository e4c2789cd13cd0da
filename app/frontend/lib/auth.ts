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

/** JWT for the session carried by these request headers (cookie), or null when there is none. */
export async function tokenForRequest(headers: Headers): Promise<string | null> {
  const cookie = headers.get("cookie");
  if (!cookie) return null;
  try {
    const res = await getAuth().api.getToken({ headers: new Headers({ cookie }) });
    return res?.token ?? null;
  } catch (err) {
    const status = (err as { statusCode?: number; status?: unknown })?.statusCode;
    if (status === 401) return null;
    throw err;
  }
}
