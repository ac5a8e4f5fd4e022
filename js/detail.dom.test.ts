// @vitest-environment happy-dom
// The detail's tables in a DOM: one number of decimals per column, and what an
// iteration without predictions says.
import { describe, expect, test } from "vitest";

import { ENDED, metricsTable, noPredictions, perClassTable } from "./detail";
import type { SplitDetail } from "./model";

function split(over: Partial<SplitDetail> = {}): SplitDetail {
  return { metrics: {}, groups: [], reasons: {}, per_class: [], confusion: null, charts: {}, ...over };
}

/** The texts of column `at` of the body's rows that have it (a group's header row has one cell). */
function column(table: HTMLTableElement, at: number): string[] {
  return [...table.querySelectorAll("tbody tr")]
    .map((tr) => [...tr.querySelectorAll("td")])
    .filter((cells) => cells.length > at)
    .map((cells) => cells[at]?.textContent ?? "");
}

describe("metricsTable", () => {
  test("every value has the decimals the column needs, across groups", () => {
    const t = metricsTable(
      split({
        metrics: { accuracy: 0.9143, AUC_macro: 1, f1_score_binary: null, matthews_correlation: 0 },
        groups: [
          { group: "label", metrics: ["accuracy", "matthews_correlation"] },
          { group: "threshold-free", metrics: ["AUC_macro", "f1_score_binary"] },
        ],
        reasons: { f1_score_binary: "binary only; there are 10 classes" },
      }),
      "accuracy",
    );
    expect(column(t, 1)).toEqual(["0.9143", "0.0000", "1.0000", "\u2014"]);
    const missing = [...t.querySelectorAll("td.rw-num")].find((td) => td.textContent === "\u2014") as HTMLElement;
    expect(missing.title).toBe("binary only; there are 10 classes");
  });
});

describe("perClassTable", () => {
  test("each column its own decimals; whole supports as integers, weighted ones with decimals", () => {
    const rows = [
      { label: "cat", precision: 1, recall: 0.9143, f1: 0.955, support: 35 },
      { label: "dog", precision: 0.5, recall: 0, f1: 0, support: 2 },
    ];
    const t = perClassTable(split({ per_class: rows }));
    expect(column(t, 1)).toEqual(["1.0000", "0.5000"]);
    expect(column(t, 2)).toEqual(["0.9143", "0.0000"]);
    expect(column(t, 3)).toEqual(["0.9550", "0.0000"]);
    expect(column(t, 4)).toEqual(["35", "2"]);
    const weighted = perClassTable(split({ per_class: [{ ...rows[0]!, support: 12.5 }, { ...rows[1]!, support: 3.25 }] }));
    expect(column(weighted, 4)).toEqual(["12.500", "3.250"]);
  });

  test("the columns the payload lists, with their headings: detection's AP and segmentation's IoU", () => {
    const t = perClassTable(
      split({
        per_class: [
          { label: "car", ap: 0.5, ap_50: 0.75, f1: 0.8, mean_iou: null, support: 12 },
          { label: "bus", ap: null, ap_50: 0.125, f1: 0, mean_iou: 0.62, support: 0 },
        ],
        per_class_columns: [
          ["ap", "AP"],
          ["ap_50", "AP50"],
          ["f1", "F1"],
          ["mean_iou", "Matched IoU"],
          ["support", "Support"],
        ],
      }),
    );
    expect([...t.querySelectorAll("thead th")].map((th) => th.textContent)).toEqual(["Class", "AP", "AP50", "F1", "Matched IoU", "Support"]);
    expect(column(t, 0)).toEqual(["car", "bus"]);
    expect(column(t, 1)).toEqual(["0.5000", "—"]);
    expect(column(t, 2)).toEqual(["0.7500", "0.1250"]);
    expect(column(t, 4)).toEqual(["—", "0.6200"]);
    expect(column(t, 5)).toEqual(["12", "0"]);
    const seg = perClassTable(
      split({
        per_class: [{ label: "road", iou: 0.25, support: 4096 }],
        per_class_columns: [
          ["iou", "IoU"],
          ["support", "Support (pixels)"],
        ],
      }),
    );
    expect([...seg.querySelectorAll("thead th")].map((th) => th.textContent)).toEqual(["Class", "IoU", "Support (pixels)"]);
    expect(column(seg, 1)).toEqual(["0.2500"]);
    expect(column(seg, 2)).toEqual(["4096"]);
  });

  test("number cells are right-aligned", () => {
    const t = perClassTable(split({ per_class: [{ label: "a", precision: 1, recall: 1, f1: 1, support: 1 }] }));
    const cells = [...t.querySelectorAll("tbody td")];
    expect(cells.map((c) => c.classList.contains("rw-num"))).toEqual([false, true, true, true, true]);
  });
});

describe("noPredictions", () => {
  test("a finished iteration without predictions says so (and where its loss is), not that charts will come", () => {
    for (const status of ENDED) {
      expect(noPredictions(status, true)).toBe("No predictions were logged for this iteration; its loss is charted below.");
      expect(noPredictions(status, false)).toBe("No predictions were logged for this iteration.");
    }
  });

  test("a running iteration may still get predictions", () => {
    for (const status of ["running", "queued"]) {
      expect(noPredictions(status, true)).toBe("No predictions logged for this iteration yet.");
      expect(noPredictions(status, false)).toBe("No predictions logged for this iteration yet.");
    }
  });
});
