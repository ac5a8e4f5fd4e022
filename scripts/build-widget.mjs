// Bundles js/ into src/runwatch/static/ (`npm run build`): bundle.js, the
// front end (vega included, about 900 KB), and widget.js, the few lines that
// RunDetails's `_esm` holds.
//
// anywidget sends a widget's `_esm` with every widget shown and imports it
// anew each time. So the bundle goes to the page once per kernel, as the
// bytes of one shared model (src/runwatch/widget/_frontend.py), and widget.js
// fetches that model through the widget manager, imports the code (a Blob
// URL, which anywidget needs allowed anyway) and keeps the module on
// `globalThis` for the page's later widgets. The key is the bundle's content
// hash, so a rebuilt bundle is never mistaken for an older one. `npm run
// build` prints the sizes.
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
const loader = `// runwatch widget: imports the front end (bundle.js) once per page; see scripts/build-widget.mjs.
const KEY = ${JSON.stringify(key)};
const REF = "IPY_MODEL_";

// The code is the \`code\` of the kernel's FrontEnd model, which \`_bundle\` names.
// On a page restoring a kernel's widgets the models come in any order: wait a little.
async function code(model) {
  const id = String(model.get("_bundle")).slice(REF.length);
  for (let wait = 25; ; wait *= 2) {
    try {
      return (await model.widget_manager.get_model(id)).get("code");
    } catch (err) {
      if (wait > 3200) throw new Error("runwatch: the front end's model " + id + " never came (" + err + ")");
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

function load(model) {
  let loading = globalThis[KEY];
  if (loading === undefined) {
    loading = globalThis[KEY] = code(model).then(async (bytes) => {
      const url = URL.createObjectURL(new Blob([bytes], { type: "text/javascript" }));
      try {
        return await import(url);
      } finally {
        URL.revokeObjectURL(url);
      }
    });
    loading.catch(() => {
      if (globalThis[KEY] === loading) delete globalThis[KEY]; // the next widget tries again
    });
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
