// Gives the wasm's imports from its own JS glue short names, in the wasm and in the glue, for
// `scripts/build-pkg`: wasm-bindgen names each `__wbg_<name>_<16 hex digits>`, and those ~120
// names, each in the wasm's import section and in the JS, are ~4 KB of the gzipped package
// (random hex does not compress). Only the imports of module `./ferrysync_bg.js` (the glue) are
// renamed; the snippets' imports and every export (the `InitOutput` the `.d.ts` describes) keep
// their names. Usage: node scripts/short-imports.mjs pkg/web (a wasm-bindgen output directory).
import fs from "node:fs";
import path from "node:path";

const GLUE = "./ferrysync_bg.js";
const dir = process.argv[2];
const wasmFile = path.join(dir, "ferrysync_bg.wasm");
const bytes = fs.readFileSync(wasmFile);

let pos = 8; // magic and version
const u32 = () => {
  let result = 0, shift = 0, byte;
  do { byte = bytes[pos++]; result |= (byte & 0x7f) << shift; shift += 7; } while (byte & 0x80);
  return result >>> 0;
};
const leb = (n) => {
  const out = [];
  do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n);
  return Buffer.from(out);
};
const name = () => { const len = u32(); const s = bytes.toString("utf8", pos, pos + len); pos += len; return s; };
const encodeName = (s) => { const b = Buffer.from(s, "utf8"); return Buffer.concat([leb(b.length), b]); };
const limits = () => { const flags = bytes[pos++]; u32(); if (flags & 1) u32(); };

const renames = new Map();
const shortName = (i) => "$" + i.toString(36);
const chunks = [bytes.subarray(0, 8)];
while (pos < bytes.length) {
  const start = pos;
  const id = bytes[pos++];
  const size = u32();
  const end = pos + size;
  if (id !== 2) { chunks.push(bytes.subarray(start, end)); pos = end; continue; }
  const count = u32();
  const entries = [leb(count)];
  for (let i = 0; i < count; i++) {
    const module = name();
    let field = name();
    const descStart = pos;
    const kind = bytes[pos++];
    if (kind === 0) u32(); // function: type index
    else if (kind === 1) { pos++; limits(); } // table: reference type, limits
    else if (kind === 2) limits(); // memory
    else if (kind === 3) pos += 2; // global: value type (single byte here), mutability
    else if (kind === 4) { pos++; u32(); } // tag: attribute, type index
    else throw new Error(`import kind ${kind} not handled`);
    if (module === GLUE) {
      if (!renames.has(field)) renames.set(field, shortName(renames.size));
      field = renames.get(field);
    }
    entries.push(encodeName(module), encodeName(field), bytes.subarray(descStart, pos));
  }
  if (pos !== end) throw new Error("import section not read to its end");
  const payload = Buffer.concat(entries);
  chunks.push(Buffer.from([2]), leb(payload.length), payload);
}
fs.writeFileSync(wasmFile, Buffer.concat(chunks));

// The glue defines each import once (an object key in `--target web`, an exported function in
// `--target bundler`); the old names are unique identifiers (a hash each), so a whole-word
// replacement finds exactly those.
const pattern = new RegExp(`\\b(${[...renames.keys()].join("|")})\\b`, "g");
const found = new Set();
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".js"))) {
  const js = path.join(dir, file);
  const text = fs.readFileSync(js, "utf8");
  fs.writeFileSync(js, text.replace(pattern, (old) => (found.add(old), renames.get(old))));
}
const missing = [...renames.keys()].filter((old) => !found.has(old));
if (missing.length) throw new Error(`imports the glue does not define: ${missing.join(", ")}`);
