#!/usr/bin/env node
// Creates/updates the Better Auth tables (user, session, account, verification, jwks).
// Idempotent: compares the database with the schema and only adds what is missing.
// Usage: DATABASE_URL=postgresql://... node migrate.mjs
// Works from the project folder and from the standalone build (scripts/postbuild.mjs copies it and its deps there).
import pg from "pg";
import { getMigrations } from "better-auth/db/migration"; // moved out of better-auth/db in Better Auth 1.7
import { buildAuthOptions } from "./lib/auth-options.mjs";

const LOCK_ID = 7_203_114_551; // pg_advisory_lock key: one migrator at a time
const waitSeconds = Number(process.env.MIGRATE_WAIT_SECONDS ?? 60);

function log(msg) {
  console.log(`[migrate] ${msg}`);
}

async function connectWithRetry(pool) {
  const deadline = Date.now() + waitSeconds * 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await pool.connect();
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      log(`database not ready (${err.code || err.message}); retry ${attempt}`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

async function main() {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error("[migrate] DATABASE_URL is not set (postgresql://user:pass@host:5432/db)");
    process.exit(2);
  }
  const pool = new pg.Pool({ connectionString: url, max: 3, connectionTimeoutMillis: 10_000 });
  const lockClient = await connectWithRetry(pool);
  try {
    await lockClient.query("SELECT pg_advisory_lock($1)", [LOCK_ID]);
    const options = buildAuthOptions({
      pool,
      // Not needed for DDL; set so Better Auth does not warn about a default secret.
      secret: process.env.BETTER_AUTH_SECRET || "migrate-only-placeholder-secret-not-used-for-signing",
      baseURL: process.env.BETTER_AUTH_URL || "http://localhost:3000",
    });
    // Refuses (UnsafeMigrationError) to add a required column without a default to a populated table.
    const { toBeCreated, toBeAdded, toBeAddedIndexes, schemaProblems, runMigrations } = await getMigrations(options);
    // Columns in the database that Better Auth does not know and that are required: its inserts would fail.
    for (const p of schemaProblems) log(`schema problem (not changed here): ${p}`);
    if (!toBeCreated.length && !toBeAdded.length && !toBeAddedIndexes.length) {
      log("auth schema is up to date");
    } else {
      for (const t of toBeCreated) log(`create table ${t.table}`);
      for (const t of toBeAdded) log(`add columns to ${t.table}: ${Object.keys(t.fields).join(", ")}`);
      for (const i of toBeAddedIndexes) log(`add index ${i.name} on ${i.table}`);
      await runMigrations();
      log("done");
    }
  } finally {
    await lockClient.query("SELECT pg_advisory_unlock($1)", [LOCK_ID]).catch(() => {});
    lockClient.release();
    await pool.end();
  }
}

main().catch((err) => {
  console.error("[migrate] failed:", err?.stack || err);
  process.exit(1);
});
