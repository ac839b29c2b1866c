#!/usr/bin/env python3
"""mklayout.py OUT TAG DIR... - an OCI image layout at OUT whose layers are
the given directories (bottom first), each a tar+gzip made by GNU tar and
gzip, tagged TAG. For benchmarks and comparisons; unit tests build their
own images with libarchive."""
import hashlib, json, os, subprocess, sys

out, tag, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
blobs = os.path.join(out, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)

def put(data):
    h = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, h), "wb") as f:
        f.write(data)
    return h, len(data)

layers, diffs = [], []
for d in dirs:
    tar = subprocess.run(["tar", "--sort=name", "--numeric-owner", "--xattrs", "-C", d, "-cf", "-", "."],
                         check=True, stdout=subprocess.PIPE).stdout
    diffs.append("sha256:" + hashlib.sha256(tar).hexdigest())
    gz = subprocess.run(["gzip", "-n", "-6"], input=tar, check=True, stdout=subprocess.PIPE).stdout
    h, n = put(gz)
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                   "digest": "sha256:" + h, "size": n})
cfg = {"architecture": "amd64", "os": "linux",
       "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/bin:/bin"]},
       "rootfs": {"type": "layers", "diff_ids": diffs}}
ch, cn = put(json.dumps(cfg).encode())
man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                  "digest": "sha256:" + ch, "size": cn},
       "layers": layers}
mh, mn = put(json.dumps(man).encode())
with open(os.path.join(out, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + mh,
         "size": mn, "annotations": {"org.opencontainers.image.ref.name": tag}}]}, f)
