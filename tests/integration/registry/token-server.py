#!/usr/bin/env python3
"""token-server.py - the Bearer token endpoint of a test registry.

The registry runs in `auth: token` mode pointed here (realm
https://127.0.0.1:PORT/token). A client asks GET /token?service=S&scope=...
with or without Basic credentials; this answers with a JWT signed RS256 by
a key the test made with openssl (the signature comes from
`openssl dgst -sha256 -sign`: python3's stdlib has no RSA), carrying its
certificate in the x5c header so the registry checks it against its
rootcertbundle.

  token-server.py --port-file F --cert C --key K --signer-key SK --signer-cert SC
                  --issuer I --service S --user USER:PASS [--anonymous-pull] --log L

Each request is one line in the log: "TOKEN user=U scope=S granted=ACTIONS"
or "DENIED ...": the tests count them.
"""
import argparse
import base64
import http.server
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.parse


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cert_der_b64(path):
    with open(path) as f:
        pem = f.read()
    body = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    return "".join(body.split())  # standard base64 of the DER, as x5c wants


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def note(self, line):
        with open(self.server.opts.log, "a") as f:
            f.write(line + "\n")

    def reply(self, code, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def user(self):
        h = self.headers.get("Authorization", "")
        if not h.startswith("Basic "):
            return None
        try:
            return base64.b64decode(h[6:]).decode()
        except ValueError:
            return ""

    def do_GET(self):
        o = self.server.opts
        u = urllib.parse.urlparse(self.path)
        if u.path != "/token":
            self.reply(404, {"error": "not found"})
            return
        q = urllib.parse.parse_qs(u.query)
        scopes = [s for v in q.get("scope", []) for s in v.split(" ") if s]
        creds = self.user()
        who = creds.split(":", 1)[0] if creds else "-"
        if creds is not None and creds not in o.user:
            self.note(f"DENIED user={who} scope={','.join(scopes)} (bad credentials)")
            self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]},
                       [("WWW-Authenticate", 'Basic realm="paddock-test-token"')])
            return
        if q.get("service", [""])[0] != o.service:
            self.note(f"DENIED user={who} service={q.get('service')} (wrong service)")
            self.reply(400, {"error": "wrong service"})
            return
        if creds is None and not o.anonymous_pull:
            self.note(f"DENIED user=- scope={','.join(scopes)} (anonymous)")
            self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "credentials needed"}]},
                       [("WWW-Authenticate", 'Basic realm="paddock-test-token"')])
            return
        access = []
        for s in scopes:
            parts = s.split(":")
            if len(parts) < 3:
                continue
            typ, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
            allowed = [a for a in actions if a == "pull" or (creds is not None and a in ("push", "delete", "*"))]
            access.append({"type": typ, "name": name, "actions": allowed})
        now = int(time.time())
        claims = {"iss": o.issuer, "sub": who if who != "-" else "", "aud": o.service,
                  "exp": now + 300, "nbf": now - 10, "iat": now,
                  "jti": b64url(os.urandom(12)), "access": access}
        header = {"typ": "JWT", "alg": "RS256", "x5c": [cert_der_b64(o.signer_cert)]}
        signing = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", o.signer_key],
                             input=signing.encode(), capture_output=True, check=True).stdout
        token = signing + "." + b64url(sig)
        granted = ";".join(f"{a['name']}:{','.join(a['actions'])}" for a in access)
        self.note(f"TOKEN user={who} scope={','.join(scopes)} granted={granted}")
        self.reply(200, {"token": token, "access_token": token, "expires_in": 300,
                         "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))})


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--signer-key", required=True)
    p.add_argument("--signer-cert", required=True)
    p.add_argument("--issuer", required=True)
    p.add_argument("--service", required=True)
    p.add_argument("--user", action="append", default=[])
    p.add_argument("--anonymous-pull", action="store_true")
    p.add_argument("--log", required=True)
    o = p.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.opts = o
    if o.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(o.cert, o.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = o.port_file + ".new"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, o.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
