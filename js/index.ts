// The RunDetails front end (anywidget): `initialize` follows the model's
// state (snapshot trait + numbered delta messages), `render` draws a view.
import { ChartGrid, LossChart } from "./charts";
import { COMPARE_CSS, OVERLAID, OverlayCache, compareBar, compareMetricsTable, comparePerClassTable, differenceMatrix } from "./compare";
import { GAP_CSS, GapPanel } from "./gap";
import { IterationsChart } from "./iterchart";
import { ConfusionPanel } from "./confusion";
import { FailurePanels } from "./attributes";
import { CELL_SAMPLE_TASKS, SamplesPanels, galleryOf } from "./samples";
import { metricsTable, noPredictions, paramList, perClassTable, pickSplit, splitSelector } from "./detail";
import { clockTime, formatDuration, formatMetric } from "./format";
import { keepKeysInControls } from "./keys";
import { acquireLive, type Live, type Update } from "./live";
import { viewMemory } from "./memory";
import type { Batch, Spec, SplitDetail, WidgetModel } from "./model";
import { CSS } from "./style";
import { IterationsTable } from "./table";
import { applyBars, applyMarks, exactFor, markedSpecs, THRESHOLD_CSS, ThresholdPanel, thresholdView } from "./threshold";
import { ModelWriter } from "./writer";
import { REPLAY_CSS, ReplayPanel, deltaVsBest, replayView, stepsOf } from "./replay";

/**
 * A view's live state, fed by the model's snapshot trait and custom messages.
 * The views of one widget in this page share it (live.ts, keyed by `_uid`):
 * anywidget may hand `initialize` and `render` different model wrappers, so
 * state keyed by the model object is not shared reliably. Each view listens
 * on its own wrapper; a batch that another view already applied is stale.
 * A message sent before any view existed is lost; after such a gap the view
 * takes the trait when it is newer, else asks the kernel for a snapshot (it
 * answers once no cell runs) and waits for it.
 */
function follow(model: WidgetModel): { live: Live; stop: () => void } {
  const { live, release } = acquireLive(model.get("_uid"), model.get("_snapshot"));
  let asked = false;
  const catchUp = (): void => {
    if (!live.waiting) {
      asked = false;
      return;
    }
    live.offer(model.get("_snapshot"));
    if (live.waiting && !asked) {
      asked = true;
      model.send({ kind: "snapshot" });
    }
  };
  const onMsg = (msg: unknown): void => {
    live.receive(msg as Batch);
    catchUp();
  };
  const onSnapshot = (): void => {
    live.offer(model.get("_snapshot"));
    catchUp();
  };
  model.on("msg:custom", onMsg);
  model.on("change:_snapshot", onSnapshot);
  return {
    live,
    stop: () => {
      model.off("msg:custom", onMsg);
      model.off("change:_snapshot", onSnapshot);
      release();
    },
  };
}

