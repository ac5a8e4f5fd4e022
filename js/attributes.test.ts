// The by-attribute chart's rows, as runwatch.views.attributes.by_attribute_rows makes them
// (js/attribute_rows.json: written and checked by tests/widget/test_samples.py).
import { describe, expect, test } from "vitest";

import { attributeRows, MAX_CLASS_LINES, withRows } from "./attributes";
import cases from "./attribute_rows.json";
import type { AttributeBuckets } from "./model";

describe("attributeRows", () => {
  test("equal the Python view's rows for the same payload", () => {
    expect(cases.length).toBeGreaterThan(1);
    for (const c of cases) {
      expect(attributeRows(c.table as AttributeBuckets, c.labels, c.metric, c.classes)).toEqual(c.rows);
    }
  });

  test("leave out what is not a class and draw at most MAX_CLASS_LINES classes", () => {
    const c = cases[0]!;
    const table = c.table as AttributeBuckets;
    const n = table.buckets.length;
    const rows = attributeRows(table, c.labels, "recall_macro", ["(other)", "owl"]);
    expect(rows.filter((r) => !r.overall).map((r) => r.series)).toEqual(new Array(n).fill("owl"));
    const many = Array.from({ length: 30 }, (_, i) => `c${i}`);
    const wide: AttributeBuckets = { ...table, recall: many.map(() => new Array(n).fill(0.5)) };
    const lines = new Set(attributeRows(wide, many, "recall_macro", many).filter((r) => !r.overall).map((r) => r.series));
    expect(lines.size).toBe(MAX_CLASS_LINES);
  });

  test("a metric the table lacks is an empty series, not an error", () => {
    const c = cases[1]!;
    const rows = attributeRows(c.table as AttributeBuckets, c.labels, "no_such_metric", []);
    expect(rows.every((r) => r.value === null)).toBe(true);
  });
});

test("withRows puts the rows in the spec's named data and leaves the spec alone", () => {
  const spec = { data: { name: "by_attribute", values: [] }, mark: "point" };
  const out = withRows(spec, []);
  expect(out["data"]).toEqual({ name: "by_attribute", values: [] });
  expect(out).not.toBe(spec);
  expect(spec.data.values).toEqual([]);
});
