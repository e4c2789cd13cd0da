// After `next build`: make .next/standalone a complete, self-contained app folder:
//   server.js + .next/server (Next's own trace), .next/static, public,
//   migrate.mjs + lib/auth-options.mjs + every node_modules file they need (traced with Next's bundled nft).
// The Docker image then needs only:  COPY .next/standalone /app   (WORKDIR /app; node server.js | node migrate.mjs)
import { cpSync, existsSync, mkdirSync, copyFileSync, readFileSync, renameSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
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
  if (!/Failed to resolve dependency/.test(msg) || /pg-native|cloudflare:sockets/.test(msg)) continue;
  console.warn("[postbuild] trace warning:", msg);
}
console.log(`[postbuild] standalone ready: ${fileList.size ?? fileList.length} files traced for migrate.mjs, ${copied} copied`);
