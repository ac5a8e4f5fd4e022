// The keys of the widget's own controls stay theirs. JupyterLab and Notebook 7
// (Lumino) match every keydown of the page against their shortcuts: with a
// select of the widget focused, ArrowDown moved the notebook to its next cell
// (the select lost the focus), and the threshold slider's arrow keys did
// nothing. Lumino skips an element marked `data-lm-suppress-shortcuts` (as
// JupyterLab's own shortcut editor is), so a control is marked when it takes
// the focus: while it has it, its keys are its own, as in ipywidgets' inputs;
// a click elsewhere gives the notebook its shortcuts back. Hosts without
// Lumino (marimo, VS Code) ignore the mark.

/** The attribute Lumino's command registry stops at. */
export const SUPPRESS_SHORTCUTS = "data-lm-suppress-shortcuts";

/** Whether `target` is a form control that takes keys of its own (arrows, type-ahead, space). */
export function takesKeys(target: EventTarget | null): target is HTMLElement {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  return tag === "SELECT" || tag === "TEXTAREA" || (tag === "INPUT" && (target as HTMLInputElement).type !== "hidden");
}

/** Mark each control inside `root` as it takes the focus (controls come and go with redraws). */
export function keepKeysInControls(root: HTMLElement): void {
  root.addEventListener("focusin", (e) => {
    if (takesKeys(e.target)) e.target.setAttribute(SUPPRESS_SHORTCUTS, "true");
  });
}
