// Runs once when the server starts (never during `next build`): refuse to start on bad settings.
// Next 16 also compiles this file for the Edge runtime: the checks (process.exit) live in their own module,
// imported only under the Node.js runtime, so that compilation never sees Node APIs.
export async function register() {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { checkSettingsAtStartup } = await import("./lib/startup-checks");
    checkSettingsAtStartup();
  }
}
