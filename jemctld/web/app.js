// jemctld dashboard.  Reads /api/v1/processes, /api/v1/groups and /api/v1/history and
// draws them; the action buttons call the POST endpoints of /api/v1/processes/{pid}/.
// Every string that comes from a process (comm, cmdline, cgroup, errors) is put in the
// page as text (textContent, setAttribute), never parsed as markup (no HTML string assignment anywhere).
"use strict";

(function () {
  const MAX_CHARTS = 12;      // history charts drawn at once (the first processes by pid)
  const REFRESH_MS = 2000;
  const SVG = "http://www.w3.org/2000/svg";
  let selected = null;        // pid the actions apply to
  let busy = false;

  // ---- DOM helpers ------------------------------------------------------------------
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    return e;
  }
  function svg(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    return e;
  }
  const $ = (id) => document.getElementById(id);

  // ---- formatting -------------------------------------------------------------------
  function bytes(n) {
    if (typeof n !== "number" || !isFinite(n)) return "–";
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0, v = Math.abs(n);
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (n < 0 ? "-" : "") + (i === 0 ? String(v) : v.toFixed(v < 10 ? 2 : 1)) + " " + u[i];
  }
  function ratio(r) {
    return typeof r === "number" && isFinite(r) ? r.toFixed(3) : "–";
  }
  function decay(ms) {
    if (typeof ms !== "number") return "–";
    if (ms < 0) return "never";
    return ms >= 1000 ? (ms / 1000) + " s" : ms + " ms";
  }
  function ago(t) {
    if (typeof t !== "number") return "never";
    const s = Math.max(0, Date.now() / 1000 - t);
    return s < 1 ? "now" : Math.round(s) + " s ago";
  }
  function unitOf(cg) {
    if (typeof cg !== "string") return null;
    const last = cg.replace(/\/+$/, "").split("/").pop();
    return last.endsWith(".service") && last.length > 8 ? last : null;
  }

  async function getJSON(url) {
    const r = await fetch(url, { cache: "no-store", headers: { Accept: "application/json" } });
    if (!r.ok) throw new Error(url + ": HTTP " + r.status);
    return r.json();
  }

  // ---- the process table -------------------------------------------------------------
  // Sorted by the column clicked last (again: reversed), filtered by the text typed.
  let sortKey = "pid", sortDir = 1, lastProcs = [];
  const sortValue = {
    pid: (p) => p.pid,
    comm: (p) => (p.info && p.info.comm) || "",
    unit: (p) => unitOf(p.info && p.info.cgroup) || "",
    allocated: (p) => (p.stats && p.stats.allocated) ?? -1,
    resident: (p) => (p.stats && p.stats.resident) ?? -1,
    rss: (p) => (p.stats && p.stats.rss) ?? -1,
    frag: (p) => (p.fragmentation && p.fragmentation.frag_ratio) ?? -1,
    unused: (p) => (p.fragmentation && p.fragmentation.unused_bytes) ?? -1,
  };

  function shown(procs) {
    const q = $("procs-filter").value.trim().toLowerCase();
    const keep = procs.filter((p) => {
      if (!q) return true;
      const info = p.info || {};
      const text = [p.pid, info.comm, unitOf(info.cgroup),
        Array.isArray(info.cmdline) ? info.cmdline.join(" ") : ""].join(" ").toLowerCase();
      return text.includes(q);
    });
    const f = sortValue[sortKey] || sortValue.pid;
    keep.sort((a, b) => {
      const x = f(a), y = f(b);
      return (x < y ? -1 : x > y ? 1 : a.pid - b.pid) * sortDir;
    });
    return keep;
  }

  function wireTable() {
    for (const th of $("procs").tHead.rows[0].cells) {
      if (!th.dataset.key) continue;
      th.classList.add("sortable");
      th.addEventListener("click", () => {
        sortDir = sortKey === th.dataset.key ? -sortDir : 1;
        sortKey = th.dataset.key;
        renderProcs(lastProcs);
      });
    }
    $("procs-filter").addEventListener("input", () => renderProcs(lastProcs));
  }

  function renderProcs(all) {
    lastProcs = all;
    const procs = shown(all);
    for (const th of $("procs").tHead.rows[0].cells) {
      th.classList.toggle("sorted-asc", th.dataset.key === sortKey && sortDir > 0);
      th.classList.toggle("sorted-desc", th.dataset.key === sortKey && sortDir < 0);
    }
    const tb = $("procs").tBodies[0];
    const rows = [];
    for (const p of procs) {
      const info = p.info || {}, st = p.stats || {}, fr = p.fragmentation || {};
      const cmd = Array.isArray(info.cmdline) ? info.cmdline.join(" ") : "";
      const status = p.error ? "error: " + p.error : "ok, " + ago(p.last_ok);
      const tr = el("tr", { "data-pid": p.pid },
        el("td", { class: "pid num" }, p.pid),
        el("td", { class: "comm" }, info.comm ?? "–"),
        el("td", { class: "unit" }, unitOf(info.cgroup) ?? "–"),
        el("td", { class: "num" }, bytes(st.allocated)),
        el("td", { class: "num" }, bytes(st.resident)),
        el("td", { class: "num" }, bytes(st.rss)),
        el("td", { class: "num frag" }, ratio(fr.frag_ratio)),
        el("td", { class: "num" }, bytes(fr.unused_bytes)),
        el("td", {}, decay(st.dirty_decay_ms) + " / " + decay(st.muzzy_decay_ms)),
        el("td", { class: p.error ? "bad" : "" }, status),
        el("td", { class: "cmd", title: cmd }, cmd));
      if (p.pid === selected) tr.classList.add("selected");
      tr.addEventListener("click", () => select(p.pid));
      rows.push(tr);
    }
    tb.replaceChildren(...rows);
    $("procs-empty").hidden = all.length > 0;
    // The pid selector of the actions.
    const sel = $("act-pid");
    const opts = all.map((p) => el("option", { value: p.pid },
      p.pid + " " + ((p.info && p.info.comm) || "")));
    sel.replaceChildren(...opts);
    if (selected === null || !all.some((p) => p.pid === selected))
      selected = all.length ? all[0].pid : null;
    if (selected !== null) sel.value = String(selected);
  }

  function select(pid) {
    selected = pid;
    $("act-pid").value = String(pid);
    for (const tr of $("procs").tBodies[0].rows)
      tr.classList.toggle("selected", tr.dataset.pid === String(pid));
    for (const c of document.querySelectorAll(".card"))
      c.classList.toggle("selected", c.dataset.pid === String(pid));
  }

  // ---- charts ------------------------------------------------------------------------
  const W = 360, H = 140, HF = 70, L = 52, R = 6, T = 8, B = 16;

  function scale(t, lo, hi, h) {
    const t0 = t[0], t1 = t[t.length - 1];
    const span = t1 > t0 ? t1 - t0 : 1;
    const x = (ti) => L + (W - L - R) * (ti - t0) / span;
    const y = (v) => T + (h - T - B) * (1 - (v - lo) / (hi > lo ? hi - lo : 1));
    return { x, y, span };
  }

  // Times are UTC everywhere on the page (profiles and the API are too).
  function utc(t) {
    return new Date(t * 1000).toISOString().slice(11, 19);
  }

  // The value axis (max and 0) and a time axis: three ticks labelled with UTC clock times.
  function axes(g, h, lo, hi, fmt, t, sc) {
    for (const [v, label] of [[hi, fmt(hi)], [lo, fmt(lo)]]) {
      const yy = T + (h - T - B) * (v === hi ? 0 : 1);
      g.append(svg("line", { class: "grid", x1: L, x2: W - R, y1: yy, y2: yy }));
      const tx = svg("text", { x: L - 4, y: yy + 3, "text-anchor": "end" });
      tx.textContent = label;
      g.append(tx);
    }
    const t0 = t[0], t1 = t[t.length - 1];
    const ticks = t1 > t0 ? [t0, (t0 + t1) / 2, t1] : [t0];
    ticks.forEach((tt, k) => {
      const x = sc.x(tt);
      g.append(svg("line", { class: "tick", x1: x, x2: x, y1: h - B, y2: h - B + 3 }));
      const tx = svg("text", { class: "time", x: x, y: h - 3,
        "text-anchor": ticks.length === 1 ? "start" : ["start", "middle", "end"][k] });
      tx.textContent = utc(tt) + (k === ticks.length - 1 ? " UTC" : "");
      g.append(tx);
    });
  }

  function line(cls, t, vals, sc) {
    const pts = [];
    for (let i = 0; i < t.length; i++)
      if (typeof vals[i] === "number" && isFinite(vals[i]))
        pts.push(sc.x(t[i]).toFixed(1) + "," + sc.y(vals[i]).toFixed(1));
    return svg("polyline", { class: cls, points: pts.join(" "), "data-points": pts.length });
  }

  // What jemctld did to the process (/api/v1/events): one vertical mark each, coloured by
  // kind (decay, purge, set, profile, capture, pressure), what happened in its tooltip.
  // Older than the history: not drawn; newer than its last point: at the right edge.
  function marks(g, t, sc, evs) {
    for (const e of evs) {
      if (!(e.time >= t[0])) continue;
      const x = sc.x(Math.min(e.time, t[t.length - 1])).toFixed(1);
      const dry = e.kind === "pressure" && /dry-run/.test(e.detail || "");
      const m = svg("line", { class: "mark " + e.kind + (dry ? " dry" : ""), x1: x, x2: x,
        y1: T, y2: H - B, "data-kind": e.kind });
      const tip = svg("title");
      tip.textContent = e.kind + " (" + e.via + ") at " + utc(e.time) + " UTC" +
        (e.detail ? ": " + e.detail : "");
      m.append(tip);
      g.append(m);
    }
  }

  // Values on hover: a cursor at the nearest sample and its figures in the corner.
  function hover(g, h, s, sc) {
    const t = s.t;
    const cursor = svg("line", { class: "cursor", x1: 0, x2: 0, y1: T, y2: h - B,
      visibility: "hidden" });
    const read = svg("text", { class: "readout", x: L + 4, y: T + 9 });
    const pad = svg("rect", { class: "hover", x: L, y: T, width: W - L - R,
      height: h - T - B });
    pad.addEventListener("mousemove", (ev) => {
      const box = g.getBoundingClientRect();
      const vx = (ev.clientX - box.left) * W / box.width;
      let best = 0;
      for (let i = 1; i < t.length; i++)
        if (Math.abs(sc.x(t[i]) - vx) < Math.abs(sc.x(t[best]) - vx)) best = i;
      const x = sc.x(t[best]).toFixed(1);
      cursor.setAttribute("x1", x);
      cursor.setAttribute("x2", x);
      cursor.setAttribute("visibility", "visible");
      read.textContent = utc(t[best]) + "  alloc " + bytes(s.allocated[best]) + "  res " +
        bytes(s.resident[best]) + "  rss " + bytes(s.rss[best]) + "  dirty " +
        bytes(s.dirty[best]) + "  muzzy " + bytes(s.muzzy[best]);
    });
    pad.addEventListener("mouseleave", () => {
      cursor.setAttribute("visibility", "hidden");
      read.textContent = "";
    });
    g.append(pad, cursor, read);
  }

  function bytesChart(h, evs) {
    const s = h.samples, t = s.t;
    const hi = Math.max(1, ...s.allocated, ...s.resident, ...s.rss);
    const sc = scale(t, 0, hi, H);
    const g = svg("svg", { class: "chart bytes", viewBox: "0 0 " + W + " " + H,
      "data-pid": h.pid, "data-points": t.length, role: "img" });
    const title = svg("title");
    title.textContent = "allocated, resident, rss, dirty and muzzy bytes of pid " + h.pid;
    g.append(title);
    axes(g, H, 0, hi, bytes, t, sc);
    g.append(line("rss", t, s.rss, sc), line("resident", t, s.resident, sc),
      line("allocated", t, s.allocated, sc), line("dirty", t, s.dirty || [], sc),
      line("muzzy", t, s.muzzy || [], sc));
    hover(g, H, s, sc);
    marks(g, t, sc, evs); /* above the hover area: their tooltips stay reachable */
    return g;
  }

  function fragChart(h) {
    const s = h.samples, t = s.t;
    const fr = s.active.map((a, i) => (s.allocated[i] > 0 ? a / s.allocated[i] : NaN));
    const ok = fr.filter(isFinite);
    const hi = Math.max(1.1, ...ok), lo = 1;
    const sc = scale(t, lo, hi, HF);
    const g = svg("svg", { class: "chart frag", viewBox: "0 0 " + W + " " + HF,
      "data-pid": h.pid, "data-points": ok.length, role: "img" });
    const title = svg("title");
    title.textContent = "fragmentation (active / allocated) of pid " + h.pid;
    g.append(title);
    axes(g, HF, lo, hi, (v) => v.toFixed(2), t, sc);
    g.append(line("frag", t, fr, sc));
    return g;
  }

  async function renderCharts(procs) {
    const shown = procs.filter((p) => p.stats).slice(0, MAX_CHARTS);
    const docs = await Promise.all(shown.map((p) =>
      getJSON("/api/v1/history?pid=" + encodeURIComponent(p.pid)).catch(() => null)));
    const ev = await getJSON("/api/v1/events").catch(() => null);
    const evs = (ev && Array.isArray(ev.events)) ? ev.events : [];
    const cards = [];
    docs.forEach((h, i) => {
      const p = shown[i];
      if (!h || !h.samples || !h.samples.t.length) return;
      const name = (p.info && p.info.comm) || "";
      const card = el("div", { class: "card", "data-pid": p.pid },
        el("h3", {}, p.pid + " " + name),
        bytesChart(h, evs.filter((e) => e.pid === p.pid)), fragChart(h));
      if (p.pid === selected) card.classList.add("selected");
      card.addEventListener("click", () => select(p.pid));
      cards.push(card);
    });
    $("charts").replaceChildren(...cards);
    const more = procs.length - shown.length;
    $("charts-more").hidden = more <= 0;
    $("charts-more").textContent = more > 0 ? more + " more processes without a chart " +
      "(the first " + MAX_CHARTS + " polled ones by pid are drawn)" : "";
  }

  // ---- groups ------------------------------------------------------------------------
  function renderGroups(id, key, groups) {
    const rows = groups.map((g) => el("tr", {},
      el("td", {}, g[key] ?? "(none)"),
      el("td", { class: "num" }, g.processes),
      el("td", { class: "num" }, bytes(g.allocated)),
      el("td", { class: "num" }, bytes(g.resident)),
      el("td", { class: "num" }, bytes(g.rss)),
      el("td", { class: "num" }, ratio(g.fragmentation && g.fragmentation.frag_ratio))));
    $(id).tBodies[0].replaceChildren(...rows);
  }

  // ---- actions -----------------------------------------------------------------------
  function show(text, bad) {
    const r = $("act-result");
    r.textContent = text;
    r.classList.toggle("bad", !!bad);
  }

  async function act(what, body) {
    const pid = Number($("act-pid").value);
    if (!Number.isInteger(pid) || pid <= 0) { show("No process selected.", true); return; }
    const url = "/api/v1/processes/" + pid + "/" + what;
    show("POST " + url + " …");
    let r;
    try {
      r = await fetch(url, { method: "POST", cache: "no-store",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    } catch (e) {
      show("POST " + url + ": " + e.message, true);
      return;
    }
    const ctype = r.headers.get("Content-Type") || "";
    if (r.ok && what === "profile") renderProfiles();
    if (r.ok && what === "profile" && !ctype.startsWith("application/json")) {
      // The profile itself: offer it as a download.
      const blob = await r.blob();
      // The daemon's file name (Content-Disposition), reduced to safe characters.
      const cd = /filename="([^"]*)"/.exec(r.headers.get("Content-Disposition") || "");
      const name = (cd && cd[1].replace(/[^A-Za-z0-9._-]/g, "_")) ||
        "heap-" + pid + "-" + Date.now() + ".heap";
      const a = el("a", { download: name });
      a.href = URL.createObjectURL(blob);
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
      show("HTTP " + r.status + ": profile of pid " + pid + " saved as " + name + " (" +
        bytes(blob.size) + ")");
      return;
    }
    const text = await r.text();
    let shown = text;
    try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* as is */ }
    if (r.status === 404 && !ctype.startsWith("application/json"))
      shown = "this jemctld does not offer " + what + " over HTTP (404)";
    show("HTTP " + r.status + "\n" + shown, !r.ok);
  }

  function wireActions() {
    $("act-pid").addEventListener("change", (e) => { select(Number(e.target.value)); renderProfiles(); });
    $("act-decay").addEventListener("click", () => {
      const ms = Number($("act-ms").value);
      if (!Number.isInteger(ms) || ms < -1) { show("decay: an integer >= -1, in ms", true); return; }
      act("decay", { ms });
    });
    $("act-purge").addEventListener("click", () => act("purge", {}));
    // Into the store (listed under Profiles), not a download.
    $("act-profile").addEventListener("click", () => act("profile", { store: true }));
  }

  // ---- the profile store -------------------------------------------------------------
  function profileLink(id, format, label) {
    const a = el("a", { href: "/api/v1/profiles/" + encodeURIComponent(id) + "?format=" + format },
      label);
    if (format === "svg") { a.setAttribute("target", "_blank"); a.setAttribute("rel", "noopener"); }
    else a.setAttribute("download", id + "." + (format === "pprof" ? "pb.gz" : format));
    return a;
  }

  async function deleteProfile(id) {
    const r = await fetch("/api/v1/profiles/" + encodeURIComponent(id),
      { method: "DELETE", cache: "no-store" });
    show("DELETE profile " + id + ": HTTP " + r.status + "\n" + (await r.text()), !r.ok);
    renderProfiles();
  }

  async function renderProfiles() {
    const body = $("profiles").tBodies[0];
    if (selected === null) { body.replaceChildren(); $("profiles-empty").hidden = false; return; }
    let doc;
    try {
      doc = await getJSON("/api/v1/profiles?pid=" + selected);
    } catch (e) {
      return; // a jemctld without the store: the section stays empty
    }
    $("profiles-pid").textContent = "pid " + selected;
    const rows = doc.profiles.slice().reverse().map((p) => {
      const del = el("button", { type: "button" }, "Delete");
      del.addEventListener("click", () => deleteProfile(p.id));
      const viewer = el("a", { href: "/static/flame.html?id=" + encodeURIComponent(p.id),
        class: "flame-link" }, "flame graph");
      const links = el("td", {}, viewer, " ", profileLink(p.id, "svg", "SVG"), " ",
        profileLink(p.id, "heap", "heap"), " ", profileLink(p.id, "pprof", "pprof"), " ",
        profileLink(p.id, "folded", "folded"));
      const tr = el("tr", { "data-id": p.id }, el("td", {}, p.time_utc), el("td", {}, p.reason),
        el("td", { class: "num" }, bytes(p.bytes)), el("td", { class: "num" }, bytes(p.resident)),
        links, el("td", {}, del));
      return tr;
    });
    body.replaceChildren(...rows);
    $("profiles-empty").hidden = rows.length > 0;
  }

  // ---- the loop ----------------------------------------------------------------------
  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const procs = await getJSON("/api/v1/processes");
      procs.sort((a, b) => a.pid - b.pid);
      renderProcs(procs);
      const bad = procs.filter((p) => p.error).length;
      // The host's totals over every process polled.
      const sum = (k) => procs.reduce((a, p) => a + ((p.stats && p.stats[k]) || 0), 0);
      $("summary").textContent = procs.length + " processes" + (bad ? ", " + bad + " failing" : "") +
        "; in all: allocated " + bytes(sum("allocated")) + ", resident " + bytes(sum("resident")) +
        ", rss " + bytes(sum("rss"));
      await renderCharts(procs);
      const [bc, bu] = await Promise.all([getJSON("/api/v1/groups?by=comm"),
        getJSON("/api/v1/groups?by=unit")]);
      renderGroups("groups-comm", "comm", bc);
      renderGroups("groups-unit", "unit", bu);
      await renderProfiles();
      $("status").textContent = "updated " + utc(Date.now() / 1000) + " UTC";
      $("status").classList.remove("bad");
      document.body.dataset.ready = "1";
    } catch (e) {
      $("status").textContent = "cannot reach jemctld: " + e.message;
      $("status").classList.add("bad");
    } finally {
      busy = false;
    }
  }

  wireActions();
  wireTable();
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
