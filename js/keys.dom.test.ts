// @vitest-environment happy-dom
// A control of the widget that takes the focus is marked for Lumino to leave its keys alone.
import { describe, expect, test } from "vitest";

import { keepKeysInControls, SUPPRESS_SHORTCUTS, takesKeys } from "./keys";

describe("keepKeysInControls", () => {
  test("marks a select, a range input and a checkbox on focus, not the widget or a table", () => {
    const root = document.createElement("div");
    root.tabIndex = -1;
    const table = document.createElement("div");
    table.tabIndex = 0;
    const select = document.createElement("select");
    const range = document.createElement("input");
    range.type = "range";
    const box = document.createElement("input");
    box.type = "checkbox";
    root.append(table, select, range, box);
    document.body.append(root);
    keepKeysInControls(root);
    for (const e of [root, table, select, range, box]) expect(e.hasAttribute(SUPPRESS_SHORTCUTS)).toBe(false);
    // Drawn later (a redraw makes new controls): marked as well, when focused.
    const late = document.createElement("select");
    root.append(late);
    for (const e of [table, select, range, box, late, root]) e.focus();
    for (const e of [select, range, box, late]) expect(e.getAttribute(SUPPRESS_SHORTCUTS)).toBe("true");
    // The widget itself and its keyboard-driven table keep the notebook's shortcuts.
    expect(root.hasAttribute(SUPPRESS_SHORTCUTS)).toBe(false);
    expect(table.hasAttribute(SUPPRESS_SHORTCUTS)).toBe(false);
    root.remove();
  });

  test("takes form controls only", () => {
    expect(takesKeys(document.createElement("select"))).toBe(true);
    expect(takesKeys(document.createElement("textarea"))).toBe(true);
    expect(takesKeys(document.createElement("input"))).toBe(true);
    expect(takesKeys(document.createElement("button"))).toBe(false);
    expect(takesKeys(document.createElement("div"))).toBe(false);
    expect(takesKeys(null)).toBe(false);
  });
});
