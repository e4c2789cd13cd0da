// Runs once when the server starts (never during `next build`): refuse to start on bad settings.
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { configProblems } = await import("./lib/env");
  const problems = configProblems();
  if (problems.length) {
    for (const p of problems) console.error(`[todo-frontend] configuration error: ${p}`);
    console.error("[todo-frontend] refusing to start");
    process.exit(1);
  }
  if (!process.env.BACKEND_URL) {
    console.warn("[todo-frontend] BACKEND_URL is not set; using http://127.0.0.1:8000");
  }
  if (!process.env.BETTER_AUTH_URL) {
    console.warn("[todo-frontend] BETTER_AUTH_URL is not set; Better Auth will infer the base URL per request");
  }
}
