// The dashboard's script (served as /dashboard/assets/app.js), plain ES2017 for any current browser. Every value from
// the server is written with textContent or as an attribute's value, never parsed as markup; the page polls the JSON
// view every two seconds and redraws only the rows of the page on screen.
export const SCRIPT = String.raw`'use strict';
(function () {
  var POLL_MS = 2000;
  var state = { view: 'hosts', sort: 'name', q: '', page: 1, limit: 25, pages: 1, timer: 0, inFlight: false, seq: 0 };
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function fmtRate(r) { return r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2); }
  function fmtPct(x) { return (x * 100).toFixed(x > 0 && x < 0.01 ? 2 : 1) + '%'; }
  function fmtMs(ms) { return ms < 0 ? '–' : ms >= 10000 ? '> 5 s' : ms >= 1000 ? (ms / 1000).toFixed(2) + ' s' : ms.toFixed(ms < 10 ? 1 : 0) + ' ms'; }

  function stat(label, value) {
    var s = el('span');
    s.appendChild(document.createTextNode(label + ' '));
    s.appendChild(el('b', '', value));
    return s;
  }
  function trafficStats(t) {
    var box = el('div', 'stats');
    box.appendChild(stat('req/s', fmtRate(t.rate)));
    box.appendChild(stat('errors', fmtPct(t.errorRate)));
    box.appendChild(stat('p95', fmtMs(t.latencyP95Ms)));
    return box;
  }

  function cards(s) {
    var box = $('cards');
    box.replaceChildren();
    function card(label, value, bad, id) {
      var c = el('div', 'card' + (bad ? ' bad' : ''));
      if (id) c.id = id;
      c.appendChild(el('div', 'label', label));
      c.appendChild(el('div', 'value', value));
      box.appendChild(c);
    }
    card('Requests / s', fmtRate(s.traffic.rate), false, 'card-rate');
    card('Errors (5xx)', fmtPct(s.traffic.errorRate), s.traffic.errorRate > 0.01, 'card-errors');
    card('Latency p95', fmtMs(s.traffic.latencyP95Ms), false, 'card-latency');
    card('Hosts', s.hosts, false, 'card-hosts');
    card('Ingresses', s.ingresses, false, 'card-ingresses');
    card('Invalid / ignored', s.invalid + ' / ' + s.ignored, s.invalid > 0, 'card-invalid');
    card('Certs expiring < 14 d', s.expiringSoon, s.expiringSoon > 0, 'card-certs');
  }

  function endpointsOf(svc) {
    var box = el('div', 'endpoints');
    if (svc.unavailable) box.appendChild(el('span', 'ep down', svc.unavailable));
    svc.endpoints.forEach(function (e) {
      var chip = el('span', 'ep ' + e.health, e.endpoint);
      chip.setAttribute('data-health', e.health);
      chip.title = e.health + (e.failedAttempts ? ', ' + e.failedAttempts + ' failed attempts' : '');
      box.appendChild(chip);
    });
    if (svc.moreEndpoints) box.appendChild(el('span', 'ep more', '+' + svc.moreEndpoints + ' more (' + svc.moreHealthy + ' up)'));
    return box;
  }
  function serviceCell(svc, label) {
    var cell = el('div');
    if (!svc) { cell.appendChild(el('span', 'sub', 'unknown backend')); return cell; }
    cell.appendChild(el('div', 'mono', (label ? label + ' ' : '') + svc.service + ':' + svc.port));
    cell.appendChild(endpointsOf(svc));
    return cell;
  }

  function renderHosts(items) {
    var rows = $('rows');
    items.forEach(function (h) {
      var card = el('article', 'host');
      card.setAttribute('data-host', h.host);
      var head = el('div', 'host-head');
      var name = el('div', 'host-name', h.host);
      if (h.tls) name.appendChild(el('span', 'badge ok', 'TLS'));
      if (h.aliases.length) name.appendChild(el('span', 'badge', 'aliases: ' + h.aliases.join(', ')));
      head.appendChild(name);
      head.appendChild(trafficStats(h.traffic));
      card.appendChild(head);
      h.routes.forEach(function (r) {
        var row = el('div', 'route');
        var p = el('div');
        p.appendChild(el('div', 'path mono', r.path || '(any path)'));
        p.appendChild(el('div', 'sub', r.pathType));
        row.appendChild(p);
        var ing = el('div');
        ing.appendChild(el('div', 'mono', r.ingress));
        ing.appendChild(el('div', 'sub', 'Ingress'));
        row.appendChild(ing);
        var svc = serviceCell(r.service, '');
        if (r.canary) svc.appendChild(serviceCell(r.canary, 'canary'));
        row.appendChild(svc);
        card.appendChild(row);
      });
      if (h.moreRoutes) card.appendChild(el('div', 'more-routes', '+' + h.moreRoutes + ' more paths: search for a path, Ingress or Service to see them'));
      rows.appendChild(card);
    });
  }

  function table(headers, items, cellsOf) {
    var t = el('table');
    var head = el('thead');
    var tr = el('tr');
    headers.forEach(function (h) { tr.appendChild(el('th', '', h)); });
    head.appendChild(tr);
    t.appendChild(head);
    var body = el('tbody');
    items.forEach(function (it) {
      var row = el('tr');
      cellsOf(it).forEach(function (c, i) {
        var td = c instanceof Node ? (function () { var d = el('td'); d.appendChild(c); return d; })() : el('td', '', c);
        td.setAttribute('data-label', headers[i]);
        row.appendChild(td);
      });
      body.appendChild(row);
    });
    t.appendChild(body);
    var wrap = el('div', 'table-wrap');
    wrap.appendChild(t);
    $('rows').appendChild(wrap);
  }
  function badge(text, kind) { return el('span', 'badge ' + kind, text); }

  function renderIngresses(items) {
    table(['Ingress', 'Status', 'req/s', 'Errors', 'p95', 'Diagnostics'], items, function (i) {
      var status = el('span');
      status.appendChild(badge(i.status, i.status === 'ok' ? 'ok' : i.status === 'invalid' ? 'bad' : 'warn'));
      if (i.reason) status.appendChild(el('div', 'sub', i.reason));
      return [i.ingress, status, fmtRate(i.traffic.rate), fmtPct(i.traffic.errorRate), fmtMs(i.traffic.latencyP95Ms), String(i.diagnostics)];
    });
  }
  function renderCertificates(items) {
    table(['Secret', 'Hosts', 'Expires', 'Days left'], items, function (c) {
      var days = badge(String(c.daysLeft), c.daysLeft < 0 ? 'bad' : c.daysLeft < 14 ? 'warn' : 'ok');
      return [c.secret, c.hosts.join(', ') || '(default certificate)', c.notAfter.slice(0, 10), days];
    });
  }
  function renderProblems(items) {
    table(['Level', 'Object', 'Rule', 'Field', 'Reason'], items, function (d) {
      return [badge(d.level, d.level === 'error' ? 'bad' : 'warn'), d.object, d.rule, d.field, d.message];
    });
  }

  function render(data) {
    $('live').textContent = 'live · updated ' + new Date(data.generatedAt || Date.now()).toLocaleTimeString() + ' · last ' + (data.windowSeconds || 60) + ' s';
    $('live').classList.remove('stale');
    if (data.summary) cards(data.summary);
    state.pages = data.pages;
    state.page = data.page;
    $('page-info').textContent = 'page ' + data.page + ' of ' + data.pages + ' · ' + data.total + (data.total === 1 ? ' match' : ' matches');
    $('prev').disabled = data.page <= 1;
    $('next').disabled = data.page >= data.pages;
    var rows = $('rows');
    rows.replaceChildren();
    if (!data.live) { rows.appendChild(el('div', 'empty', 'No configuration is live yet.')); return; }
    if (data.items.length === 0) { rows.appendChild(el('div', 'empty', state.q ? 'Nothing matches “' + state.q + '”.' : 'Nothing here.')); return; }
    if (data.view === 'hosts') renderHosts(data.items);
    else if (data.view === 'ingresses') renderIngresses(data.items);
    else if (data.view === 'certificates') renderCertificates(data.items);
    else renderProblems(data.items);
  }

  function load() {
    if (state.inFlight) return;
    state.inFlight = true;
    var seq = ++state.seq;
    var url = '/debug/dashboard.json?view=' + encodeURIComponent(state.view) + '&sort=' + encodeURIComponent(state.sort) + '&q=' + encodeURIComponent(state.q) + '&page=' + state.page + '&limit=' + state.limit;
    fetch(url, { cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (data) { if (seq === state.seq) render(data); })
      .catch(function (e) { $('live').textContent = 'disconnected (' + e.message + '), retrying'; $('live').classList.add('stale'); })
      .then(function () { state.inFlight = false; });
  }
  function reload() { state.inFlight = false; load(); }

  function selectView(view) {
    state.view = view;
    state.page = 1;
    Array.prototype.forEach.call(document.querySelectorAll('#tabs button'), function (b) { b.setAttribute('aria-selected', String(b.getAttribute('data-view') === view)); });
    history.replaceState(null, '', '#' + view);
    // Only hosts and Ingresses have traffic to order by.
    $('sort').hidden = view !== 'hosts' && view !== 'ingresses';
    reload();
  }

  function explain(ev) {
    ev.preventDefault();
    var url = $('explain-url').value.trim();
    var out = $('explain-answer');
    if (!url) return;
    if (!/^[a-z]+:\/\//i.test(url)) url = 'http://' + url;
    out.hidden = false;
    out.textContent = 'explaining…';
    fetch('/debug/explain?output=text&method=' + encodeURIComponent($('explain-method').value) + '&url=' + encodeURIComponent(url), { cache: 'no-store' })
      .then(function (r) { return r.text(); })
      .then(function (t) { out.textContent = t; })
      .catch(function (e) { out.textContent = 'explain failed: ' + e.message; });
  }

  document.addEventListener('DOMContentLoaded', function () {
    Array.prototype.forEach.call(document.querySelectorAll('#tabs button'), function (b) {
      b.addEventListener('click', function () { selectView(b.getAttribute('data-view')); });
    });
    var debounce = 0;
    $('search').addEventListener('input', function () {
      clearTimeout(debounce);
      debounce = setTimeout(function () { state.q = $('search').value.trim(); state.page = 1; reload(); }, 200);
    });
    $('sort').addEventListener('change', function () { state.sort = $('sort').value; state.page = 1; reload(); });
    $('prev').addEventListener('click', function () { if (state.page > 1) { state.page--; reload(); } });
    $('next').addEventListener('click', function () { if (state.page < state.pages) { state.page++; reload(); } });
    $('explain').addEventListener('submit', explain);
    var initial = location.hash.slice(1);
    selectView(['hosts', 'ingresses', 'certificates', 'problems'].indexOf(initial) >= 0 ? initial : 'hosts');
    state.timer = setInterval(function () { if (!document.hidden) load(); }, POLL_MS);
  });
})();
`;
