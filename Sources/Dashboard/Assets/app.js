'use strict';
const $ = (id) => document.getElementById(id);
let series = [], recalcs = [], hours = [], state = null, offset = 0, updates = 0;
const seenRates = new Set();

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}
function fmt(n, digits = 2) { return (n === null || n === undefined || !isFinite(n)) ? '–' : Number(n).toFixed(digits); }
function pct(n) { return (n === null || n === undefined || !isFinite(n)) ? '–' : (100 * n).toFixed(1) + '%'; }
function dur(s) {
  if (s === null || s === undefined) return 'permanent';
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), r = s % 60;
  return (h ? h + 'h' : '') + (h || m ? String(m).padStart(h ? 2 : 1, '0') + 'm' : '') + String(r).padStart(2, '0') + 's';
}
function bytes(n) { return n >= 1e6 ? fmt(n / 1e6, 1) + ' MB' : n >= 1e3 ? fmt(n / 1e3, 0) + ' kB' : n + ' B'; }
function fill(tbody, items, cells) {
  tbody.replaceChildren(...items.map((item) => {
    const row = el('tr');
    for (const cell of cells(item, row)) row.appendChild(cell instanceof Node ? cell : el('td', cell));
    return row;
  }));
}
function now() { return Date.now() / 1000 + offset; }

function render(s) {
  const g = s.guard;
  $('name').textContent = s.name;
  $('rps').textContent = fmt(g.globalRPS);
  $('mean').textContent = g.baseline ? fmt(g.baseline.mean) : (g.warm ? '–' : 'learning');
  $('stddev').textContent = g.baseline ? fmt(g.baseline.stddev) : '–';
  $('source').textContent = g.baseline ? '(baseline: ' + g.baseline.source + ', ' + g.baseline.points + ' s)' : '';
  $('bancount').textContent = g.bans.length;
  $('load').textContent = fmt(s.host.load) + ' / ' + s.host.cores;
  $('mem').textContent = s.host.memUsedPct === null || s.host.memUsedPct === undefined ? '–' : fmt(s.host.memUsedPct, 1) + '%';
  $('lines').textContent = g.lines + ' / ' + g.badLines;
  $('lag').textContent = (g.lagSeconds === undefined || g.lagSeconds === null ? '–' : fmt(g.lagSeconds, 1) + ' s') + ' / ' + bytes(g.backlogBytes);
  $('reading').hidden = !g.readingProblem;
  $('reading').textContent = g.readingProblem ? g.readingProblem + ' The shapes of the latest malformed lines are below.' : '';
  fill($('top'), g.top, (c, row) => {
    if (c.banned) row.className = 'hot';
    return [c.ip, fmt(c.rps), fmt(c.expected), el('td', fmt(c.z), c.z >= g.zThreshold ? 'hot' : '')];
  });
  fill($('bans'), g.bans, (b, row) => {
    row.dataset.ip = b.ip;
    const remaining = el('td', '', 'remaining');
    remaining.dataset.until = b.until === undefined || b.until === null ? '' : String(b.until);
    const cell = el('td');
    const button = el('button', 'unban');
    button.addEventListener('click', () => unban(b.ip));
    cell.appendChild(button);
    return [b.ip, b.reason, b.offence, remaining, cell];
  });
  tick();
  $('fleet').hidden = !g.shared;
  if (g.shared) {
    $('shared').textContent = '(this edge: ' + g.shared.edge + '; database ' + (g.shared.connected ? 'answers' : 'away: ' + (g.shared.problem || '?'))
      + (g.shared.pending ? '; ' + g.shared.pending + ' decisions queued' : '') + ')';
    const normal = g.shared.siteBaseline;
    $('site').textContent = 'site: ' + fmt(g.shared.siteRPS) + ' req/s from ' + g.shared.siteEdges + ' edges'
      + (normal ? '; normal ' + fmt(normal.mean) + ' ± ' + fmt(normal.stddev) + ' req/s (' + normal.source + ')' : '; learning its normal');
    fill($('edges'), g.shared.edges, (e, row) => {
      row.dataset.edge = e.edge;
      const age = g.at - e.heartbeat;
      return [e.edge, el('td', dur(age) + ' ago', age > 15 ? 'block' : ''), fmt(e.linesPerSecond), e.bans];
    });
  }
  if (s.deploy) {
    fill($('tracks'), s.deploy.tracks, (t) => [t.track, t.version, el('td', t.healthy ? 'healthy' : 'down', t.healthy ? 'pass' : 'block'),
      t.weight + '%', fmt(t.rps), pct(t.errorRate), t.p99MS === undefined || t.p99MS === null ? '–' : fmt(t.p99MS, 0) + ' ms']);
    $('policies').replaceChildren(...s.deploy.policies.map((p) => {
      const item = el('li');
      item.appendChild(el('span', p.allow ? 'PASS ' : 'BLOCK ', p.allow ? 'pass' : 'block'));
      item.appendChild(el('span', p.policy + (p.reasons.length ? ': ' + p.reasons.join('; ') : '')));
      return item;
    }));
  } else {
    $('tracks').replaceChildren();
    $('policies').replaceChildren(el('li', 'no stack deployed from this manifest', 'muted'));
  }
  $('events').replaceChildren(...g.events.slice().reverse().map((line) => el('li', line)));
  $('bad').replaceChildren(...g.badSamples.slice().reverse().map((line) => el('li', line)));
}

