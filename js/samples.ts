// The samples behind the model's failures: the clicked confusion-matrix cell's
// ids and the top losses, with their thumbnails where the widget was given a
// thumbnail function. The top losses come with the iteration's details (they
// show while a cell runs); the cell's ids and every thumbnail come from the
// kernel on demand (the `_gallery` trait), so the panel says when it waits.
import { columnFormat, formatNumber } from "./format";
import type { Gallery, Image, TopLoss } from "./model";

/** What the kernel has sent for the shown iteration and split; `null`: nothing can come (a saved page). */
export type GalleryState = Gallery | null;

/** Whether `g` answers for this iteration, split (and cell, when one is asked). */
export function answers(g: GalleryState, iteration: string | null, split: string | null, cell?: [string, string] | null): boolean {
  if (g === null || g.iteration !== iteration || g.split !== split) return false;
  if (cell === undefined) return true;
  const have = g.cell;
  return cell === null ? have === null : have !== null && have[0] === cell[0] && have[1] === cell[1];
}

/** The `_gallery` trait as the page reads it: null where no kernel sends one (a saved page). */
export function galleryOf(value: unknown): GalleryState {
  if (value === null || value === undefined || typeof value !== "object" || !("enabled" in value)) return null;
  return value as Gallery;
}

function bytesOf(image: Image): Uint8Array | null {
  if (typeof image === "string") return null;
  if (image instanceof Uint8Array) return image;
  if (image instanceof ArrayBuffer) return new Uint8Array(image);
  return new Uint8Array(image.buffer, image.byteOffset, image.byteLength);
}

/** Object URLs of the thumbnails, made once per image and revoked when the kernel replaces them. */
export class ImageUrls {
  private urls = new Map<Image, string>();

  url(image: Image): string {
    if (typeof image === "string") return image.startsWith("data:image/png;base64,") ? image : "";
    let u = this.urls.get(image);
    if (u === undefined) {
      const bytes = bytesOf(image);
      u = bytes === null ? "" : URL.createObjectURL(new Blob([bytes.slice()], { type: "image/png" }));
      this.urls.set(image, u);
    }
    return u;
  }

  /** Revoke the URLs of images no longer in `keep`. */
  keepOnly(keep: Iterable<Image>): void {
    const still = new Set(keep);
    for (const [image, u] of this.urls) {
      if (!still.has(image)) {
        if (u !== "") URL.revokeObjectURL(u);
        this.urls.delete(image);
      }
    }
  }
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** One sample: its thumbnail (or why there is none, or a place for it while it comes) and its id. */
function tile(id: number | string, g: GalleryState, urls: ImageUrls, caption?: string): HTMLElement {
  const key = String(id);
  const box = el("figure", "rw-sample");
  box.dataset["id"] = key;
  if (g !== null && g.enabled) {
    const image = g.images[key];
    const error = g.errors[key];
    if (image !== undefined) {
      const img = document.createElement("img");
      img.className = "rw-thumb";
      img.alt = key;
      img.src = urls.url(image);
      box.append(img);
    } else if (error !== undefined) {
      const e = el("div", "rw-thumb rw-thumb-error", "no image");
      e.title = error;
      box.append(e);
    } else {
      box.append(el("div", "rw-thumb rw-thumb-waiting", "\u2026"));
    }
  }
  const text = el("figcaption", "", key);
  if (caption !== undefined) {
    text.append(document.createElement("br"), caption);
  }
  box.append(text);
  return box;
}

/** The first thumbnail error of `ids`, to say once above the gallery (one sentence). */
function firstError(g: GalleryState, ids: readonly (number | string)[]): string | null {
  if (g === null) return null;
  for (const id of ids) {
    const e = g.errors[String(id)];
    if (e !== undefined) return e;
  }
  return null;
}

/** The shown iteration and split, and the cell clicked in the matrix. */
export interface Shown {
  iteration: string | null;
  split: string | null;
  cell: [string, string] | null;
}

/** Tasks whose engine lists the samples (images) behind a matrix cell. */
export const CELL_SAMPLE_TASKS = ["classification", "detection", "instance_segmentation"];

/** The "Samples" panel (the clicked cell) and the "Top losses" panel. */
export class SamplesPanels {
  readonly cell: HTMLElement;
  readonly top: HTMLElement;
  private urls = new ImageUrls();

