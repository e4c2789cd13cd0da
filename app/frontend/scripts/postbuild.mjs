// After `next build`: make .next/standalone a complete, self-contained app folder:
//   server.js + .next/server (Next's own trace), .next/static, public,
//   migrate.mjs + lib/auth-options.mjs + every node_modules file they need (traced with Next's bundled nft).
// The Docker image then needs only:  COPY .next/standalone /app   (WORKDIR /app; node server.js | node migrate.mjs)
import { cpSync, existsSync, mkdirSync, copyFileSync, readdirSync, readFileSync, realpathSync, renameSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const standalone = join(root, ".next", "standalone");
if (!existsSync(join(standalone, "server.js"))) {
  console.error("[postbuild] .next/standalone/server.js missing: is output: 'standalone' set?");
  process.exit(1);
}

// 0. our entry point in front of Next's server (socket address for rate limiting, clean 431s):
//    server.js = scripts/server-entry.cjs, which loads Next's own server, renamed next-server.js.
const nextServer = join(standalone, "next-server.js");
const entry = join(root, "scripts", "server-entry.cjs");
if (!readFileSync(join(standalone, "server.js"), "utf8").includes('require("./next-server.js")')) {
  renameSync(join(standalone, "server.js"), nextServer);
}
copyFileSync(entry, join(standalone, "server.js"));

// 1. static assets and public/ (Next leaves them out of standalone on purpose)
cpSync(join(root, ".next", "static"), join(standalone, ".next", "static"), { recursive: true });
if (existsSync(join(root, "public"))) cpSync(join(root, "public"), join(standalone, "public"), { recursive: true });

// 2. the migration command and everything it imports
const { nodeFileTrace } = require("next/dist/compiled/@vercel/nft");
const { fileList, warnings } = await nodeFileTrace([join(root, "migrate.mjs")], { base: root, processCwd: root });
let copied = 0;
for (const rel of fileList) {
  const src = join(root, rel);
  const dst = join(standalone, rel);
  if (!existsSync(src) || statSync(src).isDirectory()) continue;
  if (existsSync(dst)) continue;
  mkdirSync(dirname(dst), { recursive: true });
  copyFileSync(src, dst);
  copied++;
}
for (const w of warnings ?? []) {
  const msg = String(w?.message ?? w);
  // Optional, loaded in a try: pg's native binding, Workers sockets, Better Auth's tracing (no-op without it).
  if (!/Failed to resolve dependency/.test(msg) || /pg-native|cloudflare:sockets|@opentelemetry\/api/.test(msg)) continue;
  console.warn("[postbuild] trace warning:", msg);
}
// 3. Turbopack links each serverExternalPackages entry as .next/node_modules/<name>-<hash> -> ../../node_modules/<name>.
//    The image copies this folder alone, so a link that leaves it (or dangles) would break there: refuse it here.
const escaping = [];
for (const entry of readdirSync(standalone, { recursive: true, withFileTypes: true })) {
  if (!entry.isSymbolicLink()) continue;
  const link = join(entry.parentPath, entry.name);
  const target = existsSync(link) ? relative(realpathSync(standalone), realpathSync(link)) : null;
  if (target === null || target.startsWith("..")) escaping.push(`${relative(standalone, link)} -> ${target ?? "(missing)"}`);
}
if (escaping.length) {
  console.error(`[postbuild] symlinks that leave .next/standalone (the image would lack their targets):\n  ${escaping.join("\n  ")}`);
  process.exit(1);
}

console.log(`[postbuild] standalone ready: ${fileList.size ?? fileList.length} files traced for migrate.mjs, ${copied} copied`);
