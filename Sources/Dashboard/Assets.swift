import Vocabulary
/// The dashboard's page, script and style, compiled into the binary: nothing is fetched from
/// anywhere else. Everything the server sends is put into the page as text (`textContent`), never
/// as markup, and the Content-Security-Policy forbids inline script besides.
enum Assets {
    static let page = """
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>SwiftDeploy</title>
    <link rel="stylesheet" href="/app.css">
    </head>
    <body data-updates="0" data-rates="0">
    <header>
      <h1><span id="name">SwiftDeploy</span> <small>guard &amp; deploy</small></h1>
      <div id="conn" class="muted">connecting…</div>
    </header>
    <section class="kpis">
      <div class="kpi"><div class="label">req/s (window)</div><div class="value" id="rps">–</div></div>
      <div class="kpi"><div class="label">baseline mean</div><div class="value" id="mean">–</div></div>
      <div class="kpi"><div class="label">stddev</div><div class="value" id="stddev">–</div></div>
      <div class="kpi"><div class="label">active bans</div><div class="value" id="bancount">–</div></div>
      <div class="kpi"><div class="label">host load / cores</div><div class="value" id="load">–</div></div>
      <div class="kpi"><div class="label">memory used</div><div class="value" id="mem">–</div></div>
      <div class="kpi"><div class="label">guard uptime</div><div class="value" id="uptime">–</div></div>
      <div class="kpi"><div class="label">lines / malformed</div><div class="value" id="lines">–</div></div>
    </section>
    <section class="panel wide">
      <h2>Global requests per second, last 30 minutes <small id="source" class="muted"></small></h2>
      <canvas id="chart"></canvas>
      <div class="legend"><span class="sw line"></span>requests in each second <span class="sw band"></span>baseline mean ± z·σ <span class="sw hour"></span>hourly baseline</div>
    </section>
    <div class="columns">
    <section class="panel">
      <h2>Top clients</h2>
      <table><thead><tr><th>ip</th><th>req/s</th><th>expected</th><th>z</th></tr></thead><tbody id="top"></tbody></table>
    </section>
    <section class="panel">
      <h2>Bans</h2>
      <table><thead><tr><th>ip</th><th>reason</th><th>offence</th><th>remaining</th><th></th></tr></thead><tbody id="bans"></tbody></table>
      <div id="action" class="muted"></div>
    </section>
    </div>
    <div class="columns">
    <section class="panel">
      <h2>Deploy</h2>
      <table><thead><tr><th>track</th><th>version</th><th>health</th><th>weight</th><th>req/s</th><th>errors</th><th>p99</th></tr></thead><tbody id="tracks"></tbody></table>
      <ul id="policies" class="plain"></ul>
    </section>
    <section class="panel">
      <h2>Recent events</h2>
      <ol id="events" class="log"></ol>
      <h2>Malformed lines (as received)</h2>
      <ol id="bad" class="log"></ol>
    </section>
    </div>
    <script src="/app.js"></script>
    </body>
    </html>
    """

    static let style = """
    :root { color-scheme: dark; --bg: #0f1419; --panel: #182029; --line: #2a3542; --text: #d8e0e8; --muted: #7d8b99;
            --accent: #4fb3ff; --band: rgba(79, 179, 255, 0.15); --hour: #f2b84b; --bad: #ff6b6b; --good: #5ad27a; }
    * { box-sizing: border-box; }
    body { margin: 0; padding: 16px 20px; background: var(--bg); color: var(--text); font: 14px/1.4 system-ui, sans-serif; }
    header { display: flex; justify-content: space-between; align-items: baseline; }
    h1 { font-size: 20px; margin: 0 0 12px; } h1 small, h2 small { color: var(--muted); font-weight: normal; font-size: 13px; }
    h2 { font-size: 14px; margin: 0 0 8px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
    .muted { color: var(--muted); }
    .kpis { display: grid; grid-template-columns: repeat(8, 1fr); gap: 10px; margin-bottom: 12px; }
    .kpi, .panel { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
    .kpi .label { color: var(--muted); font-size: 12px; } .kpi .value { font-size: 22px; font-variant-numeric: tabular-nums; }
    .panel { margin-bottom: 12px; overflow: hidden; }
    .columns { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
    canvas { width: 100%; height: 220px; display: block; }
    .legend { color: var(--muted); font-size: 12px; margin-top: 6px; }
    .sw { display: inline-block; width: 14px; height: 8px; margin: 0 4px 0 12px; vertical-align: middle; }
    .sw.line { background: var(--accent); } .sw.band { background: var(--band); border: 1px solid var(--accent); } .sw.hour { background: var(--hour); }
    table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
    th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 260px; }
    th { color: var(--muted); font-weight: normal; }
    .pass { color: var(--good); } .block, .hot { color: var(--bad); }
    button { background: transparent; color: var(--accent); border: 1px solid var(--accent); border-radius: 4px; cursor: pointer; padding: 1px 8px; }
    ol.log { margin: 0 0 10px; padding-left: 0; list-style: none; font: 12px/1.5 ui-monospace, monospace; max-height: 220px; overflow: auto; }
    ol.log li { white-space: pre-wrap; word-break: break-all; border-bottom: 1px solid var(--line); }
    ul.plain { list-style: none; padding: 0; margin: 8px 0 0; }
    form { max-width: 360px; margin: 80px auto; } input { width: 100%; padding: 6px; margin: 8px 0; background: var(--bg); color: var(--text); border: 1px solid var(--line); }
    @media (max-width: 1100px) { .kpis { grid-template-columns: repeat(4, 1fr); } .columns { grid-template-columns: 1fr; } }
    """

    static func login(failed: Bool) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>SwiftDeploy: log in</title><link rel="stylesheet" href="/app.css"></head>
        <body><form method="post" action="/login"><h1>SwiftDeploy dashboard</h1>
        <p class="muted">The dashboard token is <code>dashboard.token</code> in the manifest.</p>
        \(failed ? "<p class=\"block\">That token is not right.</p>" : "")
        <input type="password" name="token" autocomplete="current-password" autofocus>
        <button type="submit">Log in</button></form></body></html>
        """
    }

    static let script = #"""
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
    """#
}
