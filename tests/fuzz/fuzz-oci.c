/*
 * fuzz-oci.c - libFuzzer harness for the OCI/docker metadata readers:
 * index.json, image indexes, manifests, configs and docker's
 * manifest.json. The input is split at lines "----" into documents; the
 * first is index.json (or manifest.json if it starts with '['), the rest
 * are blobs. "$Dn" and "$Sn" in a document are replaced by the digest and
 * size of document n (n > the document's own number), so the fuzzer can
 * reach past the digest checks. Plans are built, never unpacked.
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE \
 *     -Isupervisor/image -Isupervisor/common tests/fuzz/fuzz-oci.c supervisor/image/image*.c supervisor/common/*.c \
 *     -larchive -lcrypto -ljson-c -o fuzz-oci
 *   ./fuzz-oci -max_total_time=60 tests/fuzz/corpus/oci
 */
#include <fcntl.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXDOC 6

static char dir[64];

static void put(const char *name, const char *p, size_t n)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n)
		abort();
	close(fd);
}

/* doc with $Dk/$Sk substituted from hex/len of later docs (each grows to at most 71 bytes). */
static char *subst(const char *doc, size_t len, char hex[][65], const size_t *lens, int self, int n,
		   size_t *outlen)
{
	char *out = malloc(len * 24 + 1);
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (doc[i] == '$' && i + 2 < len && (doc[i + 1] == 'D' || doc[i + 1] == 'S') &&
		    doc[i + 2] > '0' && doc[i + 2] < '0' + MAXDOC) {
			int k = doc[i + 2] - '0';
			if (k > self && k < n) {
				if (doc[i + 1] == 'D')
					o += (size_t)sprintf(out + o, "sha256:%s", hex[k]);
				else
					o += (size_t)sprintf(out + o, "%zu", lens[k]);
				i += 2;
				continue;
			}
		}
		out[o++] = doc[i];
	}
	*outlen = o;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_limits lim = { .max_json_bytes = 1 << 16 };
	const char *doc[MAXDOC];
	size_t len[MAXDOC], flen[MAXDOC];
	char *final[MAXDOC] = { 0 };
	char hex[MAXDOC][65];
	struct image_source *src = NULL;
	struct image_plan *plans = NULL;
	struct error err = { 0 };
	size_t nplans = 0;
	const char *p = (const char *)data, *end = p + size;
	int n = 0, r;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/fuzz-oci-XXXXXX");
		if (!mkdtemp(dir))
			abort();
		put("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
		char b[128];
		snprintf(b, sizeof(b), "%s/blobs", dir);
		mkdir(b, 0755);
		snprintf(b, sizeof(b), "%s/blobs/sha256", dir);
		mkdir(b, 0755);
	}
	while (n < MAXDOC) {
		const char *sep = memmem(p, (size_t)(end - p), "\n----\n", 6);
		doc[n] = p;
		len[n] = sep ? (size_t)(sep - p) : (size_t)(end - p);
		n++;
		if (!sep)
			break;
		p = sep + 6;
	}
	for (int i = n - 1; i >= 0; i--) {
		unsigned char d[32];
		unsigned int dl;
		final[i] = subst(doc[i], len[i], hex, flen, i, n, &flen[i]);
		EVP_Digest(final[i], flen[i], d, &dl, EVP_sha256(), NULL);
		for (int k = 0; k < 32; k++)
			snprintf(hex[i] + 2 * k, 3, "%02x", d[k]);
		if (i > 0) {
			char name[96];
			snprintf(name, sizeof(name), "blobs/sha256/%s", hex[i]);
			put(name, final[i], flen[i]);
		}
	}
	bool docker = flen[0] > 0 && final[0][0] == '[';
	put(docker ? "manifest.json" : "index.json", final[0], flen[0]);
	if (docker) {
		/* docker's manifest.json names configs and layers by path: offer doc 1 as c.json */
		if (n > 1)
			put("c.json", final[1], flen[1]);
		char path[128];
		snprintf(path, sizeof(path), "%s/oci-layout", dir);
		unlink(path);
	} else {
		put("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
		char path[128];
		snprintf(path, sizeof(path), "%s/manifest.json", dir);
		unlink(path);
	}
	r = image_source_open(dir, &lim, &src, &err);
	if (r == 0) {
		r = image_source_plan(src, NULL, false, "fuzz", &plans, &nplans, &err);
		if (r == 0) {
			for (size_t i = 0; i < nplans; i++)
				if (!plans[i].config_digest || !plans[i].platform)
					__builtin_trap();
			image_plans_free(plans, nplans);
		}
	}
	if (r < 0 && !err.msg[0])
		__builtin_trap();
	if (getenv("FUZZ_OCI_DEBUG"))
		fprintf(stderr, "r=%d plans=%zu %s\n", r, nplans, r < 0 ? err.msg : "");
	image_source_free(src);
	for (int i = 0; i < n; i++) {
		if (i > 0) {
			char path[160];
			snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, hex[i]);
			unlink(path);
		}
		free(final[i]);
	}
	return 0;
}
