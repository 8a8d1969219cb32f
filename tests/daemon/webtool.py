#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Helpers of tests/daemon/web.sh and prom.sh (standard library only).

  webtool.py dom FILE HOSTILE PID...   checks a --dump-dom of the dashboard: a row and a
                                       chart with data points for every PID, HOSTILE shown
                                       as text, no element injected by it
  webtool.py http URL PID COMM         the dashboard's HTTP views: headers, status codes,
                                       history and group documents
  webtool.py cdp CHROMIUM URL PID ACTION...
                                       drives the page over --remote-debugging-pipe: for
                                       PID, clicks Purge ("purge") or sets the decay
                                       ("decay=MS"); prints the result texts shown (JSON)
  webtool.py png FILE                  checks a PNG file (signature, size)
  webtool.py prom-wait URL SECONDS     waits until every target of a Prometheus server is up
  webtool.py prom-query URL EXPR SECONDS
                                       waits until EXPR has a non-empty result; prints it
                                       as JSON lines {labels, value}
  webtool.py rules FILE METRICS_URL    every metric the rules' expressions read is exported
  webtool.py grafana FILE METRICS_URL RULES_FILE
                                       the Grafana dashboard: valid JSON, and every metric
                                       named in its queries is exported by jemctld (or
                                       recorded by RULES_FILE)
