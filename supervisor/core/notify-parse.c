/*
 * notify-parse.c - the sd_notify message format: newline-separated
 * KEY=VALUE lines (sd_notify(3)). Pure, so the unit test and the fuzz
 * harness can feed it anything. A message is taken whole or refused
 * whole: a bad value of a key we act on refuses the message, keys we do
 * not know are counted and ignored (systemd ignores them too).
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "notify-parse.h"

/* Strict decimal: digits only, no sign, no overflow. */
static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

static bool is_key(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static bool key_is(const char *k, size_t klen, const char *name)
{
	return strlen(name) == klen && memcmp(k, name, klen) == 0;
}

static bool val_is(const char *v, size_t vlen, const char *want)
{
	return strlen(want) == vlen && memcmp(v, want, vlen) == 0;
}

static int parse(const char *buf, size_t len, struct notify_msg *m, struct error *err)
{
	if (len > NOTIFY_MSG_MAX) {
		return error_set(err, EBADMSG, "message too long");
	}
	if (memchr(buf, '\0', len)) {
		return error_set(err, EBADMSG, "NUL byte in message");
	}
	for (size_t pos = 0; pos < len;) {
		const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - line) : len - pos;
		pos += llen + (nl ? 1 : 0);
		if (llen == 0)
			continue; /* blank lines and a trailing newline are fine */
		const char *eq = memchr(line, '=', llen);
		if (!eq || !is_key(line, (size_t)(eq - line))) {
			return error_set(err, EBADMSG, "line is not KEY=VALUE");
		}
		const char *k = line, *v = eq + 1;
		size_t klen = (size_t)(eq - line), vlen = llen - klen - 1;
		uint64_t u;

		if (key_is(k, klen, "READY") || key_is(k, klen, "STOPPING") ||
		    key_is(k, klen, "RELOADING") || key_is(k, klen, "BARRIER")) {
			if (!val_is(v, vlen, "1")) {
				return error_set(
				    err, EBADMSG,
				    "READY, STOPPING, RELOADING and BARRIER take only 1");
			}
			if (key_is(k, klen, "READY"))
				m->ready = true;
			else if (key_is(k, klen, "STOPPING"))
				m->stopping = true;
			else if (key_is(k, klen, "RELOADING"))
				m->reloading = true;
			else
				m->barrier = true;
		} else if (key_is(k, klen, "WATCHDOG")) {
			if (val_is(v, vlen, "1"))
				m->watchdog = true;
			else if (val_is(v, vlen, "trigger"))
				m->watchdog_trigger = true;
			else {
				return error_set(err, EBADMSG, "WATCHDOG takes 1 or trigger");
			}
		} else if (key_is(k, klen, "STATUS")) {
			size_t n = vlen < NOTIFY_STATUS_MAX - 1 ? vlen : NOTIFY_STATUS_MAX - 1;
			for (size_t i = 0; i < n; i++) {
				unsigned char c = (unsigned char)v[i];
				m->status[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
			}
			m->status[n] = '\0';
			m->have_status = true;
		} else if (key_is(k, klen, "MAINPID")) {
			if (!parse_u64(v, vlen, &u) || u == 0 || u > INT_MAX) {
				return error_set(err, EBADMSG, "MAINPID is not a pid");
			}
			m->mainpid = (pid_t)u;
			m->have_mainpid = true;
		} else if (key_is(k, klen, "EXTEND_TIMEOUT_USEC")) {
			if (!parse_u64(v, vlen, &u)) {
				return error_set(
				    err, EBADMSG,
				    "EXTEND_TIMEOUT_USEC is not a number of microseconds");
			}
			m->extend_usec = u;
			m->have_extend = true;
		} else if (key_is(k, klen, "WATCHDOG_USEC")) {
			if (!parse_u64(v, vlen, &u) || u == 0) {
				return error_set(
				    err, EBADMSG,
				    "WATCHDOG_USEC is not a positive number of microseconds");
			}
			m->watchdog_usec = u;
			m->have_watchdog_usec = true;
		} else {
			m->ignored++; /* ERRNO=, BUSERROR=, FDSTORE=, ...: not acted on */
		}
	}
	return 0;
}

int notify_parse(const char *buf, size_t len, struct notify_msg *m, struct error *err)
{
	memset(m, 0, sizeof(*m));
	int r = parse(buf, len, m, err);
	if (r < 0)
		memset(m, 0, sizeof(*m)); /* refused whole: nothing to act on by mistake */
	return r;
}
