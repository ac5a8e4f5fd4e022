// Bundles js/ into src/runwatch/static/widget.js (`npm run build`).
//
// anywidget imports a widget's ESM afresh for every widget it shows (a new
// Blob URL each time): a page showing RunDetails three times, or a cell run
// three times, parsed and ran the 900 KB bundle (vega included) three times,
// about 100 ms each on these machines. So the file written is a small module
// that holds the bundle as one string literal: the first widget of a page
// imports that string (as a Blob URL, which anywidget needs allowed anyway)
// and keeps the module on `globalThis`; later widgets find it there and only
// scan the string (about 15 ms). The key is the bundle's content hash, so a
// rebuilt bundle is never mistaken for an older one. `npm run build` prints
// the sizes.
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { build } from "esbuild";

const OUT = "src/runwatch/static/widget.js";

const result = await build({
  entryPoints: ["js/index.ts"],
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2022",
  legalComments: "eof",
  write: false,
});
const code = result.outputFiles[0].text;
const key = "__runwatch_widget_" + createHash("sha256").update(code).digest("hex").slice(0, 16);
const wrapped = `// runwatch widget: the bundle of js/ (see scripts/build-widget.mjs), imported once per page.
const KEY = ${JSON.stringify(key)};
const BUNDLE = ${JSON.stringify(code)};
let mod = globalThis[KEY];
if (mod === undefined) {
  const url = URL.createObjectURL(new Blob([BUNDLE], { type: "text/javascript" }));
  try {
    mod = globalThis[KEY] = await import(url);
  } finally {
    URL.revokeObjectURL(url);
  }
}
export default mod.default;
`;
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, wrapped);
console.log(`${OUT}: ${(wrapped.length / 1024).toFixed(0)} KB (bundle ${(code.length / 1024).toFixed(0)} KB), key ${key}`);
