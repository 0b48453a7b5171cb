#!/usr/bin/env python3
"""Misbehaving fronts for a registry, for the registry client's tests.

--mode cut: forwards everything to --upstream; the first --cuts full (200) GETs of each blob
  are cut after --cut-after bytes of body, times the cut's number (headers promise the full
  length, then the connection closes), as a flaky link does. Range requests pass through (the
  registry answers 206), except the first one of each blob with --ignore-range-once (the
  registry then answers 200 with the whole blob, as some servers do).
--mode redirect: forwards to --upstream, but GET/HEAD of a blob answers 307 to a second
  listener (the "CDN", another port) that serves the blob from upstream and records whether an
  Authorization header reached it. With --basic user:pass the front itself demands Basic auth
  (the CDN must not see it). Location headers of uploads are rewritten to relative ones.

--corrupt-manifests (cut mode) changes a byte of every manifest GET (Docker-Content-Digest
stays the registry's).
Both modes: --fail-first N answers the first N requests with --fail-status (503) and
Retry-After: --retry-after.

GET /_stats (on the front) returns {"cuts": n, "cdn_requests": n, "cdn_auth_headers": n,
"requests": n, "ranges": [..]}. Writes "<port> [<cdn port>]\n" to --port-file when listening.
"""

import argparse
import base64
import http.client
import json
import os
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BLOB_RE = re.compile(r"^/v2/(.+)/blobs/(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$")
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
       "proxy-authorization", "proxy-authenticate"}


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.cuts = 0
        self.cut_paths = {}
        self.range_ignored = set()
        self.failed = 0
        self.cdn_requests = 0
        self.cdn_auth_headers = 0
        self.requests = 0
        self.ranges = []

    def as_json(self):
        with self.lock:
            return {"cuts": self.cuts, "cdn_requests": self.cdn_requests,
                    "cdn_auth_headers": self.cdn_auth_headers, "requests": self.requests,
                    "ranges": self.ranges}


ARGS = None
STATS = Stats()
CDN_PORT = 0


def upstream_request(method, path, headers, body):
    conn = http.client.HTTPConnection(ARGS.upstream, timeout=30)
    hdrs = {k: v for k, v in headers.items() if k.lower() not in HOP}
    conn.request(method, path, body=body, headers=hdrs)
    resp = conn.getresponse()
    data = resp.read() if method != "HEAD" else b""
    conn.close()
    return resp, data


