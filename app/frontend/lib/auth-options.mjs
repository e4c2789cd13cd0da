// Better Auth options shared by the Next.js app (lib/auth.ts) and the migration command (migrate.mjs),
// so both always agree on the tables (user, session, account, verification, jwks).
// Plain ESM JavaScript on purpose: migrate.mjs runs with bare `node`, no TypeScript, no bundler.
import { jwt } from "better-auth/plugins/jwt";
import { PostgresDialect } from "kysely";
import { limitedPasswordHashing } from "./password-hashing.mjs";

// The request header that carries the rate-limit key: set by app/api/auth from the socket address (or, from
// a trusted proxy, the forwarded-for address: lib/client-address.ts); any copy sent by a client is replaced.
export const CLIENT_KEY_HEADER = "x-todo-client-key";

// Better Auth's own defaults (100 requests per 10 s; sign-in/sign-up 3 per 10 s), made explicit and configurable.
export const RATE_LIMIT_DEFAULTS = { window: 10, max: 100, signInMax: 5 };

/**
 * @param {{
 *   pool: import("pg").Pool,
 *   secret?: string,
 *   baseURL?: string,
 *   trustedOrigins?: string[],
 *   rateLimit?: { window: number, max: number, signInMax: number },
 *   hashConcurrency?: number,
 * }} cfg
 */
export function buildAuthOptions(cfg) {
  return {
    appName: "Todo AI Chatbot",
    // Not the bare pool: Better Auth 1.7 then runs sign-up in one transaction and hashes the password inside it,
    // so each sign-up waiting for a hashing slot holds a pool connection; a burst of 50 starved the pool (connect
    // timeouts, 500s) and the session lookups of every proxied request with it. Without transactions (as in 1.3)
    // the hash runs before any connection is taken.
    database: { dialect: new PostgresDialect({ pool: cfg.pool }), type: "postgres", transaction: false },
    secret: cfg.secret,
    baseURL: cfg.baseURL,
    basePath: "/api/auth",
    trustedOrigins: cfg.trustedOrigins ?? [],
    emailAndPassword: {
      enabled: true,
      autoSignIn: true,
      minPasswordLength: 8,
      maxPasswordLength: 128,
      password: limitedPasswordHashing(cfg.hashConcurrency ?? 1),
    },
    rateLimit: rateLimitOptions(cfg.rateLimit ?? RATE_LIMIT_DEFAULTS),
    advanced: {
      ipAddress: { ipAddressHeaders: [CLIENT_KEY_HEADER] },
      // Better Auth 1.7 checks the schema on first use and keeps a mismatch for the life of the process (only a
      // migration run in that same process clears it). The chart's migration Job runs post-install, after the pods
      // start: one auth request in between would leave that pod refusing every auth request until it restarts.
      // The Job owns the schema; a column still missing fails its own query, and recovers once migrated.
      database: { validateSchema: false },
    },
    telemetry: { enabled: false },
    plugins: [
      jwt({
        // EdDSA / Ed25519 is the plugin default; spelled out because the backend verifies it via /api/auth/jwks.
        jwks: { keyPairConfig: { alg: "EdDSA", crv: "Ed25519" } },
        jwt: { expirationTime: "15m" },
      }),
    ],
  };
}

/**
 * Always on, in-memory per process (per pod), keyed by client address + path. The sign-in family gets its own,
 * stricter allowance; load tests raise the allowances (bounded), they never switch limiting off.
 */
export function rateLimitOptions({ window, max, signInMax }) {
  const strict = { window, max: signInMax };
  return {
    enabled: true,
    window,
    max,
    customRules: {
      "/sign-in/*": strict,
      "/sign-up/*": strict,
      "/change-password": strict,
      "/change-email": strict,
      "/forget-password": strict,
      "/reset-password": strict,
    },
  };
}

/** Parse BETTER_AUTH_TRUSTED_ORIGINS ("a, b,c") into a list. */
export function parseOrigins(value) {
  return String(value ?? "")
    .split(",")
    .map((s) => s.trim().replace(/\/+$/, ""))
    .filter(Boolean);
}
