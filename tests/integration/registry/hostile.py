#!/usr/bin/env python3
"""hostile.py - a broken or hostile registry for the pull tests (issue 17).

Speaks just enough of the distribution protocol (GET /v2/, manifests and
blobs, HEAD too) over TLS (--cert/--key) or plain HTTP. The repository
name picks the misbehaviour, so one server serves every case:

  ok            a good one-layer image (the control)
  wrong-digest  the layer's descriptor names a digest its bytes do not have
  short-blob    the layer is sent 100 bytes short (Content-Length says so too)
  long-blob     the layer comes with 100 bytes more than its descriptor's size
  endless-blob  the layer never ends (no Content-Length, bytes until closed)
  big-manifest  an 8 MiB manifest (the store's JSON limit is 4 MiB)
  redirect-loop the layer redirects to a new URL of this server, forever
  redirect-http the layer redirects to plain http (a listener of its own,
                which counts the requests that reach it: "PLAIN ..." lines)
  endless-401   every request under the repository is 401, tokens or not
  missing-blob  the manifest names a layer the server answers 404 for
  drip          the layer comes one byte a second
  drop-resume   the first GET of the layer stops halfway (connection
                closed); a GET with Range gets the rest (206)
  schema1       a docker schema1 manifest (signed v1+prettyjws)
  pause-once    the first GET of the layer sends half, then pauses 20 s
                before the rest (a pull to kill -9 mid-blob); later GETs
                are served whole

Every image is IMAGE_NAME:v1 (or @its digest) for linux/<this machine>, its
layer unique to the repository (a file /hostile/NAME and random bytes), so
that no case finds its layer in the store from another.

Each request is one line in --log: "METHOD PATH range=R status=S" (status
"-" when the body was cut short on purpose).
"""
import argparse
import gzip
import hashlib
import http.server
import io
import json
import os
import platform
import socket
import ssl
import sys
import tarfile
import threading
import time

CASES = ["ok", "wrong-digest", "short-blob", "long-blob", "endless-blob", "big-manifest",
         "redirect-loop", "redirect-http", "endless-401", "missing-blob", "drip",
         "drop-resume", "schema1", "pause-once"]
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"
ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
        "s390x": "s390x", "riscv64": "riscv64"}.get(platform.machine(), platform.machine())


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def layer_tar(name, nrandom):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        d = tarfile.TarInfo("hostile")
        d.type, d.mode = tarfile.DIRTYPE, 0o755
        t.addfile(d)
        data = (f"layer of {name}\n".encode() + os.urandom(nrandom))
        f = tarfile.TarInfo(f"hostile/{name}")
        f.size, f.mode = len(data), 0o644
        t.addfile(f, io.BytesIO(data))
    return buf.getvalue()


