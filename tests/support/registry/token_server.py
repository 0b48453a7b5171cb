#!/usr/bin/env python3
"""A small Docker token server (docker-api.md 5.2) for tests against distribution's token auth.

It makes an RSA key and a self-signed certificate (written to --cert-out; the registry's
`auth.token.rootcertbundle`), and issues RS256 JWTs carrying the certificate in `x5c`, which
distribution verifies against that bundle.

  GET  /token?service=&scope=...[&offline_token=true&client_id=]  (Basic auth optional)
  POST /token  grant_type=refresh_token&refresh_token=...&service=&scope=...
  GET  /log    JSON list of the requests seen (method, user, scopes, grant_type, offline)

Users come from --user name:password (repeatable); --reader NAME only ever gets pull. Anonymous
callers get no access at all. Writes "<port>\n" to --port-file once listening.
"""

import argparse
import base64
import datetime
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class State:
    def __init__(self, args):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "berth-test-token")])
        now = datetime.datetime.utcnow()
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        with open(args.cert_out, "wb") as f:
            f.write(self.cert.public_bytes(serialization.Encoding.PEM))
        self.x5c = base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()
        self.issuer = args.issuer
        self.users = dict(u.split(":", 1) for u in args.user)
        self.readers = set(args.reader)
        self.refresh = {}  # refresh token -> user
        self.log = []
        self.lock = threading.Lock()
        self.expires_in = args.expires_in

    def sign(self, user, service, scopes):
        access = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) < 3 or user is None:
                continue
            typ, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
            granted = [a for a in actions if a == "pull" or user not in self.readers]
            if granted:
                access.append({"type": typ, "name": name, "actions": granted})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {
            "iss": self.issuer,
            "sub": user or "",
            "aud": service,
            "exp": now + self.expires_in,
            "nbf": now - 30,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        signing_input = (
            b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        )
        sig = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(sig)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: State = None

    def log_message(self, *a):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def basic_user(self):
        auth = self.headers.get("Authorization", "")
        if not auth.lower().startswith("basic "):
            return None, True
        try:
            user, pw = base64.b64decode(auth[6:]).decode().split(":", 1)
        except Exception:
            return None, False
        if self.state.users.get(user) != pw:
            return None, False
        return user, True

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        st = self.state
        if url.path == "/log":
            with st.lock:
                self.reply(200, st.log)
            return
        if url.path != "/token":
            self.reply(404, {"details": "not found"})
            return
        q = urllib.parse.parse_qs(url.query)
        user, ok = self.basic_user()
        scopes = q.get("scope", [])
        offline = q.get("offline_token", [""])[0] == "true"
        with st.lock:
            st.log.append({"method": "GET", "user": user, "scopes": scopes, "offline": offline,
                           "client_id": q.get("client_id", [""])[0]})
        if not ok:
            self.reply(401, {"details": "incorrect username or password"})
            return
        resp = {"token": st.sign(user, q.get("service", [""])[0], scopes),
                "expires_in": st.expires_in,
                "issued_at": datetime.datetime.utcnow().isoformat() + "Z"}
        if offline and user is not None:
            rt = secrets.token_hex(16)
            with st.lock:
                st.refresh[rt] = user
            resp["refresh_token"] = rt
        self.reply(200, resp)

    def do_POST(self):
        st = self.state
        n = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        grant = form.get("grant_type", [""])[0]
        scopes = form.get("scope", [])
        rt = form.get("refresh_token", [""])[0]
        with st.lock:
            user = st.refresh.get(rt)
            st.log.append({"method": "POST", "grant_type": grant, "user": user, "scopes": scopes,
                           "client_id": form.get("client_id", [""])[0]})
        if grant != "refresh_token" or user is None:
            self.reply(401, {"error": "invalid_grant", "details": "unknown refresh token"})
            return
        self.reply(200, {"access_token": st.sign(user, form.get("service", [""])[0], scopes),
                         "expires_in": st.expires_in, "refresh_token": rt})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--cert-out", required=True)
    p.add_argument("--issuer", default="berth-test-issuer")
    p.add_argument("--user", action="append", default=[])
    p.add_argument("--reader", action="append", default=[])
    p.add_argument("--expires-in", type=int, default=300)
    args = p.parse_args()
    Handler.state = State(args)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(args.port_file + ".tmp", "w") as f:
        f.write(f"{srv.server_address[1]}\n")
    import os
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