/** Milliseconds without news after which a running run's header reads as stale. */
const STALE_MS = 30_000;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s ago` : `${Math.round(s / 60)} min ago`;
}

function render({ model, el: host }: { model: WidgetModel; el: HTMLElement }): () => void {
  const { live, stop: stopFollowing } = follow(model);
  const style = document.createElement("style");
  style.textContent = CSS + THRESHOLD_CSS + COMPARE_CSS + GAP_CSS + REPLAY_CSS;
  const root = el("div", "rw-root");
  root.tabIndex = -1; // a click inside focuses the widget, so Esc reaches it
  keepKeysInControls(root); // not the notebook's shortcuts (keys.ts)
  const header = el("div", "rw-header");
  let picked: string | null = null; // what the user clicked in this page, until the kernel agrees
  // Every write goes through it: it sets only what differs (writer.ts says why).
  const writer = new ModelWriter(model);

  // A replay step of one iteration or split means nothing for another (the kernel
  // resets it too); written only when set (a page saved before it has none).
  const latestStep = (): { replay_step?: null } => ((model.get("replay_step") ?? null) === null ? {} : { replay_step: null });
  const select = (id: string): void => {
    picked = id;
    writer.write({ selected: id, _auto_selected: false, ...latestStep() });
    drawAll();
  };
  // Compare mode: a second iteration beside the shown one, from the details in the page.
  const compareWith = (id: string | null): void => {
    if (writer.write({ compared: id })) {
      drawTable();
      drawDetail();
    }
  };
  const pickRow = (id: string, shift?: boolean): void => {
    if (!shift) select(id);
    else if (id !== selectedId()) compareWith(id);
  };
  root.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && model.get("compared") !== null && model.get("compared") !== undefined) {
      e.preventDefault();
      compareWith(null);
    }
  });
  // What the user set in an earlier view of this widget (the output is redrawn when
  // the cell that fed the run ends).
  const memory = viewMemory(model.get("_uid"));
  const table = new IterationsTable({ metricName: "", onSelect: pickRow, memory });
  const detail = el("div", "rw-detail");
  const failures = new FailurePanels(memory);
  const samples = new SamplesPanels();
  const confusion = new ConfusionPanel({
    memory,
    onCell: (cell) => {
      if (writer.write({ selected_cell: cell })) drawDetail();
    },
    onShown: (labels) => failures.setClasses(labels),
  });
  const charts = new ChartGrid();
  // The score threshold (threshold.ts): what it draws on, and the class scored against the rest.
  let thresholdOn: { sd: SplitDetail; id: string | null; split: string | null; perClass: HTMLElement | null } | null = null;
  let thresholdClass: string | null = null;
  // The replay (replay.ts): the shown split's steps, where its matrix and metrics go.
  let replayOn: { sd: SplitDetail; id: string; split: string; metrics: HTMLElement; matrix: HTMLElement; perClass: HTMLElement | null } | null = null;
  let replayDelta = false;
  /** The matrix of a past step the replay shows, or null at the latest (the detail's own). */
  const replayPast = (): SplitDetail["confusion"] => {
    if (replayOn === null) return null;
    const view = replayView(stepsOf(live.state, replayOn.id, replayOn.split), model.get("replay_step") ?? null);
    return view.latest ? null : (view.snapshot?.confusion ?? null);
  };
  const drawReplay = (): void => {
    if (replayOn === null) return;
    const { sd, id, split, metrics, matrix, perClass } = replayOn;
    const steps = stepsOf(live.state, id, split);
    const view = replayView(steps, model.get("replay_step") ?? null);
    const bestId = live.state.run.best;
    const bestRow = live.state.iterations.find((r) => r.id === bestId);
    const best = bestId === null ? undefined : live.state.details[bestId]?.splits[split]?.confusion;
    const bestName = best && bestRow ? `best #${bestRow.index}` : "";
    replay.show(steps, view, replayDelta, bestName);
    const shown = view.latest || view.snapshot === null ? sd : { ...sd, metrics: view.snapshot.metrics };
    metrics.replaceChildren(metricsTable(shown, live.state.run.primary_metric));
    // The snapshots keep the matrix and metrics only: the per-class panel stays the latest's.
    if (perClass !== null) perClass.textContent = view.latest ? "Per class" : "Per class (latest step)";
    const cm = view.latest ? sd.confusion : (view.snapshot?.confusion ?? sd.confusion);
    if (replayDelta && best && cm) {
      matrix.replaceChildren(deltaVsBest(cm, best, `step ${view.snapshot?.step ?? ""}`, bestName));
    } else {
      if (matrix.firstChild !== confusion.el) matrix.replaceChildren(confusion.el);
      if (view.latest && thresholdOn !== null) drawThreshold();
      else if (cm) confusion.update(cm, model.get("selected_cell"), live.state.run.task);
    }
  };
  const replay = new ReplayPanel({
    onStep: (step) => {
      writer.write({ replay_step: step });
      drawReplay();
    },
    onDelta: (on) => {
      replayDelta = on;
      drawReplay();
    },
  });
  const drawThreshold = (): void => {
    if (thresholdOn === null) return;
    const { sd, id, split, perClass } = thresholdOn;
    // Absent in a page saved before the control, or not synced yet: off.
    const t = model.get("threshold") ?? null;
    const sent = model.get("_threshold_exact") ?? null;
    const view = thresholdView(sd, t, t !== null && exactFor(sent, id, split, t) ? sent : null, thresholdClass);
    if (sd.thresholds) thresholdPanel.show(sd.thresholds, view, t, thresholdClass);
    // A past step of the replay shows that step's matrix, not the threshold's.
    confusion.update(replayPast() ?? view?.confusion ?? sd.confusion, model.get("selected_cell"));
    if (perClass !== null && sd.thresholds?.kind === "detection") {
      perClass.replaceChildren(perClassTable(view?.perClass ? { ...sd, per_class: view.perClass } : sd));
      applyBars(perClassChart, view?.perClass ?? null);
    }
    applyMarks(charts, view?.marks ?? null);
  };
  const thresholdPanel = new ThresholdPanel({
    onThreshold: (t) => {
      writer.write({ threshold: t });
      drawThreshold();
    },
    onClass: (label) => {
      thresholdClass = label;
      drawThreshold();
    },
  });
  const perClassChart = new ChartGrid();
  const gap = new GapPanel();
  const overlays = new OverlayCache();
  const loss = new LossChart(live.state.loss_chart, memory);
  const iterChart = new IterationsChart(live.state.iterations_chart ?? null, { onSelect: (id) => select(id), memory });
  root.append(header, iterChart.el, table.el, detail);
  host.replaceChildren(style, root);

  const selectedId = (): string | null => {
    const s = model.get("selected");
    if (picked !== null) return picked;
    return s ?? live.state.run.auto;
  };

  const drawHeader = (): void => {
    const run = live.state.run;
    const rows = live.state.iterations;
    const best = rows.find((r) => r.is_best);
    const done = rows.filter((r) => !["running", "queued"].includes(r.status)).length;
    const badge = el("span", `rw-badge rw-${run.status.replace(/[^a-z]/g, "")}`, run.status);
    // One line at a notebook cell's width (marimo's is about 700 px): the task
    // goes to the title's tooltip, and a long name is cut short (style.ts).
    const title = el("span", "rw-title", run.name);
    title.title = `${run.name}: ${run.task}, primary metric ${run.primary_metric} (${run.goal})`;
    const parts: HTMLElement[] = [title, badge, el("span", "rw-count", `${done} of ${rows.length} done`)];
    if (run.started !== null && run.started !== undefined) {
      // The kernel's clock and this page's: the same machine's, as a rule.
      const end = run.ended ?? Date.now() / 1000;
      parts.push(el("span", "rw-elapsed rw-muted", `elapsed ${formatDuration(end - run.started)}`));
    }
    if (best !== undefined) {
      // In a narrow cell the name is cut short, never the value (style.ts); the
      // tooltip has it all.
      const value = `${run.primary_metric} ${formatMetric(best.metric)}`;
      const summary = el("span", "rw-best-summary");
      summary.append(el("span", "", "best:"), el("span", "rw-best-name", best.name), el("span", "", value));
      summary.title = `best: ${best.name} (#${best.index}), ${value}`;
      parts.push(summary);
    }
    const going = run.status === "running" || run.status === "queued";
    if (!going && run.ended !== null && run.ended !== undefined) {
      // A clock time, not "n min ago": it stays true without a ticker, in a
      // saved page too, and reads against one's own logs.
      const ended = el("span", "rw-finished rw-muted", `${run.status === "completed" ? "finished" : "ended"} ${clockTime(run.ended * 1000, Date.now())}`);
      ended.title = new Date(run.ended * 1000).toString();
      parts.push(ended);
    } else {
      const age = Date.now() - live.updated;
      const updated = el("span", "rw-updated rw-muted", `updated ${ago(age)}`);
      if (age > STALE_MS && going) {
        updated.classList.add("rw-stale");
        updated.title = "No news from the kernel for a while: is the loop still running?";
      }
      parts.push(updated);
    }
    header.replaceChildren(...parts);
  };

  /** The compared iteration's id, when it is another iteration of the run. */
  const comparedId = (): string | null => {
    const c = model.get("compared") ?? null;
    if (c === null || c === selectedId()) return null;
    return live.state.iterations.some((r) => r.id === c) ? c : null;
  };

  let shownLoss: string | null = null;
  const drawDetail = (): void => {
    const id = selectedId();
    const cid = comparedId();
    if (cid !== null && id !== null) {
      drawComparison(id, cid);
      return;
    }
    const row = live.state.iterations.find((r) => r.id === id);
    const d = id === null ? undefined : live.state.details[id];
    const split = pickSplit(d, model.get("split"));
    const title = el("div", "rw-detail-title", row === undefined ? "No iteration selected" : `Iteration #${row.index}: ${row.name}`);
    const children: HTMLElement[] = [title];
    if (row !== undefined) {
      children.push(el("div", "rw-muted", `${row.status}${d !== undefined && !d.final ? " (live)" : ""}`));
      const params = d?.params ?? []; // absent in payloads older than it
      if (params.length > 0) children.push(paramList(params));
    }
    children.push(
      splitSelector(d, split, (s) => {
        if (writer.write({ split: s, ...latestStep() })) drawDetail();
      }),
    );
    if (row !== undefined) children.push(compareBar(live.state.iterations, id, null, compareWith));
    const sd = d !== undefined && split !== null ? d.splits[split] : undefined;
    thresholdOn = null;
    replayOn = null;
    const importance = d?.importance ?? null; // absent in payloads older than it
    if (sd === undefined) {
      const losses = row === undefined ? [] : (live.state.losses[row.id] ?? []);
      children.push(el("p", "rw-empty", row === undefined ? "" : noPredictions(row.status, losses.length > 0)));
      charts.show(importance === null ? {} : { importance }, ""); // no charts of predictions will come
    } else {
      const fd = sd.failures ?? null;
      failures.setData(fd);
      const panels = el("div", "rw-panels");
      const m = el("div", "rw-panel rw-metrics-wrap");
      const metricsBox = el("div", "rw-replay-metrics");
      metricsBox.append(metricsTable(sd, live.state.run.primary_metric));
      m.append(el("h4", "", "Metrics"), metricsBox);
      panels.append(m);
      const { per_class: perClassSpec, ...detailCharts } = sd.charts;
      let perClassTitle: HTMLElement | null = null;
      if (sd.per_class.length > 0) {
        const pc = el("div", "rw-panel rw-per-class-panel");
        const pcTable = el("div", "rw-metrics-wrap");
        pcTable.append(perClassTable(sd));
        if (sd.thresholds) thresholdOn = { sd, id, split, perClass: pcTable };
        perClassChart.show(perClassSpec === undefined ? {} : { per_class: perClassSpec }, "");
        perClassTitle = el("h4", "", "Per class");
        pc.append(perClassTitle, pcTable, perClassChart.el);
        panels.append(pc);
      }
      if (sd.confusion !== null) {
        const cm = el("div", "rw-panel");
        cm.append(el("h4", "", "Confusion matrix"));
        if (sd.thresholds) {
          thresholdOn ??= { sd, id, split, perClass: null };
          cm.append(thresholdPanel.el);
        }
        confusion.update(sd.confusion, model.get("selected_cell"), live.state.run.task);
        const matrixBox = el("div", "rw-replay-matrix");
        matrixBox.append(confusion.el);
        cm.append(matrixBox);
        // The replay slider, under the matrix, once the split has two steps.
        if (id !== null && split !== null && stepsOf(live.state, id, split).length >= 2) {
          replayOn = { sd, id, split, metrics: metricsBox, matrix: matrixBox, perClass: perClassTitle };
          cm.append(replay.el);
        }
        panels.append(cm);
      }
      failures.draw(); // with the classes the matrix drew just now
      const shown = { iteration: id, split, cell: model.get("selected_cell") };
      const gallery = galleryOf(model.get("_gallery"));
      samples.update(shown, fd?.top_losses ?? null, gallery, fd?.top_columns);
      // The thumbnails of what is shown: the kernel makes them when it can answer.
      if (gallery?.enabled && id !== null && split !== null && d?.final) writer.write({ _gallery_request: { iteration: id, split, cell: shown.cell } });
      const failing = el("div", "rw-failures");
      failing.append(failures.byAttribute, failures.importance);
      // Every classification and detection engine keeps the samples of each cell (ids: given, or the running index).
      if (sd.confusion !== null && CELL_SAMPLE_TASKS.includes(live.state.run.task)) failing.append(samples.cell);
      failing.append(samples.top);
      children.push(panels, failing);
      // A finished iteration without charts (labels only, a vision task) gets none later.
      const waiting = d !== undefined && !d.final ? "Charts appear when the iteration has finished." : "";
      const curves = sd.thresholds?.kind === "classification" ? markedSpecs(detailCharts) : detailCharts;
      charts.show(importance === null ? curves : { ...curves, importance }, waiting);
      drawThreshold();
      drawReplay();
    }
    gap.show(d, id === null ? [] : (live.state.losses[id] ?? []));
    children.push(gap.el);
    const chartRow = el("div", "rw-charts-row");
    chartRow.append(charts.el, loss.el);
    children.push(chartRow);
    detail.replaceChildren(...children);
    if (id !== shownLoss) {
      shownLoss = id;
      loss.replace(id === null ? [] : (live.state.losses[id] ?? []));
    }
  };

  // Both iterations side by side: metrics, per-class table, the difference of the
  // row-normalised matrices, overlaid curves; the shown iteration's loss below.
  const drawComparison = (id: string, cid: string): void => {
    const rows = live.state.iterations;
    const ra = rows.find((r) => r.id === id);
    const rb = rows.find((r) => r.id === cid);
    const da = live.state.details[id];
    const db = live.state.details[cid];
    const names: [string, string] = [`#${ra?.index ?? id}`, `#${rb?.index ?? cid}`];
    const split = pickSplit(da, model.get("split"));
    const title = el("div", "rw-detail-title rw-compare-title", `Iteration ${names[0]}: ${ra?.name ?? ""}  vs  ${names[1]}: ${rb?.name ?? ""}`);
    const children: HTMLElement[] = [title];
    children.push(
      splitSelector(da, split, (s) => {
        if (writer.write({ split: s })) drawDetail();
      }),
    );
    children.push(compareBar(rows, id, cid, compareWith));
    const sa = da !== undefined && split !== null ? da.splits[split] : undefined;
    const sb = db !== undefined && split !== null ? db.splits[split] : undefined;
    if (sa === undefined || sb === undefined) {
      const who = sa === undefined ? names[0] : names[1];
      const what = split === null ? "predictions" : `a ${split} split`;
      const waiting = (sa === undefined ? da : db) === undefined ? "Its details have not reached the page yet." : "";
      children.push(el("p", "rw-empty rw-compare-missing", `${who} has no ${what} to compare. ${waiting}`.trim()));
      charts.show({}, "");
    } else {
      const panels = el("div", "rw-panels");
      const m = el("div", "rw-panel rw-metrics-wrap");
      m.append(el("h4", "", "Metrics"), compareMetricsTable(sa, sb, names, live.state.run.primary_metric));
      panels.append(m);
      if (sa.per_class.length > 0 || sb.per_class.length > 0) {
        const pc = el("div", "rw-panel rw-per-class-panel");
        const wrap = el("div", "rw-metrics-wrap");
        wrap.append(comparePerClassTable(sa, sb, names));
        pc.append(el("h4", "", "Per class"), wrap);
        panels.append(pc);
      }
      if (sa.confusion !== null && sb.confusion !== null) {
        const cm = el("div", "rw-panel rw-diff-panel");
        cm.append(el("h4", "", "Confusion matrix: difference"), differenceMatrix(sa.confusion, sb.confusion, names));
        panels.append(cm);
      }
      children.push(panels);
      const specs: Record<string, Spec> = {};
      for (const [name, spec] of Object.entries(sa.charts)) {
        if (name === "per_class") continue; // the per-class table has both
        const other = sb.charts[name];
        specs[name] = OVERLAID.includes(name) && other !== undefined ? overlays.get(name, spec, other, names) : spec;
      }
      const waiting = !da!.final || !db!.final ? "Charts appear when both iterations have finished." : "";
      charts.show(specs, waiting);
    }
    const chartRow = el("div", "rw-charts-row");
    chartRow.append(charts.el, loss.el);
    children.push(chartRow);
    detail.replaceChildren(...children);
    if (id !== shownLoss) {
      shownLoss = id;
      loss.replace(live.state.losses[id] ?? []);
    }
  };

  // Chart work (the iterations chart; the detail panel, whose specs vega compiles:
  // 100-300 ms on a big run or a new iteration's details) runs after the next paint,
  // coalesced: a row, a status or a loss point is on screen first, whatever the
  // charts cost. A task queued from the frame's callback runs after that frame; a
  // hidden page runs no frames, so a timer draws them anyway.
  let chartsDue = false;
  let iterDue = false;
  let detailDue = false;
  let frame = 0;
  let fallback: ReturnType<typeof setTimeout> | undefined;
  const drawCharts = (): void => {
    if (!chartsDue) return;
    chartsDue = false;
    cancelAnimationFrame(frame);
    clearTimeout(fallback);
    if (iterDue) iterChart.update(live.state, selectedId());
    if (detailDue) drawDetail();
    iterDue = detailDue = false;
  };
  const drawChartsLater = (iter: boolean, det: boolean): void => {
    iterDue ||= iter;
    detailDue ||= det;
    if (chartsDue) return;
    chartsDue = true;
    frame = requestAnimationFrame(() => setTimeout(drawCharts, 0));
    fallback = setTimeout(drawCharts, 250);
  };
  const drawTable = (): void => {
    table.update(live.state.iterations, selectedId(), live.state.run.primary_metric, comparedId());
  };

  const drawAll = (): void => {
    drawHeader();
    iterChart.update(live.state, selectedId());
    drawTable();
    drawDetail();
    iterDue = detailDue = false;
  };

  const onUpdate = (u: Update): void => {
    if (u.kind === "reset") {
      shownLoss = null;
      drawHeader();
      drawTable();
      drawChartsLater(true, true);
      return;
    }
    const id = selectedId();
    drawHeader();
    if (u.deltas.some((d) => d.kind === "iteration" || d.kind === "run")) drawTable();
    let detailChanged = false;
    let replayDue = false;
    for (const d of u.deltas) {
      if (d.kind === "detail" && (d.detail.iteration === id || d.detail.iteration === comparedId())) detailChanged = true;
      if (d.kind === "iteration" && d.row.id === id) detailChanged = true;
      if (d.kind === "run" && picked === null && model.get("selected") === null) detailChanged = true;
      if (d.kind === "step" && d.iteration === id) {
        // The slider grows (and follows, at the latest); it appears at the second step.
        if (replayOn !== null && replayOn.split === d.split) replayDue = true;
        else if (replayOn === null && d.pos >= 1 && d.split === pickSplit(live.state.details[id], model.get("split"))) detailChanged = true;
      }
      if (d.kind === "loss" && d.iteration === id && shownLoss === id) {
        loss.append(d.points);
        if (comparedId() === null) gap.showLoss(live.state.losses[id] ?? []);
      }
    }
    const moved = selectedId() !== id;
    if (replayDue && !detailChanged && !moved) drawReplay();
    drawChartsLater(moved || u.deltas.some((d) => d.kind !== "loss"), detailChanged || moved);
  };

  // marimo applies a kernel update one key at a time, in the message's order:
  // `selected` may change before `_auto_selected` does. The two are read
  // together once the update is in (a microtask later), whatever the order.
  let reconciling = false;
  let closed = false;
  const onSelected = (): void => {
    if (writer.busy || reconciling) return;
    reconciling = true;
    queueMicrotask(() => {
      reconciling = false;
      if (closed) return;
      if (picked !== null && model.get("_auto_selected")) {
        // The kernel's automatic selection must not undo a pick it has not seen yet
        // (page -> kernel messages wait while a cell runs).
        writer.write({ selected: picked, _auto_selected: false });
      } else if (!model.get("_auto_selected")) {
        picked = model.get("selected");
      }
      // It comes with the batch that moved the best: the table first, as for a batch.
      drawHeader();
      drawTable();
      drawChartsLater(true, true);
    });
  };
  const onOther = (): void => {
    if (!writer.busy) drawDetail();
  };
  const onCompared = (): void => {
    if (writer.busy) return;
    drawTable();
    drawDetail();
  };
  const onGallery = (): void => {
    const id = selectedId();
    const d = id === null ? undefined : live.state.details[id];
    const split = pickSplit(d, model.get("split"));
    const fd = d !== undefined && split !== null ? (d.splits[split]?.failures ?? null) : null;
    samples.update({ iteration: id, split, cell: model.get("selected_cell") }, fd?.top_losses ?? null, galleryOf(model.get("_gallery")), fd?.top_columns);
  };

  const stopListening = live.listen(onUpdate);
  model.on("change:selected", onSelected);
  model.on("change:_auto_selected", onSelected);
  model.on("change:split", onOther);
  model.on("change:selected_cell", onOther);
  const onThreshold = (): void => {
    if (!writer.busy) drawThreshold();
  };
  model.on("change:threshold", onThreshold);
  model.on("change:_threshold_exact", onThreshold);
  model.on("change:compared", onCompared);
  model.on("change:_gallery", onGallery);
  const onReplay = (): void => {
    if (!writer.busy) drawReplay();
  };
  model.on("change:replay_step", onReplay);
  const ticker = setInterval(() => {
    const status = live.state.run.status;
    if (status !== "running" && status !== "queued") return;
    drawHeader();
    // A running iteration's duration counts here, from its start: the kernel
    // sends its row again only when something else about it changes.
    const now = Date.now() / 1000;
    let ticked = false;
    for (const r of live.state.iterations) {
      if (r.status === "running" && r.started !== null && r.started !== undefined) {
        r.duration = Math.max(r.duration ?? 0, now - r.started);
        ticked = true;
      }
    }
    if (ticked) drawTable();
  }, 1000);
  // First the header and the table, painted at once; the charts and the detail after
  // that paint.
  drawHeader();
  drawTable();
  drawChartsLater(true, true);

  return () => {
    stopListening();
    stopFollowing();
    closed = true;
    clearInterval(ticker);
    chartsDue = false;
    cancelAnimationFrame(frame);
    clearTimeout(fallback);
    model.off("change:selected", onSelected);
    model.off("change:_auto_selected", onSelected);
    model.off("change:split", onOther);
    model.off("change:selected_cell", onOther);
    model.off("change:threshold", onThreshold);
    model.off("change:_threshold_exact", onThreshold);
    model.off("change:compared", onCompared);
    model.off("change:replay_step", onReplay);
    gap.finalize();
    model.off("change:_gallery", onGallery);
    failures.clear();
    samples.clear();
    charts.clear();
    perClassChart.clear();
    iterChart.finalize();
    loss.finalize();
  };
}

export default { render };
