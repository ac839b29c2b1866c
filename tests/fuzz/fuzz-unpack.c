/*
 * fuzz-unpack.c - libFuzzer harness for the layer unpacker: the input is
 * a layer blob (tar, tar+gzip or tar+zstd, detected), unpacked without
 * digest checks into a fresh directory, which must never be left. After
 * each run the harness checks that nothing appeared beside the layer
 * directory. Not built by default. By hand (as root, for mknod/chown):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE \
 *     -Isupervisor/image -Isupervisor/common tests/fuzz/fuzz-unpack.c supervisor/image/image*.c supervisor/common/*.c \
 *     -larchive -lcrypto -ljson-c -o fuzz-unpack
 *   ./fuzz-unpack -max_total_time=60 tests/fuzz/corpus/unpack
 */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base[64], layer[96];

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_limits lim = { .max_json_bytes = 1 << 20,
				    .max_layer_bytes = 64 << 20,
				    .max_layer_entries = 10000 };
	struct error err = { 0 };
	struct image_blob blob = { .fd = -1 };
	struct image_unpack_args a;
	int rootfd, r;

	if (!base[0]) {
		snprintf(base, sizeof(base), "/tmp/fuzz-unpack-XXXXXX");
		if (!mkdtemp(base))
			abort();
		snprintf(layer, sizeof(layer), "%s/layer", base);
	}
	blob.fd = memfd_create("blob", MFD_CLOEXEC);
	if (blob.fd < 0 || write(blob.fd, data, size) != (ssize_t)size)
		abort();
	blob.size = size;
	if (mkdir(layer, 0755) < 0)
		abort();
	rootfd = open(layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	a = (struct image_unpack_args){ .what = "fuzz",
					.blob = &blob,
					.comp = IMAGE_COMP_AUTO,
					.rootfd = rootfd,
					.root_path = layer,
					.lim = &lim };
	r = image_unpack_layer(&a, &err);
	if (r < 0 && !err.msg[0])
		__builtin_trap(); /* every failure is explained */
	close(rootfd);
	close(blob.fd);
	if (image_rm_tree(layer, NULL) < 0)
		__builtin_trap();
	/* confinement: the layer dir was the only thing in base */
	if (count_entries(base) != 0)
		__builtin_trap();
	return 0;
}
