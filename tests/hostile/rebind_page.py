# SPDX-License-Identifier: BSD-2-Clause
"""The attacker's web server of tests/hostile/case-browser-rebinding.sh, once its name has
been rebound to 127.0.0.1: /page.html is a page whose script fetches /api/v1/processes and
/metrics from its own origin and writes what it got into the DOM; every other request is
passed as it is (Host header included) to jemctld, which is what a browser's same-origin
request reaches after DNS rebinding.

  rebind_page.py PORT DAEMON_PORT     (listens on 127.0.0.1:PORT until killed)
"""
import socket
import socketserver
import sys

PAGE = b"""<!doctype html>
<html><head><title>rebind</title></head><body><pre id="out">pending</pre>
<script>
async function probe(path) {
  try {
    const r = await fetch(path);
    const t = await r.text();
    return "fetch " + path + " status " + r.status + "\\n" + t.slice(0, 4000);
  } catch (e) {
    return "fetch " + path + " error " + e;
  }
}
(async () => {
  const a = await probe("/api/v1/processes");
  const b = await probe("/metrics");
  document.getElementById("out").textContent = a + "\\n" + b + "\\nfetches done";
})();
</script></body></html>
"""


def read_head(conn):
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        head = read_head(self.request)
        if not head:
            return
        line = head.split(b"\r\n", 1)[0]
        if line.split(b" ")[1:2] == [b"/page.html"]:
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                                 b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                                 % len(PAGE) + PAGE)
            return
        # One request per connection: ask jemctld to close after its answer.
        lines = [h for h in head.split(b"\r\n")
                 if not h.lower().startswith(b"connection:")]
        end = lines.index(b"")
        lines.insert(end, b"Connection: close")
        d = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=10)
        d.sendall(b"\r\n".join(lines))
        while True:
            chunk = d.recv(65536)
            if not chunk:
                break
            self.request.sendall(chunk)
        d.close()


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