  constructor() {
    this.cell = el("div", "rw-panel rw-cell-samples");
    this.top = el("div", "rw-panel rw-top-losses");
  }

  /** Draw both panels; `top` is null when the split has no failure data (no scores). */
  update(shown: Shown, top: readonly TopLoss[] | null, g: GalleryState, columns?: readonly string[] | null): void {
    const current = answers(g, shown.iteration, shown.split) ? g : null;
    if (g !== null) this.urls.keepOnly(Object.values(g.images));
    this.drawCell(shown, g, current);
    this.drawTop(top, g, current, columns ?? null);
  }

  private drawCell(shown: Shown, g: GalleryState, current: GalleryState): void {
    const parts: HTMLElement[] = [el("h4", "", "Samples of the clicked cell")];
    const cell = shown.cell;
    if (cell === null) {
      parts.push(el("p", "rw-empty", "Click a cell of the confusion matrix to list its samples."));
    } else if (g === null) {
      parts.push(el("p", "rw-empty", "The samples of a cell come from the kernel; this page has none."));
    } else if (!answers(g, shown.iteration, shown.split, cell)) {
      parts.push(el("p", "rw-empty rw-waiting", "Asking the kernel for the samples (it answers once no cell is running)\u2026"));
    } else {
      const ids = g.ids;
      parts.push(el("div", "rw-muted", `true ${cell[0]}, predicted ${cell[1]}: ${ids.length === 0 ? "no samples" : `${ids.length} sample${ids.length === 1 ? "" : "s"}`}${ids.length >= 50 ? " (a uniform sample)" : ""}`));
      const error = firstError(current, ids);
      if (error !== null) parts.push(el("p", "rw-thumb-message", error));
      const gallery = el("div", "rw-gallery");
      gallery.append(...ids.map((id) => tile(id, current, this.urls)));
      parts.push(gallery);
    }
    this.cell.replaceChildren(...parts);
  }

  private drawTop(top: readonly TopLoss[] | null, g: GalleryState, current: GalleryState, columns: readonly string[] | null): void {
    if (top === null || top.length === 0) {
      this.top.hidden = true;
      this.top.replaceChildren();
      return;
    }
    this.top.hidden = false;
    const parts: HTMLElement[] = [el("h4", "", "Top losses")];
    const enabled = g !== null && g.enabled;
    if (enabled) {
      if (current === null) parts.push(el("p", "rw-empty rw-waiting", "Thumbnails come from the kernel once no cell is running\u2026"));
      const error = firstError(current, top.map((r) => r.id));
      if (error !== null) parts.push(el("p", "rw-thumb-message", error));
      const gallery = el("div", "rw-gallery");
      gallery.append(...top.map((r) => tile(r.id, current, this.urls, `${r.true} \u2192 ${r.predicted}`)));
      parts.push(gallery);
    }
    const t = el("table", "rw-table rw-top-losses-table");
    const head = t.createTHead().insertRow();
    // Vision runs list images, with their own columns in place of true and predicted.
    const titles = columns !== null && columns.length === 3 ? columns : ["True", "Predicted", "Loss"];
    for (const [text, num] of [["Id", false], [titles[0] ?? "", false], [titles[1] ?? "", false], [titles[2] ?? "", true]] as const) {
      const th = document.createElement("th");
      th.textContent = text;
      if (num) th.className = "rw-num";
      head.appendChild(th);
    }
    const format = columnFormat(top.map((r) => r.loss));
    const body = t.createTBody();
    for (const r of top) {
      const tr = body.insertRow();
      tr.insertCell().textContent = String(r.id);
      tr.insertCell().textContent = r.true;
      tr.insertCell().textContent = r.predicted;
      const loss = tr.insertCell();
      loss.className = "rw-num";
      loss.textContent = formatNumber(r.loss, format);
    }
    const wrap = el("div", "rw-metrics-wrap rw-top-losses-wrap");
    wrap.append(t);
    parts.push(wrap);
    this.top.replaceChildren(...parts);
  }

  clear(): void {
    this.urls.keepOnly([]);
  }
}
