// Bundles js/ into src/runwatch/static/ (`npm run build`): bundle.js, the
// front end (vega included, about 900 KB), and widget.js, the small module
// the widget's `_esm` trait holds.
//
// anywidget sends a widget's `_esm` with every widget shown and imports it
// afresh each time (a new Blob URL). With the bundle as `_esm`, every
// RunDetails cost about 100 ms in the page: the 900 KB went through the
// kernel's JSON, the page's JSON.parse and the module parser each time. So
// `_esm` is a loader of a few lines, and the bundle travels as the `_bundle`
// trait: bytes, which ipywidgets sends as a binary buffer, not JSON. The first
// widget of a page imports it (a Blob URL, which anywidget needs allowed
// anyway) and keeps the module on `globalThis`; later widgets find it there.
// The key is the bundle's content hash, so a rebuilt bundle is never mistaken
// for an older one. `npm run build` prints the sizes.
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

const DIR = "src/runwatch/static";

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
const loader = `// runwatch widget: imports the bundle (the _bundle trait) once per page; see scripts/build-widget.mjs.
const KEY = ${JSON.stringify(key)};
function load(model) {
  let loading = globalThis[KEY];
  if (loading === undefined) {
    const url = URL.createObjectURL(new Blob([model.get("_bundle")], { type: "text/javascript" }));
    loading = globalThis[KEY] = import(url).finally(() => URL.revokeObjectURL(url));
    loading.catch(() => { delete globalThis[KEY]; }); // the next widget tries again
  }
  return loading.then((mod) => mod.default);
}
export default {
  async initialize({ model }) {
    await load(model);
  },
  async render(view) {
    const widget = await load(view.model);
    return widget.render(view);
  },
};
`;
mkdirSync(DIR, { recursive: true });
writeFileSync(`${DIR}/bundle.js`, code);
writeFileSync(`${DIR}/widget.js`, loader);
const kb = (s) => `${(Buffer.byteLength(s) / 1024).toFixed(0)} KB`;
console.log(`${DIR}/bundle.js: ${kb(code)}; ${DIR}/widget.js (the loader): ${kb(loader)}; key ${key}`);
