// What a person set in a view (sort, page size, charted metric, matrix mode...),
// kept per widget: when the cell that fed a run ends, the kernel updates the
// output (its static summary) and the front end draws the view anew; the new
// view starts where the old one was instead of at the defaults.
import type { Mode, Norm } from "./confusion";
import type { Sort } from "./table";

export interface ViewMemory {
  sort?: Sort;
  showAll?: boolean;
  metric?: string;
  mode?: Mode;
  norm?: Norm;
  picked?: string[] | null;
  /** The loss chart's log axis and smoothing weight. */
  lossLog?: boolean;
  lossSmoothing?: number;
  /** The "By attribute" panel's attribute and bucket metric. */
  byAttribute?: string;
  bucketMetric?: string;
}

// On globalThis: the module itself is imported once per page (see
// scripts/build-widget.mjs), but a rebuilt bundle must find the memory too.
const STORE = "__runwatch_view_memory";

/** The memory of the widget `key` (its `_uid` trait) in this page; created empty. */
export function viewMemory(key: string): ViewMemory {
  const g = globalThis as unknown as Record<string, Map<string, ViewMemory> | undefined>;
  const all = (g[STORE] ??= new Map<string, ViewMemory>());
  let memory = all.get(key);
  if (memory === undefined) {
    memory = {};
    all.set(key, memory);
  }
  return memory;
}
