/*
 * fuzz-notify.c - libFuzzer harness for the sd_notify datagram parser
 * (supervisor/core/notify-parse.c): whatever a service sends, the parser either
 * refuses it with a reason and an empty result, or returns a status text
 * that is bounded and free of control characters. Built by run.sh.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "notify-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct notify_msg m;
	struct error err = { 0 };
	int r = notify_parse((const char *)data, size, &m, &err);

	if (r == -EBADMSG) {
		if (!err.msg[0] || m.ready || m.have_status || m.have_mainpid)
			__builtin_trap();
		return 0;
	}
	if (r != 0)
		__builtin_trap();
	size_t n = strnlen(m.status, sizeof(m.status));
	if (n == sizeof(m.status))
		__builtin_trap(); /* not NUL-terminated */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)m.status[i] < 0x20 || m.status[i] == 0x7f)
			__builtin_trap();
	if (m.have_mainpid && m.mainpid <= 0)
		__builtin_trap();
	return 0;
}
