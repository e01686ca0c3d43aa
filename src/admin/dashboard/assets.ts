// The dashboard's page, style sheet and script: served from Portico itself (clusters have no internet: no CDN, no web
// font), as fixed text that carries no data. The script fetches the data as JSON and writes every value with
// textContent, so a hostname, path or diagnostic message is never markup; the page's Content-Security-Policy lets
// nothing but these two files run or style it.

/** Where the page's script and style sheet are served; nothing else lives under it. */
export const ASSET_PREFIX = '/dashboard/assets/';

export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Portico</title>
<link rel="icon" href="${ASSET_PREFIX}icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${ASSET_PREFIX}app.css">
<script src="${ASSET_PREFIX}app.js" defer></script>
</head>
<body>
<header class="top">
  <h1>Portico</h1>
  <span id="live" class="live" aria-live="polite">connecting…</span>
</header>
<main>
  <section class="cards" id="cards" aria-label="Summary"></section>
  <section class="panel" aria-labelledby="explain-title">
    <h2 id="explain-title">Explain a request</h2>
    <form id="explain" class="explain">
      <select id="explain-method" aria-label="Method">
        <option>GET</option><option>HEAD</option><option>POST</option><option>PUT</option><option>PATCH</option><option>DELETE</option><option>OPTIONS</option>
      </select>
      <input id="explain-url" type="text" inputmode="url" placeholder="http://shop.example.com/api/items" aria-label="URL" autocomplete="off" spellcheck="false">
      <button type="submit">Explain</button>
    </form>
    <pre id="explain-answer" class="answer" hidden></pre>
  </section>
  <section class="panel">
    <nav class="tabs" role="tablist" id="tabs">
      <button role="tab" data-view="hosts">Hosts</button>
      <button role="tab" data-view="ingresses">Ingresses</button>
      <button role="tab" data-view="certificates">Certificates</button>
      <button role="tab" data-view="problems">Problems</button>
    </nav>
    <div class="toolbar">
      <input id="search" type="search" placeholder="Search hosts, paths, Ingresses, Services…" aria-label="Search" autocomplete="off" spellcheck="false">
      <select id="sort" aria-label="Order">
        <option value="name">by name</option><option value="rate">busiest first</option><option value="errors">most 5xx first</option>
      </select>
      <div class="pager">
        <button id="prev" type="button" aria-label="Previous page">‹</button>
        <span id="page-info"></span>
        <button id="next" type="button" aria-label="Next page">›</button>
      </div>
    </div>
    <div id="rows" class="rows"></div>
  </section>