class Base(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length", "0") or "0")
        return self.rfile.read(n) if n > 0 else None

    def send_json(self, status, obj, extra=()):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def relay(self, resp, data, method, cut_after=None, relative_location=False):
        self.send_response(resp.status, resp.reason)
        length_sent = False
        for k, v in resp.getheaders():
            kl = k.lower()
            if kl in HOP:
                continue
            if kl == "content-length":
                length_sent = True
                if method != "HEAD":
                    v = str(len(data))
            if kl == "location" and relative_location:
                v = re.sub(r"^https?://[^/]+", "", v)
            self.send_header(k, v)
        if not length_sent:
            self.send_header("Content-Length", str(len(data)))
        if cut_after is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        if method == "HEAD":
            return
        if cut_after is not None:
            self.wfile.write(data[:cut_after])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(data)


class Front(Base):
    def handle_any(self, method):
        if self.path == "/_stats":
            self.send_json(200, STATS.as_json())
            return
        with STATS.lock:
            fail = STATS.failed < ARGS.fail_first
            if fail:
                STATS.failed += 1
        if fail:
            self.body()
            self.send_json(ARGS.fail_status,
                           {"errors": [{"code": "TOOMANYREQUESTS", "message": "slow down"}]},
                           [("Retry-After", str(ARGS.retry_after))])
            return
        with STATS.lock:
            STATS.requests += 1
            if "Range" in self.headers:
                STATS.ranges.append(self.headers["Range"])
        body = self.body()
        m = BLOB_RE.match(self.path.split("?")[0])
        if ARGS.mode == "redirect":
            if ARGS.basic:
                want = "Basic " + base64.b64encode(ARGS.basic.encode()).decode()
                if self.headers.get("Authorization") != want:
                    self.send_json(401, {"errors": [{"code": "UNAUTHORIZED",
                                                     "message": "front wants basic auth"}]},
                                   [("WWW-Authenticate", 'Basic realm="front"')])
                    return
            if m and method in ("GET", "HEAD"):
                loc = f"http://127.0.0.1:{CDN_PORT}/cdn/{m.group(1)}/{m.group(2)}?sig=abc"
                self.send_response(307)
                self.send_header("Location", loc)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            hdrs = dict(self.headers)
            hdrs.pop("Authorization", None)
            resp, data = upstream_request(method, self.path, hdrs, body)
            self.relay(resp, data, method, relative_location=True)
            return
        # cut mode
        hdrs = dict(self.headers)
        if m and ARGS.ignore_range_once and "Range" in hdrs:
            with STATS.lock:
                if self.path not in STATS.range_ignored:
                    STATS.range_ignored.add(self.path)
                    del hdrs["Range"]
        resp, data = upstream_request(method, self.path, hdrs, body)
        if ARGS.corrupt_manifests and "/manifests/" in self.path and method == "GET" and data:
            # Same length, other bytes: only the digest can tell.
            data = data.replace(b'"schemaVersion":2', b'"schemaVersion":3', 1)
        cut = None
        if m and method == "GET" and resp.status == 200:
            with STATS.lock:
                n = STATS.cut_paths.get(self.path, 0)
                # Each cut of the same blob goes further, so a restart still makes progress.
                if n < ARGS.cuts and len(data) > ARGS.cut_after * (n + 1):
                    STATS.cut_paths[self.path] = n + 1
                    STATS.cuts += 1
                    cut = ARGS.cut_after * (n + 1)
        self.relay(resp, data, method, cut_after=cut)

    def do_GET(self):
        self.handle_any("GET")

    def do_HEAD(self):
        self.handle_any("HEAD")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")


class Cdn(Base):
    def serve(self, method):
        with STATS.lock:
            STATS.cdn_requests += 1
            if "Authorization" in self.headers:
                STATS.cdn_auth_headers += 1
        mm = re.match(r"^/cdn/(.+)/(sha\d+:[0-9a-f]+)\?sig=abc$", self.path)
        if not mm:
            self.send_json(404, {"errors": [{"code": "NOT_FOUND", "message": "cdn"}]})
            return
        hdrs = {}
        if "Range" in self.headers:
            hdrs["Range"] = self.headers["Range"]
        resp, data = upstream_request(method, f"/v2/{mm.group(1)}/blobs/{mm.group(2)}", hdrs,
                                      None)
        self.relay(resp, data, method)

    def do_GET(self):
        self.serve("GET")

    def do_HEAD(self):
        self.serve("HEAD")


def main():
    global ARGS, CDN_PORT
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["cut", "redirect"], required=True)
    p.add_argument("--upstream", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--cut-after", type=int, default=100000)
    p.add_argument("--cuts", type=int, default=1)
    p.add_argument("--basic", default="")
    p.add_argument("--ignore-range-once", action="store_true")
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--corrupt-manifests", action="store_true")
    p.add_argument("--fail-status", type=int, default=503)
    p.add_argument("--retry-after", type=int, default=1)
    ARGS = p.parse_args()
    front = ThreadingHTTPServer(("127.0.0.1", 0), Front)
    front.daemon_threads = True
    ports = [str(front.server_address[1])]
    if ARGS.mode == "redirect":
        cdn = ThreadingHTTPServer(("127.0.0.1", 0), Cdn)
        cdn.daemon_threads = True
        CDN_PORT = cdn.server_address[1]
        ports.append(str(CDN_PORT))
        threading.Thread(target=cdn.serve_forever, daemon=True).start()
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write(" ".join(ports) + "\n")
    os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    front.serve_forever()


if __name__ == "__main__":
    main()
