// dashboard.js - the live parts of a service page (dashboard.c renders the
// rest): SVG charts of /v1/services/NAME/history, the summary refreshed from
// /v1/services/NAME, logs and events followed through EventSource, and the
// actions of operate tokens behind a confirmation. No library: the charts
// are polylines in a viewBox of 600 x 160. Polling: the history once per
// sample step (2 s at least), one service's status every 3 s, neither
// while the tab is hidden. Whatever a service controls (log lines, events,
// health) is put in as text (textContent), never as markup.
"use strict";
(function () {
  const root = document.getElementById("service");
  if (!root) return;
  const name = root.dataset.service;
  const base = "/v1/services/" + encodeURIComponent(name);
  const svgNS = "http://www.w3.org/2000/svg";
  const W = 600, H = 160, PAD_L = 58, PAD_B = 16, PAD_T = 6;
  const MAX_LOG_LINES = 500, MAX_EVENTS = 200;

  function el(tag, attrs, text) {
    const e = document.createElementNS(svgNS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function human(v) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let u = 0;
    while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
    return (u ? v.toFixed(1) : v.toFixed(0)) + " " + units[u];
  }

  // series: [{key, cls, label}]; points from history; fmt formats the y axis.
  function chart(svg, points, series, fmt, floorMax) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    // The last 15 minutes, or less while the history is younger (at least a minute).
    const now = Date.now();
    const first = points.length ? points[0].t : now;
    const from = Math.max(now - 15 * 60 * 1000, Math.min(first, now - 60 * 1000));
    let max = floorMax;
    for (const p of points)
      for (const s of series)
        if (p[s.key] !== null && p[s.key] !== undefined && p[s.key] > max) max = p[s.key];
    const x = t => PAD_L + (W - PAD_L) * Math.max(0, t - from) / (now - from);
    const y = v => PAD_T + (H - PAD_T - PAD_B) * (1 - v / max);
    svg.appendChild(el("rect", {x: PAD_L, y: PAD_T, width: W - PAD_L, height: H - PAD_T - PAD_B, class: "plot"}));
    for (const f of [0, 0.5, 1]) {
      svg.appendChild(el("line", {x1: PAD_L, x2: W, y1: y(max * f), y2: y(max * f), class: "grid"}));
      svg.appendChild(el("text", {x: PAD_L - 4, y: y(max * f) + 4, class: "axis", "text-anchor": "end"}, fmt(max * f)));
    }
    const span = Math.round((now - from) / 1000);
    svg.appendChild(el("text", {x: PAD_L, y: H - 2, class: "axis"},
                       span >= 120 ? "-" + Math.round(span / 60) + " min" : "-" + span + " s"));
    svg.appendChild(el("text", {x: W, y: H - 2, class: "axis", "text-anchor": "end"}, "now"));
    series.forEach((s, i) => {
      // A gap (null: not running) breaks the line.
      let runs = [], cur = [];
      for (const p of points) {
        if (p[s.key] === null || p[s.key] === undefined) { if (cur.length) runs.push(cur); cur = []; continue; }
        cur.push(x(p.t).toFixed(1) + "," + y(p[s.key]).toFixed(1));
      }
      if (cur.length) runs.push(cur);
      for (const r of runs)
        svg.appendChild(el("polyline", {points: r.join(" "), class: "line " + s.cls}));
      svg.appendChild(el("text", {x: PAD_L + 6 + i * 110, y: PAD_T + 12, class: "legend " + s.cls}, s.label));
    });
    svg.dataset.points = String(points.length);
  }

  // fn after ms, or when the tab is next shown if it is hidden then: a tab
  // in the background asks the daemon nothing (the streams stay open).
  function later(fn, ms) {
    setTimeout(() => {
      if (!document.hidden) { fn(); return; }
      const shown = () => {
        if (document.hidden) return;
        document.removeEventListener("visibilitychange", shown);
        fn();
      };
      document.addEventListener("visibilitychange", shown);
    }, ms);
  }

  async function getJSON(url) {
    const r = await fetch(url, {credentials: "same-origin", cache: "no-store"});
    if (!r.ok) throw new Error(url + ": " + r.status);
    return r.json();
  }

  async function refreshCharts() {
    try {
      const h = await getJSON(base + "/history");
      const pts = h.points || [];
      chart(document.getElementById("chart-memory"), pts,
            [{key: "memory", cls: "s0", label: "used"}, {key: "memory_max", cls: "s1", label: "memory.max"}],
            human, 1024 * 1024);
      chart(document.getElementById("chart-cpu"), pts,
            [{key: "cpu", cls: "s0", label: "cores"}], v => v.toFixed(2), 0.1);
      chart(document.getElementById("chart-pressure"), pts,
            [{key: "psi_cpu", cls: "s0", label: "cpu"}, {key: "psi_memory", cls: "s1", label: "memory"},
             {key: "psi_io", cls: "s2", label: "io"}], v => v.toFixed(1), 1);
      later(refreshCharts, Math.max(2000, h.step_ms || 2000));
    } catch (e) {
      later(refreshCharts, 5000);
    }
  }

  function setCell(cls, text, value) {
    const td = document.querySelector("#summary td." + cls);
    if (!td) return;
    td.textContent = text;
    if (value !== undefined) td.dataset.value = value;
  }

  function num(v, scale) {
    return v === undefined || v === null ? "\u2013" : (v * scale).toFixed(2);
  }

  async function refreshStatus() {
    try {
      let s = await getJSON(base);
      if (Array.isArray(s)) s = s[0];
      else if (s.services) s = s.services[0];
      const u = s.usage || {}, l = s.limits || {};
      const st = document.querySelector("#summary td.state span");
      st.textContent = s.state + (s.frozen ? " (frozen)" : "");
      st.className = "state-" + s.state;
      const mem = document.querySelector("#summary td.memory");
      const cur = u["memory.current"], max = l["memory.max"];
      mem.dataset.current = cur || "";
      mem.dataset.max = /^[0-9]+$/.test(max || "") ? max : "";
      while (mem.firstChild) mem.removeChild(mem.firstChild);
      if (cur) {
        if (mem.dataset.max) {
          const m = document.createElement("meter");
          m.min = 0; m.max = Number(max); m.low = m.max * 0.7; m.high = m.max * 0.9; m.optimum = 0;
          m.value = Number(cur);
          mem.appendChild(m);
          mem.appendChild(document.createTextNode(" "));
        }
        mem.appendChild(document.createTextNode(human(Number(cur)) + (mem.dataset.max ? " / " + human(Number(max)) : "")));
      } else {
        mem.textContent = "\u2013";
      }
      setCell("cpu", num(u["cpu.percent"], 0.01), u["cpu.percent"]);
      setCell("psi-cpu", num(u["cpu.pressure.some.avg10"], 1), u["cpu.pressure.some.avg10"]);
      setCell("psi-memory", num(u["memory.pressure.some.avg10"], 1), u["memory.pressure.some.avg10"]);
      setCell("psi-io", num(u["io.pressure.some.avg10"], 1), u["io.pressure.some.avg10"]);
      setCell("restarts", String(s.restarts));
      setCell("oom-kills", String(s.oom_kills));
      const h = s.health;
      setCell("health", h ? (typeof h === "object" ? h.status : h) : "\u2013");
      for (const td of document.querySelectorAll("#limits td[data-key]"))
        if (typeof l[td.dataset.key] === "string" && !l[td.dataset.key].includes("\n"))
          td.textContent = l[td.dataset.key];
      const up = s.state === "running" || s.state === "starting";
      const down = s.state === "stopped" || s.state === "failed";
      const enable = {start: !up, stop: !down, restart: true, freeze: up && !s.frozen, thaw: !!s.frozen};
      for (const b of document.querySelectorAll("button.action")) b.disabled = !enable[b.dataset.action];
    } catch (e) {
      // Keep what is shown; the next refresh tries again.
    }
    later(refreshStatus, 3000);
  }

  function appendCapped(list, node, max) {
    list.appendChild(node);
    while (list.childNodes.length > max) list.removeChild(list.firstChild);
  }

  function followLogs() {
    const pre = document.getElementById("logs");
    const es = new EventSource(base + "/logs?lines=50&follow=1");
    let fresh = true;
    es.onmessage = ev => {
      // The stream starts with the recent lines: they replace the server's tail.
      if (fresh) { pre.textContent = ""; fresh = false; }
      let line = ev.data;
      try {
        const o = JSON.parse(ev.data);
        if (typeof o.text === "string") line = o.text.replace(/\n$/, "");
        else if (typeof o.line === "string")  // as the stored history prints it
          line = (o.time_ms ? new Date(o.time_ms).toISOString() + " " : "") +
                 (o.stream ? o.stream + " " : "") + o.line;
      } catch (e) { /* plain text */ }
      if (line === "") return;
      appendCapped(pre, document.createTextNode(line + "\n"), MAX_LOG_LINES);
      pre.scrollTop = pre.scrollHeight;
    };
    es.onerror = () => { fresh = true; };
  }

  function eventText(o) {
    const rest = {};
    for (const k in o) if (k !== "time_ms" && k !== "type" && k !== "service") rest[k] = o[k];
    const t = o.time_ms ? new Date(o.time_ms).toLocaleTimeString() : "";
    const extra = Object.keys(rest).length ? " " + JSON.stringify(rest) : "";
    return t + " " + (o.type || "event") + extra;
  }

  function followEvents() {
    const ul = document.getElementById("events");
    const es = new EventSource("/v1/events?service=" + encodeURIComponent(name) + "&follow=1");
    const add = o => {
      const li = document.createElement("li");
      li.dataset.type = o.type || "";
      li.textContent = eventText(o);
      appendCapped(ul, li, MAX_EVENTS);
    };
    es.onopen = () => { while (ul.firstChild) ul.removeChild(ul.firstChild); };
    es.onmessage = ev => {
      let o;
      try { o = JSON.parse(ev.data); } catch (e) { return; }
      if (Array.isArray(o)) o.forEach(add);
      else if (Array.isArray(o.events)) o.events.forEach(add);
      else add(o);
    };
  }

  function say(text, ok) {
    const r = document.getElementById("action-result");
    r.textContent = text;
    r.className = ok ? "ok" : "error";
  }

  async function send(method, url, body) {
    const opts = {method: method, credentials: "same-origin", headers: {"X-Paddock-CSRF": "1"}};
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const r = await fetch(url, opts);
    let j = {};
    try { j = await r.json(); } catch (e) { /* empty body */ }
    if (!r.ok) throw new Error(j.error || (r.status + " " + r.statusText));
    return j;
  }

  function actions() {
    if (root.dataset.operate !== "1") return;
    for (const b of document.querySelectorAll("button.action")) {
      b.addEventListener("click", async () => {
        const a = b.dataset.action;
        if (!window.confirm(a.charAt(0).toUpperCase() + a.slice(1) + " " + name + "?")) return;
        try {
          await send("POST", base + "/" + a);
          say(a + ": done", true);
        } catch (e) {
          say(a + ": " + e.message, false);
        }
      });
    }
    const form = document.getElementById("limits-form");
    if (!form) return;
    form.addEventListener("submit", async ev => {
      ev.preventDefault();
      const values = {};
      for (const i of form.querySelectorAll("input"))
        if (i.value !== i.dataset.was) values[i.name] = i.value;
      const keys = Object.keys(values);
      if (!keys.length) { say("no limit changed", false); return; }
      const what = keys.map(k => k + "=" + values[k]).join(" ");
      if (!window.confirm("Set " + what + " on " + name + "?")) return;
      try {
        await send("PATCH", base + "/limits", values);
        for (const i of form.querySelectorAll("input")) i.dataset.was = i.value;
        say("set " + what, true);
      } catch (e) {
        say("set: " + e.message, false);
      }
    });
  }

  refreshCharts();
  refreshStatus();
  followLogs();
  followEvents();
  actions();
})();
