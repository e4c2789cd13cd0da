// Better Auth options shared by the Next.js app (lib/auth.ts) and the migration command (migrate.mjs),
// so both always agree on the tables (user, session, account, verification, jwks).
// Plain ESM JavaScript on purpose: migrate.mjs runs with bare `node`, no TypeScript, no bundler.
import { jwt } from "better-auth/plugins/jwt";

/**
 * @param {{
 *   pool: import("pg").Pool,
 *   secret?: string,
 *   baseURL?: string,
 *   trustedOrigins?: string[],
 *   rateLimit?: boolean,
 * }} cfg
 */
export function buildAuthOptions(cfg) {
  return {
    appName: "Todo AI Chatbot",
    database: cfg.pool,
    secret: cfg.secret,
    baseURL: cfg.baseURL,
    basePath: "/api/auth",
    trustedOrigins: cfg.trustedOrigins ?? [],
    emailAndPassword: {
      enabled: true,
      autoSignIn: true,
      minPasswordLength: 8,
    },
    rateLimit: { enabled: cfg.rateLimit ?? true }, // in-memory, per process
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

/** Parse BETTER_AUTH_TRUSTED_ORIGINS ("a, b,c") into a list. */
export function parseOrigins(value) {
  return String(value ?? "")
    .split(",")
    .map((s) => s.trim().replace(/\/+$/, ""))
    .filter(Boolean);
}
