// The server's start-up checks (called from instrumentation.ts, Node.js runtime only): refuse to start on bad
// settings, and say which limits are in force.
import { configProblems, configWarnings, rateLimitFromEnv } from "./env";
import { hashConcurrency } from "./password-hashing.mjs";

export function checkSettingsAtStartup(): void {
  const problems = configProblems();
  if (problems.length) {
    for (const p of problems) console.error(`[todo-frontend] configuration error: ${p}`);
    console.error("[todo-frontend] refusing to start");
    process.exit(1);
  }
  for (const w of configWarnings()) console.warn(`[todo-frontend] ${w}`);
  const rl = rateLimitFromEnv();
  const hashing = hashConcurrency();
  console.log(
    `[todo-frontend] auth rate limit: ${rl.max} requests per ${rl.window} s per client, ` +
      `${rl.signInMax} for sign-in/sign-up; trusted proxies: ${process.env.TRUSTED_PROXIES || "none"}`,
  );
  console.log(`[todo-frontend] password hashing: at most ${hashing.limit} at once (${hashing.source})`);
  if (!process.env.BACKEND_URL) {
    console.warn("[todo-frontend] BACKEND_URL is not set; using http://127.0.0.1:8000");
  }
  if (!process.env.BETTER_AUTH_URL) {
    console.warn("[todo-frontend] BETTER_AUTH_URL is not set; Better Auth will infer the base URL per request");
  }
}