function tick() {
  if (state) $('uptime').textContent = dur(now() - state.guard.startedAt);
  for (const cell of document.querySelectorAll('td.remaining')) {
    cell.textContent = cell.dataset.until === '' ? 'permanent' : dur(Number(cell.dataset.until) - now());
  }
}

function draw() {
  const canvas = $('chart');
  const width = canvas.clientWidth, height = canvas.clientHeight, ratio = window.devicePixelRatio || 1;
  canvas.width = width * ratio; canvas.height = height * ratio;
  const c = canvas.getContext('2d');
  c.scale(ratio, ratio);
  c.clearRect(0, 0, width, height);
  const end = Math.floor(now()), start = end - 1800, z = state ? state.guard.zThreshold : 3;
  const x = (t) => 40 + (t - start) / 1800 * (width - 50);
  const band = (t) => { let r = null; for (const item of recalcs) { if (item.at <= t) r = item; else break; } return r; };
  let top = 1;
  for (const p of series) if (p.t >= start) top = Math.max(top, p.v);
  for (const r of recalcs) top = Math.max(top, r.summary.mean + z * r.summary.stddev);
  for (const h of hours) top = Math.max(top, h.mean);
  top *= 1.15;
  const y = (v) => height - 20 - v / top * (height - 30);
  c.strokeStyle = '#2a3542'; c.fillStyle = '#7d8b99'; c.font = '11px system-ui'; c.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = top * i / 4;
    c.beginPath(); c.moveTo(40, y(v)); c.lineTo(width - 10, y(v)); c.stroke();
    c.fillText(v.toFixed(v < 10 ? 1 : 0), 4, y(v) + 4);
  }
  for (let m = 30; m >= 0; m -= 10) c.fillText(m ? '-' + m + 'm' : 'now', x(end - m * 60) - 12, height - 4);
  c.fillStyle = 'rgba(79, 179, 255, 0.15)';
  for (let t = start; t < end; t += 10) {
    const r = band(t);
    if (!r) continue;
    const hi = r.summary.mean + z * r.summary.stddev, lo = Math.max(0, r.summary.mean - z * r.summary.stddev);
    c.fillRect(x(t), y(hi), x(t + 10) - x(t), y(lo) - y(hi));
  }
  c.strokeStyle = '#f2b84b'; c.setLineDash([4, 4]);
  for (const h of hours) {
    const from = Math.max(start, Math.floor(end / 86400) * 86400 + h.hour * 3600), to = Math.min(end, from + 3600);
    if (to <= from) continue;
    c.beginPath(); c.moveTo(x(from), y(h.mean)); c.lineTo(x(to), y(h.mean)); c.stroke();
  }
  c.setLineDash([]); c.strokeStyle = '#4fb3ff'; c.beginPath();
  let first = true;
  for (const p of series) {
    if (p.t < start) continue;
    if (first) { c.moveTo(x(p.t), y(p.v)); first = false; } else c.lineTo(x(p.t), y(p.v));
  }
  c.stroke();
}

async function loadHistory() {
  const answer = await fetch('/api/history?minutes=30', { credentials: 'same-origin' });
  if (!answer.ok) return;
  const history = await answer.json();
  series = history.seconds.map((s) => ({ t: s.second, v: s.requests }));
  recalcs = history.recalcs;
  hours = history.hours;
  draw();
}

async function unban(ip) {
  const answer = await fetch('/api/unban', {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-SwiftDeploy-Action': 'unban' },
    body: JSON.stringify({ ip: ip }),
  });
  let message = 'unban of ' + ip + ' handed to the guard';
  if (!answer.ok) {
    const problem = await answer.json().catch(() => ({}));
    message = problem.error || ('unban refused: ' + answer.status);
  }
  $('action').textContent = message;
}

function connect() {
  const events = new EventSource('/api/events');
  events.onopen = () => { $('conn').textContent = 'live'; };
  events.onerror = () => { $('conn').textContent = 'reconnecting…'; };
  events.onmessage = (event) => {
    state = JSON.parse(event.data);
    offset = state.serverTime - Date.now() / 1000;
    updates += 1;
    seenRates.add(state.guard.globalRPS);
    document.body.dataset.updates = String(updates);
    document.body.dataset.rates = String(seenRates.size);
    const last = state.guard.lastSecond;
    if (last && (!series.length || series[series.length - 1].t < last.second)) series.push({ t: last.second, v: last.requests });
    if (state.guard.baseline && (!recalcs.length || recalcs[recalcs.length - 1].summary.mean !== state.guard.baseline.mean)) {
      recalcs.push({ at: state.guard.at, summary: state.guard.baseline });
    }
    while (series.length && series[0].t < state.guard.at - 1800) series.shift();
    render(state);
    draw();
  };
}

setInterval(tick, 1000);
window.addEventListener('resize', draw);
loadHistory().finally(connect);