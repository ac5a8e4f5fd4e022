// The widget's stylesheet (static text; JupyterLab's theme variables with fallbacks).
export const CSS = `
.rw-root { font-family: var(--jp-ui-font-family, system-ui, sans-serif); font-size: 13px;
  color: var(--jp-ui-font-color1, #222); display: flex; flex-direction: column; gap: 10px; }
.rw-header { display: flex; gap: 8px; align-items: baseline; white-space: nowrap; overflow: hidden; }
.rw-header > * { flex: none; }
.rw-header > .rw-muted { font-size: 12px; }
/* One line whatever the width: a long best or run name is cut short, the best's first. */
.rw-header > .rw-title, .rw-best-name { min-width: 0; overflow: hidden; text-overflow: ellipsis; }
.rw-header > .rw-title { flex: 0 1 auto; }
.rw-header > .rw-best-summary { flex: 0 100 auto; min-width: 0; display: flex; gap: 0.35em; align-items: baseline; }
.rw-best-summary > * { flex: none; }
.rw-best-summary > .rw-best-name { flex: 0 1 auto; font-weight: 600; }
.rw-title { font-size: 14px; font-weight: 600; }
.rw-badge { padding: 1px 7px; border-radius: 9px; background: #ddd; font-size: 12px; }
.rw-badge.rw-running { background: #cfe3fa; color: #0b4f9c; }
.rw-badge.rw-completed { background: #d4f0d4; color: #1e6b1e; }
.rw-badge.rw-failed, .rw-badge.rw-interrupted { background: #f8d0d0; color: #8a1c1c; }
.rw-muted { color: var(--jp-ui-font-color2, #666); }
.rw-table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
.rw-table th, .rw-table td { padding: 3px 8px; border-bottom: 1px solid var(--jp-border-color2, #e0e0e0); text-align: left; }
.rw-table th { font-weight: 600; }
.rw-num { text-align: right !important; }
.rw-table-wrap { max-height: 260px; overflow: auto; outline: none; }
.rw-table-wrap:focus { box-shadow: 0 0 0 2px #9ecbff; }
.rw-more { padding: 4px 8px; font-size: 12px; }
.rw-more button { font-size: 12px; margin-left: 4px; }
.rw-sortable { cursor: pointer; user-select: none; }
.rw-row { cursor: pointer; }
.rw-row:hover { background: rgba(0,0,0,0.04); }
.rw-row.rw-best, .rw-row.rw-best:hover { background: #fff7d6; }
.rw-row.rw-selected, .rw-row.rw-selected:hover { background: #d6e8ff; box-shadow: inset 3px 0 #4c78a8; }
.rw-star { color: #c99a00; }
.rw-detail-title { font-size: 14px; font-weight: 600; }
.rw-params { display: flex; flex-wrap: wrap; gap: 2px 14px; font-size: 12px; margin: 2px 0 4px; max-width: 900px; }
.rw-param { max-width: 320px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.rw-param-name { color: var(--jp-ui-font-color2, #666); }
.rw-splits { display: flex; gap: 4px; }
.rw-split { border: 1px solid #bbb; background: transparent; border-radius: 4px; padding: 2px 10px; cursor: pointer; color: inherit; }
.rw-split.rw-active { background: #4c78a8; color: white; border-color: #4c78a8; }
.rw-panels { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
.rw-panel h4 { margin: 4px 0; font-size: 13px; font-weight: 600; }  /* marimo's reset makes headings plain */
.rw-metrics-wrap { overflow: auto; }  /* the metrics list in full: 26 rows at most */
.rw-primary td:first-child { font-weight: 600; }  /* bold figures are wider: the value stays on the point */
.rw-controls { display: flex; gap: 12px; margin-bottom: 6px; }
.rw-matrix th { text-align: center; min-width: 28px; }
.rw-matrix td { text-align: right; min-width: 28px; }  /* numbers aligned on the point */
.rw-matrix .rw-row-label { text-align: right; }
.rw-cell.rw-dark { color: white; }
.rw-cell.rw-diag { font-weight: 600; }
.rw-clickable { cursor: pointer; }
.rw-cell-selected { outline: 2px solid #e45756; outline-offset: -2px; }
.rw-charts { display: flex; flex-wrap: wrap; gap: 12px; }
.rw-stale { color: #b35900; font-weight: 600; }
.rw-group td { font-weight: 600; background: var(--jp-layout-color2, #f3f3f3); text-transform: capitalize; }
.rw-metric-row td:first-child { padding-left: 16px; }
.rw-cell.rw-other { color: #555; }
.rw-class-filter { display: flex; flex-wrap: wrap; gap: 4px 10px; max-width: 640px; max-height: 120px; overflow: auto; margin-bottom: 6px; }
.rw-class-option { display: inline-flex; gap: 3px; align-items: center; white-space: nowrap; }
.rw-iterchart { display: flex; flex-direction: column; gap: 4px; }
.rw-metric-picker { font-size: 12px; }
.rw-per-class-panel { display: flex; flex-direction: column; gap: 6px; }
.rw-per-class-panel .rw-metrics-wrap { max-height: 240px; }
.rw-loss-controls { display: flex; gap: 14px; align-items: center; font-size: 12px; margin-bottom: 2px; }
.rw-loss-controls label { display: inline-flex; gap: 4px; align-items: center; white-space: nowrap; }
.rw-loss-smoothing { width: 110px; }
.rw-loss-smoothing-value { font-variant-numeric: tabular-nums; min-width: 2.4em; }
.rw-root [hidden] { display: none !important; }
.rw-empty { color: var(--jp-ui-font-color2, #666); font-style: italic; }
.rw-empty:empty { display: none; }
.rw-failures { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
.rw-attribute-body { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.rw-buckets td { white-space: nowrap; font-size: 12px; }
.rw-attribute-note { font-size: 12px; margin-bottom: 4px; }
.rw-gallery { display: flex; flex-wrap: wrap; gap: 6px; max-width: 560px; max-height: 300px; overflow: auto; margin: 4px 0; }
.rw-sample { margin: 0; width: 100px; display: flex; flex-direction: column; align-items: center; gap: 2px; font-size: 11px; }
.rw-sample figcaption { max-width: 100px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; text-align: center; }
.rw-thumb { max-width: 96px; max-height: 96px; }
.rw-thumb-error, .rw-thumb-waiting { width: 64px; height: 64px; display: flex; align-items: center; justify-content: center;
  background: var(--jp-layout-color2, #f3f3f3); font-size: 11px; }
.rw-thumb-error { color: #a33; }
.rw-thumb-message { color: #a33; font-size: 12px; margin: 2px 0; max-width: 560px; }
.rw-top-losses-wrap { max-height: 240px; }
`;
