// Nothing here reads secrets or the database: `next build` must work with no env at all.
// All runtime settings (DATABASE_URL, BETTER_AUTH_*, BACKEND_URL) are read per request / at server start.
// (.mjs rather than .ts so the standalone output does not need the TypeScript compiler.)
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

/** @type {import("next").NextConfig} */
const nextConfig = {
  output: "standalone",
  reactStrictMode: true,
  poweredByHeader: false,
  // pg is external by default already; explicit so the standalone trace carries it.
  serverExternalPackages: ["pg"],
  // Do not let the tracer climb above this folder (the repository root holds other projects).
  outputFileTracingRoot: dirname(fileURLToPath(import.meta.url)),
  // Not needed at run time (no next/image optimisation, no TypeScript config to compile): keep the image small.
  outputFileTracingExcludes: {
    "*": ["node_modules/typescript/**", "node_modules/@img/**", "node_modules/sharp/**"],
  },
};

export default nextConfig;
