/*
 * fuzz-seccomp.c - libFuzzer harness for the OCI JSON seccomp profile
 * parser (supervisor/launch/seccomp-profile.c). Built and run by tests/fuzz/run.sh:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -Isupervisor/image -Isupervisor/common \
 *     tests/fuzz/fuzz-seccomp.c supervisor/launch/seccomp-profile.c -ljson-c -lseccomp -lcap
 *   ./fuzz-seccomp tests/fuzz/corpus/seccomp
 * A parse either returns a filter that exports to BPF, or fails with an
 * error message and no filter.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "seccomp-profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Alternate the capability set so includes/excludes take both branches. */
	uint64_t caps = size & 1 ? ~0ULL : 0xa80425fbULL;
	scmp_filter_ctx ctx = (scmp_filter_ctx)1;
	struct error err = { 0 };
	int r = seccomp_profile_parse((const char *)data, size, caps, &ctx, &err);

	if (r == 0) {
		if (!ctx)
			__builtin_trap();
		/* The filter is complete: libseccomp can generate the program. */
		static int fd = -1;
		if (fd < 0)
			fd = memfd_create("fuzz-seccomp", MFD_CLOEXEC);
		if (fd >= 0 && ftruncate(fd, 0) == 0)
			(void)seccomp_export_bpf(ctx, fd);
		seccomp_release(ctx);
	} else if (ctx || !err.msg[0] || r >= 0) {
		__builtin_trap(); /* an error must be explained, and return nothing */
	}
	return 0;
}
