// The package's bundler entry (`ferrysync/bundler`, wasm-bindgen's `--target bundler`) in an app
// built by Vite (with vite-plugin-wasm, which bundlers need for wasm ES module imports): builds
// tests/bundler/ from pkg/bundler, serves the build from its own loopback origin and runs it in
// headless Chromium (/usr/bin/chromium) against the ferrysync-server at FERRYSYNC_E2E_URL, across
// origins as an app's would (the server allows loopback origins by default). Run by
// scripts/ci/test-e2e, after scripts/build-pkg.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";
import wasm from "vite-plugin-wasm";
import { pageResult, register, serveFiles } from "./common.mjs";

const base = process.env.FERRYSYNC_E2E_URL;
if (!base) throw new Error("set FERRYSYNC_E2E_URL to a ferrysync-server");
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const out = fs.mkdtempSync(path.join(os.tmpdir(), "ferrysync-bundler-"));
let server;
try {
  // The app imports the package by its name: Vite resolves it as any dependency, through
  // package.json's `exports` (the repo is the package, so it resolves its own name).
  await build({ root: path.join(repo, "tests/bundler"), logLevel: "warn", plugins: [wasm()],
    build: { outDir: out, emptyOutDir: true, target: "esnext" } });
  const assets = fs.readdirSync(path.join(out, "assets"));
  assert.ok(assets.some((f) => f.endsWith(".wasm")), `no wasm in the build: ${assets}`);
  server = await serveFiles(out, (name) => path.join(out, name === "/" ? "index.html" : name));
  const token = await register(base, "bundler");
  const r = await pageResult(`${server.url}/?server=${encodeURIComponent(base)}&token=${token}`);
  assert.equal(r.error, undefined, r.error);
  assert.equal(r.pendingBefore, 1);
  assert.deepEqual(r.unknown, { isError: true, code: "UNKNOWN_COLLECTION" });
  assert.equal(r.pushed, 1);
  assert.equal(r.pendingAfter, 0);
  assert.equal(r.pulled, 1);
  assert.equal(r.onB.title, "written on a");
  assert.deepEqual(r.onB.tags, ["x", "ü"]);
  assert.equal(r.onB._sync.status, "SYNCED");
  assert.deepEqual(r.byIndex, [r.id]);
  console.log(`ok: the bundler entry built by Vite (${assets.join(", ")}) writes, syncs across origins and pulls on a second device`);
} finally {
  server?.close();
  fs.rmSync(out, { recursive: true, force: true });
}
