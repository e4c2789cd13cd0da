// Runtime settings. Read lazily (never at import time) so `next build` needs no env.
import { parseOrigins, RATE_LIMIT_DEFAULTS } from "./auth-options.mjs";
import { parseTrustedProxies } from "./client-address";
import { hashConcurrency } from "./password-hashing.mjs";

export const MIN_SECRET_LENGTH = 32;

export class ConfigError extends Error {}

export interface AuthEnv {
  databaseUrl: string;
  secret: string;
  baseURL: string | undefined;
  trustedOrigins: string[];
  rateLimit: RateLimit;
  hashConcurrency: number;
}

export interface RateLimit {
  window: number;
  max: number;
  signInMax: number;
}

// Bounded settings: [variable, default, min, max]. The maxima keep a load test's allowance finite.
const BOUNDED: Record<string, [number, number, number]> = {
  BETTER_AUTH_RATE_LIMIT_WINDOW_SECONDS: [RATE_LIMIT_DEFAULTS.window, 1, 3600],
  BETTER_AUTH_RATE_LIMIT_MAX: [RATE_LIMIT_DEFAULTS.max, 1, 100_000],
  BETTER_AUTH_RATE_LIMIT_SIGN_IN_MAX: [RATE_LIMIT_DEFAULTS.signInMax, 1, 10_000],
  MAX_BODY_BYTES: [65536, 1024, 16 * 1024 * 1024],
  MAX_JSON_DEPTH: [32, 4, 512],
};

function bounded(env: NodeJS.ProcessEnv, name: string): number {
  const [fallback] = BOUNDED[name];
  const raw = env[name];
  return raw === undefined || raw === "" ? fallback : Number(raw);
}

export function rateLimitFromEnv(env: NodeJS.ProcessEnv = process.env): RateLimit {
  return {
    window: bounded(env, "BETTER_AUTH_RATE_LIMIT_WINDOW_SECONDS"),
    max: bounded(env, "BETTER_AUTH_RATE_LIMIT_MAX"),
    signInMax: bounded(env, "BETTER_AUTH_RATE_LIMIT_SIGN_IN_MAX"),
  };
}

/** Settings that are ignored, with the reason (logged at start). */
export function configWarnings(env: NodeJS.ProcessEnv = process.env): string[] {
  const rl = (env.BETTER_AUTH_RATE_LIMIT ?? "").toLowerCase();
  if (["off", "0", "false", "no"].includes(rl))
    return [
      `BETTER_AUTH_RATE_LIMIT=${env.BETTER_AUTH_RATE_LIMIT} is ignored: rate limiting is always on; ` +
        "raise BETTER_AUTH_RATE_LIMIT_SIGN_IN_MAX / BETTER_AUTH_RATE_LIMIT_MAX for load tests instead",
    ];
  return [];
}

/** Problems with the settings the server needs; each message names the variable. */
export function configProblems(env: NodeJS.ProcessEnv = process.env): string[] {
  const problems: string[] = [];
  const secret = env.BETTER_AUTH_SECRET ?? "";
  if (!secret) problems.push("BETTER_AUTH_SECRET is not set (it must be at least 32 characters)");
  else if (secret.length < MIN_SECRET_LENGTH)
    problems.push(`BETTER_AUTH_SECRET is too short (${secret.length} chars; it must be at least ${MIN_SECRET_LENGTH})`);
  if (!env.DATABASE_URL) problems.push("DATABASE_URL is not set (postgresql://user:pass@host:5432/db)");
  if (env.BETTER_AUTH_URL) {
    try {
      new URL(env.BETTER_AUTH_URL);
    } catch {
      problems.push(`BETTER_AUTH_URL is not a valid URL: ${JSON.stringify(env.BETTER_AUTH_URL)}`);
    }
  }
  for (const [name, [, min, max]] of Object.entries(BOUNDED)) {
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max)
      problems.push(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  for (const check of [() => parseTrustedProxies(env.TRUSTED_PROXIES), () => hashConcurrency(env)]) {
    try {
      check();
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (env.BACKEND_URL) {
    try {
      new URL(env.BACKEND_URL);
    } catch {
      problems.push(`BACKEND_URL is not a valid URL: ${JSON.stringify(env.BACKEND_URL)}`);
    }
  }
  return problems;
}

export function readAuthEnv(env: NodeJS.ProcessEnv = process.env): AuthEnv {
  const problems = configProblems(env).filter((p) => !p.startsWith("BACKEND_URL"));
  if (problems.length) throw new ConfigError(problems.join("; "));
  const baseURL = env.BETTER_AUTH_URL?.replace(/\/+$/, "") || undefined;
  const trustedOrigins = parseOrigins(env.BETTER_AUTH_TRUSTED_ORIGINS);
  if (baseURL) trustedOrigins.push(new URL(baseURL).origin);
  return {
    databaseUrl: env.DATABASE_URL as string,
    secret: env.BETTER_AUTH_SECRET as string,
    baseURL,
    trustedOrigins: Array.from(new Set(trustedOrigins)),
    rateLimit: rateLimitFromEnv(env),
    hashConcurrency: hashConcurrency(env).limit,
  };
}

/** Backend base URL without trailing slash (default for local development). */
export function backendUrl(env: NodeJS.ProcessEnv = process.env): string {
  return (env.BACKEND_URL || "http://127.0.0.1:8000").replace(/\/+$/, "");
}
