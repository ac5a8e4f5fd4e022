// Placeholder anywidget front end: shows the `title` trait. The widget work
// replaces this with the real views (see shared/STYLE.md §1–§4).
import { displayText } from "./format";

/** The part of anywidget's model this module uses; the Python side's traits. */
interface Model {
  get(name: "title"): string | null;
  on(event: "change:title", callback: () => void): void;
  off(event: "change:title", callback: () => void): void;
}

interface RenderProps {
  model: Model;
  el: HTMLElement;
}

function render({ model, el }: RenderProps): () => void {
  const root = document.createElement("div");
  root.className = "runwatch-root";
  const update = (): void => {
    // textContent, never innerHTML: titles are user text.
    root.textContent = displayText(model.get("title"));
  };
  update();
  model.on("change:title", update);
  el.replaceChildren(root);
  return () => model.off("change:title", update);
}

export default { render };
