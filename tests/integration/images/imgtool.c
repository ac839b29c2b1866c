/*
 * imgtool.c - a small command-line driver of the image library for the
 * scripts in this directory (benchmarks, umoci comparison) until
 * paddockctl carries the image commands. Not installed. Build:
 *   cc -std=gnu11 -O2 -D_GNU_SOURCE -Isupervisor tests/integration/images/imgtool.c \
 *     supervisor/image/image*.c supervisor/common/*.c -larchive -lcrypto -ljson-c -o imgtool
 * Usage:
 *   imgtool STATE import SRC [NAME[:TAG]] [TAG]
 *   imgtool STATE resolve REF
 *   imgtool STATE mount REF TARGET        read-only overlay of REF on TARGET
 *   imgtool STATE list | inspect REF | rm REF | prune
 * IMGTOOL_NO_SYNC=1 in the environment skips syncfs() before layers are renamed.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "image.h"

static void bar(void *arg, size_t layer, size_t n, uint64_t done, uint64_t total)
{
	(void)arg;
	if (isatty(2))
		fprintf(stderr, "\rlayer %zu/%zu: %llu/%llu bytes   ", layer + 1, n,
			(unsigned long long)done, (unsigned long long)total);
}

int main(int argc, char **argv)
{
	struct error err = { 0 };
	struct image_store *s;
	struct image_info *info = NULL;
	json_object *o = NULL;
	int r = 0;

	if (argc < 3) {
		fprintf(stderr,
			"usage: imgtool STATE import|resolve|mount|list|inspect|rm|prune ...\n");
		return 2;
	}
	struct image_limits lim = { .no_sync = getenv("IMGTOOL_NO_SYNC") != NULL };

	s = image_store_open(argv[1], &lim, &err);
	if (!s) {
		fprintf(stderr, "imgtool: %s\n", err.msg);
		return 1;
	}
	if (strcmp(argv[2], "import") == 0 && argc >= 4) {
		char **refs = NULL;
		uint64_t u, k;
		r = image_import(s, argv[3], argc > 5 ? argv[5] : NULL, argc > 4 ? argv[4] : NULL,
				 bar, NULL, &refs, &err);
		if (isatty(2))
			fprintf(stderr, "\n");
		for (char **p = refs; p && *p; p++)
			printf("%s\n", *p);
		image_strv_free(refs);
		image_store_stats(s, &u, &k);
		fprintf(stderr, "layers unpacked %llu, reused %llu\n", (unsigned long long)u,
			(unsigned long long)k);
	} else if (strcmp(argv[2], "resolve") == 0 && argc == 4) {
		r = image_prepare(s, argv[3], &info, &err);
		for (size_t i = 0; r == 0 && i < info->nlayers; i++)
			printf("%s\n", info->layer_dirs[i]);
	} else if (strcmp(argv[2], "mount") == 0 && argc == 5) {
		char opts[4096], cwd[4096];
		r = image_prepare(s, argv[3], &info, &err);
		if (r == 0) {
			r = image_overlay_options(info, NULL, NULL, opts, sizeof(opts), cwd,
						  sizeof(cwd));
			snprintf(err.msg, sizeof(err.msg), "overlay options: %s", strerror(-r));
		}
		if (r == 0 &&
		    (chdir(cwd) < 0 || mount("overlay", argv[4], "overlay", MS_RDONLY, opts) < 0)) {
			r = -1;
			snprintf(err.msg, sizeof(err.msg), "mount: %m");
		}
	} else if (strcmp(argv[2], "list") == 0) {
		r = image_list(s, &o, &err);
	} else if (strcmp(argv[2], "inspect") == 0 && argc == 4) {
		r = image_inspect(s, argv[3], &o, &err);
	} else if (strcmp(argv[2], "rm") == 0 && argc == 4) {
		r = image_rm(s, argv[3], &err);
	} else if (strcmp(argv[2], "prune") == 0) {
		uint64_t freed = 0;
		r = image_prune(s, NULL, 0, &freed, &err);
		if (r >= 0)
			printf("%d layers, %llu bytes freed\n", r, (unsigned long long)freed);
	} else {
		fprintf(stderr, "imgtool: bad command\n");
		r = -1;
		snprintf(err.msg, sizeof(err.msg), "usage");
	}
	if (o)
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	json_object_put(o);
	image_info_free(info);
	image_store_free(s);
	if (r < 0) {
		fprintf(stderr, "imgtool: %s\n", err.msg);
		return 1;
	}
	return 0;
}
