// The page's writes to the model. Hosts differ in when `set` fires
// `change:<name>`: Backbone (JupyterLab, Notebook 7, VS Code) only for a new
// value, marimo for every set, equal or not, at once. A handler that set a
// value it had just received would, under marimo, call itself until the stack
// overflows. So the page sets only values that differ, saves only when it set
// something, and its handlers can tell its own writes from news.
import type { Model, WidgetModel } from "./model";

/** Whether two trait values are the same (they are JSON: null, strings, booleans, pairs). */
export function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** Writes the page's changes to one model; `busy` while its own `set` calls run. */
export class ModelWriter {
  busy = false;

  constructor(private model: WidgetModel) {}

  /** Set the traits of `changes` whose values differ and save them; false when none did. */
  write(changes: Partial<Model>): boolean {
    const keys = (Object.keys(changes) as (keyof Model)[]).filter((k) => !sameValue(this.model.get(k), changes[k]));
    if (keys.length === 0) return false;
    this.busy = true;
    try {
      for (const k of keys) this.model.set(k, changes[k] as never);
    } finally {
      this.busy = false;
    }
    this.model.save_changes();
    return true;
  }
}
