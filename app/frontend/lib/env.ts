// Runtime settings. Read lazily (never at import time) so `next build` needs no env.
import { parseOrigins } from "./auth-options.mjs";

export const MIN_SECRET_LENGTH = 32;

export class ConfigError extends Error {}

export interface AuthEnv {
  databaseUrl: string;
  secret: string;
  baseURL: string | undefined;
  trustedOrigins: string[];
  rateLimit: boolean;
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
  const rl = (env.BETTER_AUTH_RATE_LIMIT ?? "on").toLowerCase();
  return {
    databaseUrl: env.DATABASE_URL as string,
    secret: env.BETTER_AUTH_SECRET as string,
    baseURL,
    trustedOrigins: Array.from(new Set(trustedOrigins)),
    rateLimit: !["off", "0", "false", "no"].includes(rl),
  };
}

/** Backend base URL without trailing slash (default for local development). */
export function backendUrl(env: NodeJS.ProcessEnv = process.env): string {
  return (env.BACKEND_URL || "http://127.0.0.1:8000").replace(/\/+$/, "");
}
