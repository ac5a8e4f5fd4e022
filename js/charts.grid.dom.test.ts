// @vitest-environment happy-dom
// A panel's charts are drawn one task each: a message from the kernel (a new row)
// is handled between two charts, not after the whole panel (vega compiles each).
import { afterEach, beforeEach, expect, test, vi } from "vitest";

const drawn: string[] = [];

vi.mock("vega-embed", () => ({
  default: (el: HTMLElement, spec: { title: string }) => {
    drawn.push(spec.title);
    el.textContent = spec.title;
    return Promise.resolve({ finalize: () => undefined });
  },
}));

const { ChartGrid } = await import("./charts");

const specs = { roc: { title: "roc" }, pr: { title: "pr" }, lift: { title: "lift" } };

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  drawn.length = 0;
});
afterEach(() => {
  vi.useRealTimers();
});

test("each chart of a panel is drawn in a task of its own, in panel order", async () => {
  const grid = new ChartGrid();
  grid.show(specs);
  expect(grid.el.querySelectorAll(".rw-chart")).toHaveLength(3); // the boxes, at once
  expect(drawn).toEqual([]);
  await vi.runOnlyPendingTimersAsync();
  expect(drawn).toEqual(["roc"]);
  await vi.runOnlyPendingTimersAsync();
  expect(drawn).toEqual(["roc", "pr"]);
  await vi.runOnlyPendingTimersAsync();
  expect(drawn).toEqual(["roc", "pr", "lift"]);
});

test("charts still waiting when the panel changes are not drawn", async () => {
  const grid = new ChartGrid();
  grid.show(specs);
  await vi.runOnlyPendingTimersAsync();
  grid.show({ gains: { title: "gains" } });
  await vi.runAllTimersAsync();
  expect(drawn).toEqual(["roc", "gains"]);
  expect(grid.el.textContent).toBe("gains");
});
