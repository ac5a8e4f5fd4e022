// @vitest-environment happy-dom
// The samples panels: what they say while the kernel has not answered, the ids and
// thumbnails once it has, and one sentence for a thumbnail that failed.
import { describe, expect, test } from "vitest";

import type { Gallery, TopLoss } from "./model";
import { answers, galleryOf, SamplesPanels } from "./samples";

const TOP: TopLoss[] = [
  { id: "a-1", true: "cat", predicted: "dog", loss: 4.5 },
  { id: 7, true: "dog", predicted: "cat", loss: 0.25 },
];
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);

function gallery(over: Partial<Gallery> = {}): Gallery {
  return { enabled: true, iteration: "3", split: "validation", cell: ["cat", "dog"], ids: ["a-1", "a-2"], images: {}, errors: {}, ...over };
}

describe("SamplesPanels", () => {
  test("waits for the kernel, then lists the cell's ids with their thumbnails", () => {
    const p = new SamplesPanels();
    const shown = { iteration: "3", split: "validation", cell: ["cat", "dog"] as [string, string] };
    p.update({ ...shown, cell: null }, TOP, gallery());
    expect(p.cell.textContent).toContain("Click a cell of the confusion matrix");
    p.update(shown, TOP, gallery({ cell: null, ids: [] }));
    expect(p.cell.querySelector(".rw-waiting")?.textContent).toContain("Asking the kernel");
    const g = gallery({ images: { "a-1": new DataView(PNG.buffer) }, errors: { "a-2": "thumbnail('a-2') raised OSError: gone" } });
    p.update(shown, TOP, g);
    const tiles = [...p.cell.querySelectorAll(".rw-sample")];
    expect(tiles.map((t) => (t as HTMLElement).dataset["id"])).toEqual(["a-1", "a-2"]);
    expect(tiles[0]!.querySelector("img")?.getAttribute("src")).toMatch(/^blob:/);
    expect(tiles[1]!.querySelector(".rw-thumb-error")?.getAttribute("title")).toBe("thumbnail('a-2') raised OSError: gone");
    expect(p.cell.querySelector(".rw-thumb-message")?.textContent).toBe("thumbnail('a-2') raised OSError: gone");
  });

  test("the top losses table shows without the kernel; a saved page says no samples will come", () => {
    const p = new SamplesPanels();
    p.update({ iteration: "3", split: "validation", cell: ["cat", "dog"] }, TOP, galleryOf(undefined));
    const rows = [...p.top.querySelectorAll(".rw-top-losses-table tbody tr")].map((tr) => [...tr.children].map((c) => c.textContent));
    expect(rows).toEqual([["a-1", "cat", "dog", "4.5000"], ["7", "dog", "cat", "0.2500"]]);
    expect(p.top.querySelector(".rw-gallery")).toBeNull(); // no thumbnail function: no gallery
    expect(p.cell.textContent).toContain("this page has none");
  });

  test("a vision run's top losses are images, under the columns the kernel names", () => {
    const p = new SamplesPanels();
    const images: TopLoss[] = [{ id: "im-4", true: "3", predicted: "1, 2, 2", loss: 0.75 }];
    p.update({ iteration: "3", split: "validation", cell: null }, images, galleryOf(undefined), ["Objects", "Found, false, missed", "1 \u2212 F1"]);
    const head = [...p.top.querySelectorAll(".rw-top-losses-table th")].map((th) => th.textContent);
    expect(head).toEqual(["Id", "Objects", "Found, false, missed", "1 \u2212 F1"]);
    p.update({ iteration: "3", split: "validation", cell: null }, TOP, galleryOf(undefined), null);
    expect([...p.top.querySelectorAll(".rw-top-losses-table th")].map((th) => th.textContent)).toEqual(["Id", "True", "Predicted", "Loss"]);
  });

  test("an answer for another iteration, split or cell is not this one's", () => {
    const g = gallery();
    expect(answers(g, "3", "validation", ["cat", "dog"])).toBe(true);
    expect(answers(g, "4", "validation")).toBe(false);
    expect(answers(g, "3", "test")).toBe(false);
    expect(answers(g, "3", "validation", ["dog", "cat"])).toBe(false);
    expect(galleryOf({})).toBeNull();
  });
});
