import type { NextConfig } from "next";

// Nothing here reads secrets or the database: `next build` must work with no env at all.
// All runtime settings (DATABASE_URL, BETTER_AUTH_*, BACKEND_URL) are read per request / at server start.
const nextConfig: NextConfig = {
  output: "standalone",
  reactStrictMode: true,
  poweredByHeader: false,
  // pg is already external by default; keep it explicit so the standalone trace carries it.
  serverExternalPackages: ["pg"],
  // Do not let the tracer climb above this folder (the repo root holds unrelated projects).
  outputFileTracingRoot: __dirname,
  eslint: { ignoreDuringBuilds: true },
};

export default nextConfig;