class Image:
    """One repository's image: layer blob, config, manifest, and the lies."""

    def __init__(self, name):
        self.name = name
        tar = layer_tar(name, (1 << 20) if name in ("drop-resume", "pause-once") else (64 << 10))
        self.paused = False
        self.layer = gzip.compress(tar, mtime=0)
        self.layer_digest = sha(self.layer)
        config = {"architecture": ARCH, "os": "linux",
                  "config": {"Cmd": ["/bin/sh"]},
                  "rootfs": {"type": "layers", "diff_ids": [sha(tar)]}}
        self.config = json.dumps(config).encode()
        desc_digest = self.layer_digest
        if name == "wrong-digest":  # the bytes served at this digest are another's
            desc_digest = sha(b"not the bytes of this layer")
        self.desc_digest = desc_digest
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                               "digest": sha(self.config), "size": len(self.config)},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                "digest": desc_digest, "size": len(self.layer)}]}
        if name == "big-manifest":
            manifest["annotations"] = {"org.example.padding": "x" * (8 << 20)}
        self.manifest_type = OCI_MANIFEST
        if name == "schema1":
            self.manifest_type = SCHEMA1
            manifest = {"schemaVersion": 1, "name": name, "tag": "v1", "architecture": ARCH,
                        "fsLayers": [{"blobSum": self.layer_digest}],
                        "history": [{"v1Compatibility": json.dumps({"id": "0" * 64})}],
                        "signatures": [{"header": {"alg": "ES256"}, "signature": "AAAA",
                                        "protected": "e30"}]}
        self.manifest = json.dumps(manifest).encode()
        self.manifest_digest = sha(self.manifest)
        self.blobs = {sha(self.config): self.config, desc_digest: self.layer}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def note(self, status):
        line = f"{self.command} {self.path} range={self.headers.get('Range', '-')} status={status}"
        with self.server.lock:
            with open(self.server.opts.log, "a") as f:
                f.write(line + "\n")

    def send(self, code, body=b"", ctype="application/json", headers=(), length=None):
        self.note(code)
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, code, errcode, msg, headers=()):
        self.send(code, json.dumps({"errors": [{"code": errcode, "message": msg}]}).encode(),
                  headers=headers)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        srv = self.server
        if parts == ["v2"]:
            return self.send(200, b"{}", headers=[("Docker-Distribution-API-Version", "registry/2.0")])
        if parts[0] == "token":
            return self.send(200, json.dumps({"token": "t0k3n", "access_token": "t0k3n"}).encode())
        if parts[0] == "loop" and len(parts) == 3:  # redirect-loop: the next URL, always
            n = int(parts[2]) + 1
            return self.send(307, headers=[("Location", f"/loop/{parts[1]}/{n}")])
        if len(parts) != 4 or parts[0] != "v2" or parts[1] not in srv.images:
            return self.error(404, "NAME_UNKNOWN", "no such repository")
        img, kind, ref = srv.images[parts[1]], parts[2], parts[3]
        if img.name == "endless-401":
            scheme = "https" if srv.opts.cert else "http"
            return self.error(401, "UNAUTHORIZED", "authentication required", headers=[
                ("WWW-Authenticate", f'Bearer realm="{scheme}://{self.headers.get("Host")}/token",'
                 f'service="hostile",scope="repository:{img.name}:pull"')])
        if kind == "manifests":
            if ref not in ("v1", img.manifest_digest):
                return self.error(404, "MANIFEST_UNKNOWN", "no such manifest")
            return self.send(200, img.manifest, ctype=img.manifest_type,
                             headers=[("Docker-Content-Digest", img.manifest_digest)])
        if kind != "blobs" or ref not in img.blobs:
            return self.error(404, "BLOB_UNKNOWN", "blob unknown to registry")
        body = img.blobs[ref]
        if ref == sha(img.config):
            return self.send(200, body, ctype="application/octet-stream",
                             headers=[("Docker-Content-Digest", ref)])
        self.layer_blob(img, body)

    def layer_blob(self, img, body):
        name = img.name
        octet = "application/octet-stream"
        if name == "missing-blob":
            return self.error(404, "BLOB_UNKNOWN", "blob unknown to registry")
        if name == "short-blob":
            return self.send(200, body[:-100], ctype=octet)
        if name == "long-blob":
            return self.send(200, body + os.urandom(100), ctype=octet)
        if name == "redirect-loop":
            return self.send(307, headers=[("Location", f"/loop/{name}/1")])
        if name == "redirect-http":
            return self.send(307, headers=[
                ("Location", f"http://127.0.0.1:{self.server.plain_port}/blob/{name}")])
        if name == "endless-blob":
            self.note("-")
            self.send_response(200)
            self.send_header("Content-Type", octet)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                self.wfile.write(body)
                chunk = b"\0" * 65536
                while True:
                    self.wfile.write(chunk)
            except OSError:
                return
        if name == "drip":
            self.note("-")
            self.send_response(200)
            self.send_header("Content-Type", octet)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for i in range(len(body)):
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                pass
            self.close_connection = True
            return
        if name == "drop-resume":
            rng = self.headers.get("Range", "")
            if rng.startswith("bytes=") and rng.endswith("-"):
                start = int(rng[6:-1])
                return self.send(206, body[start:], ctype=octet, headers=[
                    ("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}"),
                    ("Accept-Ranges", "bytes")])
            self.note("-")
            self.send_response(200)
            self.send_header("Content-Type", octet)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:  # a reset, not a clean end: the client must see the cut
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if name == "pause-once" and not img.paused:
            img.paused = True
            self.note("-")
            self.send_response(200)
            self.send_header("Content-Type", octet)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body[:len(body) // 2])
                self.wfile.flush()
                time.sleep(20)
                self.wfile.write(body[len(body) // 2:])
            except OSError:
                pass
            self.close_connection = True
            return
        return self.send(200, body, ctype=octet, headers=[("Docker-Content-Digest", img.layer_digest)])


class PlainHandler(Handler):
    """The plain http listener redirect-http points to: counts, then serves."""

    def do_GET(self):
        with self.server.lock:
            with open(self.server.opts.log, "a") as f:
                f.write(f"PLAIN {self.command} {self.path}\n")
        img = self.server.images["redirect-http"]
        self.send(200, img.layer, ctype="application/octet-stream")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--log", required=True)
    o = p.parse_args()
    images = {n: Image(n) for n in CASES}
    lock = threading.Lock()
    plain = Server(("127.0.0.1", 0), PlainHandler)
    srv = Server(("127.0.0.1", 0), Handler)
    for s in (plain, srv):
        s.opts, s.images, s.lock = o, images, lock
    srv.plain_port = plain.server_address[1]
    if o.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(o.cert, o.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    # What the tests compare with: each case's manifest and layer digests.
    with open(o.port_file + ".json", "w") as f:
        json.dump({n: {"manifest": i.manifest_digest, "layer": i.desc_digest,
                       "layer_size": len(i.layer)} for n, i in images.items()}, f)
    tmp = o.port_file + ".new"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, o.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