</main>
</body>
</html>
`;

/** A browser asks for an icon whatever the page says: one of its own, so that no request of the page fails. */
export const ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#2457c5"/><path d="M4 13V3h4.5a3 3 0 0 1 0 6H6.5v4z" fill="#fff"/></svg>';

export const STYLE = `
:root {
  --bg: #f6f7f9; --panel: #fff; --text: #1d2330; --muted: #5f6b7a; --line: #e2e6ec; --accent: #2457c5;
  --up: #1a7f37; --up-bg: #dcf5e3; --down: #c42b1c; --down-bg: #fde2df; --warn: #9a6700; --warn-bg: #fff1c2; --unknown-bg: #eceff3;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 15px; line-height: 1.45; color: var(--text); background: var(--bg);
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #12151b; --panel: #1b1f27; --text: #e4e8ee; --muted: #9aa5b4; --line: #2c323d; --accent: #7aa2ff;
    --up: #5cd17f; --up-bg: #143322; --down: #ff7b6e; --down-bg: #3d1a17; --warn: #f2c14e; --warn-bg: #3a3015; --unknown-bg: #2a2f38; }
}
* { box-sizing: border-box; }
body { margin: 0; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 0.9em; }
.top { display: flex; align-items: baseline; gap: 1rem; padding: 0.8rem 1.25rem; background: var(--panel); border-bottom: 1px solid var(--line); }
.top h1 { font-size: 1.25rem; margin: 0; letter-spacing: 0.02em; }
.live { color: var(--muted); font-size: 0.85rem; }
.live.stale { color: var(--down); }
main { max-width: 1200px; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 0.75rem; margin-bottom: 1rem; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 0.7rem 0.9rem; }
.card .label { color: var(--muted); font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.04em; }
.card .value { font-size: 1.5rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.card.bad .value { color: var(--down); }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 1rem; margin-bottom: 1rem; }
.panel h2 { font-size: 1rem; margin: 0 0 0.6rem; }
.explain { display: flex; gap: 0.5rem; flex-wrap: wrap; }
.explain input { flex: 1 1 16rem; min-width: 0; }
input, select, button { font: inherit; color: inherit; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 0.4rem 0.6rem; }
button { cursor: pointer; }
button[type=submit] { background: var(--accent); border-color: var(--accent); color: #fff; }
button:disabled { opacity: 0.4; cursor: default; }
.answer { margin: 0.75rem 0 0; padding: 0.75rem; background: var(--bg); border-radius: 6px; overflow-x: auto; white-space: pre-wrap; word-break: break-word; }
.tabs { display: flex; gap: 0.25rem; border-bottom: 1px solid var(--line); margin-bottom: 0.75rem; overflow-x: auto; }
.tabs button { border: none; border-bottom: 2px solid transparent; border-radius: 0; background: none; padding: 0.5rem 0.75rem; white-space: nowrap; }
.tabs button[aria-selected=true] { border-bottom-color: var(--accent); color: var(--accent); font-weight: 600; }
.tabs .count { color: var(--muted); font-weight: 400; margin-left: 0.3rem; }
.toolbar { display: flex; gap: 0.75rem; align-items: center; flex-wrap: wrap; margin-bottom: 0.75rem; }
.toolbar input { flex: 1 1 14rem; min-width: 0; }
.pager { display: flex; align-items: center; gap: 0.5rem; color: var(--muted); font-size: 0.9rem; white-space: nowrap; }
.rows { display: flex; flex-direction: column; gap: 0.75rem; }
.empty { color: var(--muted); padding: 1rem 0; }
.host { border: 1px solid var(--line); border-radius: 8px; padding: 0.75rem; }
.host-head { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: baseline; justify-content: space-between; }
.host-name { font-weight: 600; font-size: 1.05rem; word-break: break-all; }
.stats { display: flex; gap: 1rem; color: var(--muted); font-size: 0.85rem; font-variant-numeric: tabular-nums; }
.stats b { color: var(--text); font-weight: 600; }
.badge { display: inline-block; white-space: nowrap; font-size: 0.75rem; padding: 0.05rem 0.45rem; border-radius: 999px; background: var(--unknown-bg); color: var(--muted); margin-left: 0.4rem; vertical-align: middle; }
.badge.ok { background: var(--up-bg); color: var(--up); }
.badge.bad { background: var(--down-bg); color: var(--down); }
.badge.warn { background: var(--warn-bg); color: var(--warn); }
.route { display: grid; grid-template-columns: minmax(8rem, 1.2fr) minmax(8rem, 1fr) minmax(10rem, 2fr); gap: 0.25rem 1rem; padding: 0.5rem 0; border-top: 1px dashed var(--line); align-items: start; }
.route:first-of-type { margin-top: 0.5rem; }
.route .path { word-break: break-all; }
.route .sub { color: var(--muted); font-size: 0.8rem; word-break: break-all; }
.endpoints { display: flex; flex-wrap: wrap; gap: 0.3rem; margin-top: 0.2rem; }
.ep { font-size: 0.8rem; padding: 0.1rem 0.45rem; border-radius: 4px; border: 1px solid transparent; }
.ep.up { background: var(--up-bg); color: var(--up); }
.ep.down, .ep.failing { background: var(--down-bg); color: var(--down); border-color: var(--down); font-weight: 600; }
.ep.terminating { background: var(--warn-bg); color: var(--warn); }
.ep.unknown, .ep.more { background: var(--unknown-bg); color: var(--muted); }
.more-routes { color: var(--muted); font-size: 0.85rem; padding-top: 0.5rem; border-top: 1px dashed var(--line); }
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 0.45rem 0.5rem; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: break-word; }
th { white-space: nowrap; color: var(--muted); font-weight: 500; font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.04em; }
td:last-child { overflow-wrap: anywhere; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
@media (max-width: 700px) {
  main { padding: 0.75rem 0.6rem 2rem; }
  .route { grid-template-columns: 1fr; }
  .tabs button { padding: 0.5rem 0.45rem; }
  .cards { grid-template-columns: repeat(2, 1fr); }
  .card .value { font-size: 1.2rem; }
  table, thead, tbody, tr, th, td { display: block; }
  thead { display: none; }
  tr { border-bottom: 1px solid var(--line); padding: 0.4rem 0; }
  td { border: none; padding: 0.15rem 0; }
  td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); font-size: 0.8rem; }
}
`;