"""
import html.parser
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def fetch(url, method="GET", body=None):
    req = urllib.request.Request(url, method=method, data=body)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


class Dom(html.parser.HTMLParser):
    """Elements as (tag, attrs); the text under each <td> of the process table."""

    def __init__(self):
        super().__init__()
        self.elements = []
        self.stack = []
        self.cells = []  # (row pid, td class, text)
        self.row = None
        self.cell = None
        self.texts = []  # the text of each SVG <text> with class "time"
        self.in_time = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elements.append((tag, a))
        self.in_time = tag == "text" and "time" in a.get("class", "").split()
        if self.in_time:
            self.texts.append("")
        if tag == "tr" and "data-pid" in a:
            self.row = a["data-pid"]
        if tag == "td" and self.row is not None:
            self.cell = [self.row, a.get("class", ""), ""]

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.cells.append(tuple(self.cell))
            self.cell = None
        if tag == "tr":
            self.row = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[2] += data
        if self.in_time:
            self.texts[-1] += data


def check_dom(path, hostile, pids):
    d = Dom()
    d.feed(open(path, encoding="utf-8").read())
    errs = []
    body = [a for t, a in d.elements if t == "body"]
    if not body or body[0].get("data-ready") != "1":
        errs.append("the page never finished a refresh (body data-ready missing)")
    for pid in pids:
        if not any(t == "tr" and a.get("data-pid") == pid for t, a in d.elements):
            errs.append("no table row for pid %s" % pid)
        charts = [a for t, a in d.elements if t == "svg" and a.get("data-pid") == pid
                  and "bytes" in a.get("class", "")]
        if not charts or int(charts[0].get("data-points", "0")) < 2:
            errs.append("no chart with 2+ points for pid %s" % pid)
    lines = [a for t, a in d.elements if t == "polyline" and "allocated" in a.get("class", "")]
    if not lines or not all(len(a.get("points", "").split()) >= 2 for a in lines):
        errs.append("allocated polylines without points: %r" % lines[:2])
    # Dirty and muzzy series, a time axis in UTC, the hover area, a sortable table.
    for series in ("dirty", "muzzy"):
        n = sum(1 for t, a in d.elements if t == "polyline" and
                a.get("class", "").split() == [series])
        if n < len(pids):
            errs.append("%d %s series for %d charts" % (n, series, len(pids)))
    if not any(re.fullmatch(r"\d\d:\d\d:\d\d UTC", x) for x in d.texts) or \
            not all(re.match(r"\d\d:\d\d:\d\d", x) for x in d.texts):
        errs.append("no UTC time axis: %r" % d.texts[:4])
    if sum(1 for t, a in d.elements if t == "rect" and a.get("class") == "hover") < len(pids):
        errs.append("charts without the hover area")
    heads = [a for t, a in d.elements if t == "th" and "sortable" in a.get("class", "")]
    if len(heads) < 8 or not any("sorted-asc" in a.get("class", "") and
                                 a.get("data-key") == "pid" for a in heads):
        errs.append("the process table is not sortable (by pid first): %r" % heads[:3])
    comms = [text for _, cls, text in d.cells if "comm" in cls.split()]
    if hostile not in comms:
        errs.append("the hostile comm %r is not shown as text (comms: %r)" % (hostile, comms))
    for t, a in d.elements:
        if a.get("id") in ("pwn", "pwn2") or t in ("img", "b") or \
                any(k.startswith("on") for k in a):
            errs.append("injected element: <%s %r>" % (t, a))
        if t == "body" and "data-pwned" in a:
            errs.append("the injected handler ran")
    return errs


def check_http(url, pid, comm):
    errs = []
    code, h, body = fetch(url + "/")
    csp = h.get("Content-Security-Policy", "")
    if code != 200 or "text/html" not in h.get("Content-Type", ""):
        errs.append("/: %d %s" % (code, h.get("Content-Type")))
    if "script-src 'self'" not in csp or "default-src 'none'" not in csp:
        errs.append("/: weak or missing Content-Security-Policy: %r" % csp)
    if re.search(r"<script>|\son[a-z]+=|https?://(?!www\.w3\.org)", body):
        errs.append("/: inline script, inline handler or external URL in the page")
    code, h, js = fetch(url + "/static/app.js")
    if code != 200 or "javascript" not in h.get("Content-Type", "") or "innerHTML" in js:
        errs.append("/static/app.js: %d %s (or uses innerHTML)" % (code, h.get("Content-Type")))
    code, _, body = fetch(url + "/api/v1/history?pid=" + pid)
    if code != 200:
        errs.append("history?pid: %d %s" % (code, body))
    else:
        d = json.loads(body)
        s = d["samples"]
        n = len(s["t"])
        if n < 2 or any(len(v) != n for v in s.values()) or d["pid"] != int(pid):
            errs.append("history?pid: %d samples, columns %r" %
                        (n, {k: len(v) for k, v in s.items()}))
        if any(a <= 0 or r < a for a, r in zip(s["allocated"], s["resident"])):
            errs.append("history?pid: allocated <= 0 or resident < allocated")
        if s["t"] != sorted(s["t"]):
            errs.append("history?pid: times not in order")
    code, _, body = fetch(url + "/api/v1/history?comm=" + urllib.parse.quote(comm))
    if code != 200 or json.loads(body)["pids"] != [int(pid)]:
        errs.append("history?comm=%s: %d %s" % (comm, code, body[:200]))
    code, _, body = fetch(url + "/api/v1/groups?by=comm")
    groups = {g["comm"]: g for g in json.loads(body)} if code == 200 else {}
    if comm not in groups or int(pid) not in groups[comm]["pids"] or \
            groups[comm]["allocated"] <= 0:
        errs.append("groups?by=comm: %d %s" % (code, body[:300]))
    code, _, body = fetch(url + "/api/v1/processes")
    procs = {str(p["pid"]): p for p in json.loads(body)}
    fr = procs.get(pid, {}).get("fragmentation") or {}
    if not (fr.get("frag_ratio") or 0) >= 1:
        errs.append("processes: fragmentation of %s: %r" % (pid, fr))
    bad = {"/api/v1/history": 400, "/api/v1/history?pid=abc": 400,
           "/api/v1/history?pid=-3": 400, "/api/v1/history?pid=1&comm=x": 400,
           "/api/v1/history?pid=4194304": 404, "/api/v1/history?comm=no-such": 404,
           "/api/v1/groups": 400, "/api/v1/groups?by=pid": 400,
           "/static/nope.js": 404, "/static/../metrics": 404}
    for path, want in bad.items():
        code, h, body = fetch(url + path)
        if code != want:
            errs.append("%s: %d, expected %d" % (path, code, want))
        elif want == 400 and json.loads(body).get("ok") is not False:
            errs.append("%s: no {ok: false} error document" % path)
    for path in ("/", "/api/v1/history?pid=" + pid, "/api/v1/groups?by=comm"):
        code, h, _ = fetch(url + path, "POST", b"{}")
        if code != 405 or h.get("Allow") != "GET, HEAD":
            errs.append("POST %s: %d, Allow %r" % (path, code, h.get("Allow")))
    return errs


def cdp(chromium, url, pid, actions):
    """Loads the page, selects pid and, for each action ("purge" or "decay=MS"), fills the
    form, clicks its button and records the text of the result box and its error flag."""
    r0, w0 = os.pipe()  # chromium reads fd 3
    r1, w1 = os.pipe()  # chromium writes fd 4
    prof = os.environ.get("CDP_PROFILE", "/tmp/webtool-cdp")

    def child_fds():
        # Through fresh descriptors first: r0 or w1 may already be 3 or 4.
        x, y = os.dup(r0), os.dup(w1)
        os.dup2(x, 3)
        os.dup2(y, 4)

    proc = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                             "--remote-debugging-pipe", "--user-data-dir=" + prof,
                             "about:blank"], pass_fds=(), preexec_fn=child_fds,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            close_fds=False)
    os.close(r0)
    os.close(w1)
    out = os.fdopen(w0, "wb", buffering=0)
    inp = os.fdopen(r1, "rb", buffering=0)
    buf = b""
    ident = [0]

    def call(method, params=None, session=None):
        nonlocal buf
        ident[0] += 1
        msg = {"id": ident[0], "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        out.write(json.dumps(msg).encode() + b"\0")
        while True:
            while b"\0" not in buf:
                chunk = inp.read(65536)
                if not chunk:
                    raise RuntimeError("chromium closed the pipe")
                buf += chunk
            raw, buf = buf.split(b"\0", 1)
            m = json.loads(raw)
            if m.get("id") == ident[0]:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m["result"]

    try:
        target = call("Target.createTarget", {"url": "about:blank"})["targetId"]
        sess = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        call("Page.enable", session=sess)
        if os.environ.get("CDP_DOWNLOADS"):
            call("Browser.setDownloadBehavior", {"behavior": "allow",
                                                 "downloadPath": os.environ["CDP_DOWNLOADS"]})
        call("Page.navigate", {"url": url}, session=sess)

        def ev(expr):
            r = call("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                          "awaitPromise": True}, session=sess)
            return r["result"].get("value")

        end = time.time() + 15
        while time.time() < end and ev("document.body && document.body.dataset.ready") != "1":
            time.sleep(0.2)
        sel = "document.getElementById('act-pid')"
        ev("%s.value = '%s'; %s.dispatchEvent(new Event('change'))" % (sel, pid, sel))
        results = []
        rows = ("JSON.stringify(Array.from(document.getElementById('procs').tBodies[0].rows)"
                ".map((r) => Number(r.dataset.pid)))")
        chart = "document.querySelector('svg.chart.bytes[data-pid=\"%s\"]')" % pid
        for act in actions:
            # Reading the page rather than acting through the form: the table's order after
            # clicking a column (sort=KEY, twice for sort=-KEY) or typing a filter, the
            # marks on pid's chart after the next refresh, the readout of a hover.
            if act.startswith("sort="):
                key = act[5:].lstrip("-")
                for _ in range(2 if act[5:].startswith("-") else 1):
                    ev("document.querySelector('#procs th[data-key=\"%s\"]').click()" % key)
                results.append({"action": act, "text": ev(rows), "bad": False})
                continue
            if act.startswith("filter="):
                ev("const f = document.getElementById('procs-filter'); f.value = %s; "
                   "f.dispatchEvent(new Event('input'))" % json.dumps(act[7:]))
                results.append({"action": act, "text": ev(rows), "bad": False})
                continue
            if act == "marks":
                time.sleep(3)  # the next refresh draws what was done since
                results.append({"action": act, "bad": False, "text": ev(
                    "JSON.stringify(Array.from(%s.querySelectorAll('line.mark'))"
                    ".map((m) => m.dataset.kind))" % chart)})
                continue
            if act.startswith("eval="):  # any expression: its value as JSON
                results.append({"action": act, "bad": False,
                                "text": ev("JSON.stringify(%s)" % act[5:])})
                continue
            if act == "hover":
                results.append({"action": act, "bad": False, "text": ev(
                    "(() => { const c = %s, r = c.querySelector('rect.hover')"
                    ".getBoundingClientRect(); c.querySelector('rect.hover').dispatchEvent("
                    "new MouseEvent('mousemove', {clientX: r.left + r.width - 1, "
                    "clientY: r.top + r.height / 2, bubbles: true})); "
                    "return c.querySelector('text.readout').textContent; })()" % chart)})
                continue
            ev("document.getElementById('act-result').textContent = ''")
            if act.startswith("decay="):
                ev("document.getElementById('act-ms').value = '%d'" % int(act[6:]))
                ev("document.getElementById('act-decay').click()")
            else:
                ev("document.getElementById('act-%s').click()" % act)
            end = time.time() + 10
            text = ""
            while time.time() < end:
                text = ev("document.getElementById('act-result').textContent") or ""
                if text.startswith("HTTP"):
                    break
                time.sleep(0.2)
            bad = ev("document.getElementById('act-result').classList.contains('bad')")
            results.append({"action": act, "text": text, "bad": bad})
        return results
    finally:
        try:
            call("Browser.close")
        except Exception:
            pass
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def prom_get(base, path, params):
    code, _, body = fetch(base + path + "?" + urllib.parse.urlencode(params))
    if code != 200:
        raise RuntimeError("%s: HTTP %d %s" % (path, code, body[:200]))
    return json.loads(body)["data"]


def exported(metrics_url, rules_file):
    _, _, body = fetch(metrics_url)
    names = set(re.findall(r"^# TYPE (\S+) ", body, re.M))
    names.add("up")  # the scrape's own series
    if rules_file:
        names |= set(re.findall(r"^\s*-?\s*record:\s*(\S+)", open(rules_file).read(), re.M))
    return names


PROMQL_WORDS = {"sum", "avg", "min", "max", "count", "by", "without", "rate", "irate",
                "increase", "deriv", "delta", "topk", "bottomk", "on", "ignoring",
                "group_left", "group_right", "and", "or", "unless", "offset", "bool",
                "clamp_min", "clamp_max", "avg_over_time", "max_over_time",
                "min_over_time", "label_replace", "time", "histogram_quantile", "abs",
                "predict_linear", "count_values", "quantile", "vector", "scalar", "absent"}


def metric_names(expr):
    e = re.sub(r"label_values\(([^,)]*)(,[^)]*)?\)", r"\1", expr)  # Grafana variables
    e = re.sub(r"\{[^}]*\}", "", e)             # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)            # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    e = re.sub(r'"[^"]*"', "", e)
    e = re.sub(r"\$\w+", "", e)                 # Grafana variables
    return {w for w in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e)
            if w not in PROMQL_WORDS and not re.fullmatch(r"\d.*|e\d+", w)}


def check_grafana(path, metrics_url, rules_file):
    d = json.load(open(path))
    errs = []
    have = exported(metrics_url, rules_file)
    exprs = []

    def panels(ps):
        for p in ps:
            exprs.extend(t["expr"] for t in p.get("targets", []) if t.get("expr"))
            panels(p.get("panels", []))  # rows

    panels(d.get("panels", []))
    for v in d.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v.get("query")
            exprs.append(q.get("query", "") if isinstance(q, dict) else q or "")
    if not d.get("title") or not d.get("panels") or not d.get("uid"):
        errs.append("not a Grafana dashboard (title, uid, panels)")
    if len(exprs) < 4:
        errs.append("only %d queries" % len(exprs))
    for e in exprs:
        for m in metric_names(e):
            if m not in have:
                errs.append("%r uses %s, which jemctld does not export" % (e, m))
    return errs, len(exprs)


def check_rules(path, metrics_url):
    """Every metric an expr of the rules file reads is exported (or recorded there)."""
    have = exported(metrics_url, path)
    exprs = re.findall(r"^\s*expr:\s*(>\s*\n(?:\s{10,}.*\n)+|.*)$", open(path).read(), re.M)
    errs = []
    for e in exprs:
        e = e.lstrip(">").strip()
        for m in metric_names(e):
            if m not in have:
                errs.append("rule %r uses %s, which jemctld does not export" % (e, m))
    if len(exprs) < 5:
        errs.append("only %d rule expressions found" % len(exprs))
    return errs, len(exprs)


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "dom":
        errs = check_dom(a[0], a[1], a[2:])
    elif cmd == "http":
        errs = check_http(a[0], a[1], a[2])
    elif cmd == "cdp":
        print(json.dumps(cdp(a[0], a[1], a[2], a[3:])))
        return 0
    elif cmd == "png":
        data = open(a[0], "rb").read()
        errs = [] if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000 else \
            ["%s: not a PNG of some size (%d bytes)" % (a[0], len(data))]
    elif cmd == "prom-wait":
        end = time.time() + float(a[1])
        last = None
        while time.time() < end:
            try:
                t = prom_get(a[0], "/api/v1/targets", {})["activeTargets"]
                last = [(x["scrapeUrl"], x["health"], x.get("lastError")) for x in t]
                if t and all(x["health"] == "up" for x in t):
                    return 0
            except (OSError, RuntimeError, ValueError):
                pass
            time.sleep(0.3)
        print("targets not up: %r" % (last,))
        return 1
    elif cmd == "prom-query":
        end = time.time() + float(a[2])
        res = []
        while time.time() < end:
            try:
                res = prom_get(a[0], "/api/v1/query", {"query": a[1]})["result"]
                if res:
                    break
            except (OSError, RuntimeError, ValueError):
                pass
            time.sleep(0.5)
        for r in res:
            print(json.dumps({"labels": r["metric"], "value": float(r["value"][1])}))
        return 0 if res else 1
    elif cmd == "rules":
        errs, n = check_rules(a[0], a[1])
        if not errs:
            print("%d rule expressions, every metric exported" % n)
    elif cmd == "grafana":
        errs, n = check_grafana(a[0], a[1], a[2])
        if not errs:
            print("%d queries, every metric exported" % n)
    else:
        sys.exit("unknown command " + cmd)
    for e in errs:
        print(e)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
