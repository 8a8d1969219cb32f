// The flame graph viewer (/static/flame.html?id=PROFILE): a stored heap profile's folded
// stacks (/api/v1/profiles/ID?format=folded) drawn as an SVG flame graph with zoom,
// search and an inverted (icicle) view.  Names from the profiled program are only ever
// set as text or attribute values, never parsed as markup.
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const W = 1200, ROW = 17, PAD = 10, CHAR = 7.3, MIN = 0.3;
  const $ = (id) => document.getElementById(id);
  const id = new URLSearchParams(location.search).get("id") || "";
  let root = null, zoom = null, depth = 0, re = null;

  function svg(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    return e;
  }
  function bytes(n) {
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0, v = n;
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (i === 0 ? String(v) : v.toFixed(v < 10 ? 2 : 1)) + " " + u[i];
  }
  function share(n) {
    return root && root.bytes ? (100 * n / root.bytes).toFixed(2) + "%" : "–";
  }

  // "outer;...;inner BYTES" lines into a tree; children in name order.
  function build(text) {
    const r = { name: "all", bytes: 0, kids: new Map(), parent: null };
    for (const line of text.split("\n")) {
      const sp = line.lastIndexOf(" ");
      if (sp <= 0) continue;
      const n = Number(line.slice(sp + 1));
      if (!Number.isFinite(n) || n <= 0) continue;
      let node = r, d = 0;
      r.bytes += n;
      for (const name of line.slice(0, sp).split(";")) {
        let c = node.kids.get(name);
        if (!c) { c = { name, bytes: 0, kids: new Map(), parent: node }; node.kids.set(name, c); }
        c.bytes += n;
        node = c;
        d++;
      }
      depth = Math.max(depth, d);
    }
    return r;
  }

  function color(name) {
    let h = 2166136261;
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
    return "rgb(" + (200 + h % 56) + "," + (60 + (h >>> 8) % 150) + "," + (30 + (h >>> 16) % 40) + ")";
  }

  function box(g, n, x, w, row, rows, inverted) {
    const y = inverted ? PAD + row * ROW : PAD + (rows - 1 - row) * ROW;
    const matched = re !== null && re.test(n.name);
    const b = svg("g", { class: "box" + (matched ? " match" : ""), "data-name": n.name });
    const t = svg("title");
    t.textContent = n.name + " (" + n.bytes + " bytes, " + bytes(n.bytes) + ", " + share(n.bytes) + ")";
    b.append(t, svg("rect", { x: x.toFixed(2), y, width: w.toFixed(2), height: ROW - 1, rx: 2,
      fill: matched ? "rgb(230,0,230)" : color(n.name) }));
    const fit = Math.floor((w - 6) / CHAR);
    if (fit >= 3) {
      const tx = svg("text", { x: (x + 3).toFixed(2), y: y + ROW - 5 });
      tx.textContent = n.name.length <= fit ? n.name : n.name.slice(0, fit - 2) + "..";
      b.append(tx);
    }
    b.addEventListener("click", () => { zoom = n; draw(); });
    g.append(b);
  }

  // The zoomed node and its callers full width, its callees by their share of it.
  function draw() {
    const inverted = $("fg-invert").checked;
    const path = [];
    for (let n = zoom; n; n = n.parent) path.unshift(n);
    const rows = depth + 1;
    const g = svg("svg", { class: "flame", viewBox: "0 0 " + W + " " + (rows * ROW + 2 * PAD),
      width: "100%", role: "img", "data-zoom": zoom.name, "data-inverted": inverted ? 1 : 0 });
    path.forEach((n, row) => box(g, n, PAD, W - 2 * PAD, row, rows, inverted));
    const scale = zoom.bytes ? (W - 2 * PAD) / zoom.bytes : 0;
    (function kids(n, x, row) {
      let cx = x;
      for (const c of [...n.kids.values()].sort((a, b) => a.name < b.name ? -1 : 1)) {
        const w = c.bytes * scale;
        if (w >= MIN) { box(g, c, cx, w, row, rows, inverted); kids(c, cx, row + 1); }
        cx += w;
      }
    })(zoom, PAD, path.length);
    $("fg").replaceChildren(g);
    // What the search matches, each function counted once (not again under itself).
    if (re !== null) {
      let sum = 0;
      (function walk(n, under) {
        const m = !under && n !== root && re.test(n.name);
        if (m) sum += n.bytes;
        for (const c of n.kids.values()) walk(c, under || m);
      })(root, false);
      $("fg-match").textContent = "matched " + bytes(sum) + " (" + share(sum) + " of all)";
    } else {
      $("fg-match").textContent = "";
    }
  }

  function search() {
    const q = $("fg-search").value.trim();
    if (!q) { re = null; draw(); return; }
    try { re = new RegExp(q, "i"); }
    catch (e) { re = new RegExp(q.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "i"); }
    draw();
  }

  // The heap_v2 header says how the samples were taken: read its first line only.
  async function period() {
    try {
      const r = await fetch("/api/v1/profiles/" + encodeURIComponent(id) + "?format=heap",
        { cache: "no-store" });
      if (!r.ok || !r.body) return null;
      const rd = r.body.getReader();
      const { value } = await rd.read();
      rd.cancel();
      const m = /^heap_v2\/(\d+)/.exec(new TextDecoder().decode(value || new Uint8Array()));
      return m ? Number(m[1]) : null;
    } catch (e) {
      return null;
    }
  }

  async function main() {
    const base = "/api/v1/profiles/" + encodeURIComponent(id);
    $("fg-svg").href = base + "?format=svg";
    $("fg-folded").href = base + "?format=folded";
    $("fg-heap").href = base + "?format=heap";
    try {
      const r = await fetch(base + "?format=folded", { cache: "no-store" });
      if (!r.ok) throw new Error("HTTP " + r.status + " " + (await r.text()).slice(0, 200));
      root = build(await r.text());
    } catch (e) {
      $("fg-title").textContent = "cannot load profile " + id + ": " + e.message;
      $("fg-title").classList.add("bad");
      document.body.dataset.ready = "1";
      return;
    }
    zoom = root;
    let meta = null;
    try {
      const l = await (await fetch("/api/v1/profiles", { cache: "no-store" })).json();
      meta = (l.profiles || []).find((p) => p.id === id) || null;
    } catch (e) { /* the title says less */ }
    const p = await period();
    $("fg-title").textContent = "Heap profile of " + (meta ? meta.comm + ", pid " + meta.pid +
      ", captured " + meta.time_utc + " (" + meta.reason + ")" : id);
    $("fg-sub").textContent = "in-use bytes: " + bytes(root.bytes) + " in all" +
      (p ? "; one sample per " + bytes(p) + " allocated on average (heap_v2/" + p +
        "), unbiased as jeprof does" : "");
    $("fg-search").addEventListener("input", search);
    $("fg-invert").addEventListener("change", draw);
    $("fg-reset").addEventListener("click", () => { zoom = root; draw(); });
    draw();
    document.body.dataset.ready = "1";
  }

  main();
})();
