/*
 * logstore.c - line splitting, file rotation, memory ring and journald
 * copy for one service's output. The ring is a byte buffer of complete
 * records "TIMESTAMP STREAM text\n" that grows on demand up to
 * LOGSTORE_RING_MAX, so an idle service costs nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "logstore.h"
#include "util.h"

struct follower {
	logstore_follow_fn fn;
	void *arg;
	struct follower *next;
};

struct logstore {
	char *path; /* <dir>/<service>.log */
	char *service;
	uint64_t max_size;
	unsigned keep;
	bool journald;
	bool notes_need_output; /* a note alone creates no file (run --rm) */
	int fd;
	uint64_t size;
	uint64_t dropped;

	char *partial[2]; /* unterminated tail per stream, LOGSTORE_LINE_MAX, allocated on need */
	size_t partial_len[2];

	char *ring; /* circular byte buffer of records */
	size_t ring_cap, ring_start, ring_len;

	/* "TIMESTAMP STREAM " of the last record: lines of the same millisecond share it */
	uint64_t hdr_ms;
	int hdr_stream;
	int hdr_len;
	char hdr[64];

	struct follower *followers;
};

static void flush_out(struct logstore *ls);

struct logstore *logstore_new(const char *dir, const char *service, uint64_t max_size,
			      unsigned keep, bool journald)
{
	struct logstore *ls = xcalloc(1, sizeof(*ls));

	xasprintf(&ls->path, "%s/%s.log", dir, service);
	ls->service = xstrdup(service);
	ls->max_size = max_size;
	ls->keep = keep;
	ls->journald = journald;
	ls->fd = -1;
	return ls;
}

struct logstore *logstore_free(struct logstore *ls)
{
	if (!ls)
		return NULL;
	flush_out(ls); /* nothing, unless freed from inside a follower */
	while (ls->followers) {
		struct follower *f = ls->followers;
		ls->followers = f->next;
		free(f);
	}
	if (ls->fd >= 0)
		close(ls->fd);
	free(ls->partial[0]);
	free(ls->partial[1]);
	free(ls->ring);
	free(ls->path);
	free(ls->service);
	free(ls);
	return NULL;
}

static void rotate(struct logstore *ls)
{
	char from[4096], to[4096];

	if (ls->fd >= 0) {
		close(ls->fd);
		ls->fd = -1;
	}
	for (unsigned i = ls->keep; i > 0; i--) {
		if (i == 1)
			snprintf(from, sizeof(from), "%s", ls->path);
		else
			snprintf(from, sizeof(from), "%s.%u", ls->path, i - 1);
		snprintf(to, sizeof(to), "%s.%u", ls->path, i);
		(void)rename(from, to);
	}
	if (ls->keep == 0)
		(void)unlink(ls->path);
}

static bool open_file(struct logstore *ls)
{
	struct stat st;

	if (ls->fd >= 0)
		return true;
	ls->fd = open(ls->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (ls->fd < 0)
		return false;
	ls->size = fstat(ls->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	return true;
}

/*
 * Drop whole records from the front, at least need bytes: skip need - 1
 * bytes, then up to and including the next newline (memchr over the one
 * or two contiguous parts, not a byte at a time: this runs for every
 * line once the ring is full). The ring always ends in a newline.
 */
static void ring_evict(struct logstore *ls, size_t need)
{
	size_t skip = need - 1, pos = (ls->ring_start + skip) % ls->ring_cap;
	size_t left = ls->ring_len - skip; /* bytes from pos to the end of the records */
	size_t first = left < ls->ring_cap - pos ? left : ls->ring_cap - pos;
	const char *nl = memchr(ls->ring + pos, '\n', first);
	size_t drop;

	if (nl)
		drop = skip + (size_t)(nl - (ls->ring + pos)) + 1;
	else if ((nl = memchr(ls->ring, '\n', left - first)))
		drop = skip + first + (size_t)(nl - ls->ring) + 1;
	else
		drop = ls->ring_len;
	ls->ring_start = (ls->ring_start + drop) % ls->ring_cap;
	ls->ring_len -= drop;
}

static void ring_append(struct logstore *ls, const char *rec, size_t len)
{
	if (len > LOGSTORE_RING_MAX)
		return;
	if (ls->ring_len + len > ls->ring_cap && ls->ring_cap < LOGSTORE_RING_MAX) {
		size_t cap = ls->ring_cap ? ls->ring_cap : 4096;
		while (cap < ls->ring_len + len && cap < LOGSTORE_RING_MAX)
			cap *= 2;
		if (cap > LOGSTORE_RING_MAX)
			cap = LOGSTORE_RING_MAX;
		char *n = malloc(cap);
		if (!n) {
			ls->dropped++;
			return;
		}
		/* Linearise into the new buffer. */
		for (size_t i = 0; i < ls->ring_len; i++)
			n[i] = ls->ring[(ls->ring_start + i) % ls->ring_cap];
		free(ls->ring);
		ls->ring = n;
		ls->ring_cap = cap;
		ls->ring_start = 0;
	}
	if (ls->ring_len + len > ls->ring_cap)
		ring_evict(ls, ls->ring_len + len - ls->ring_cap);
	size_t at = (ls->ring_start + ls->ring_len) % ls->ring_cap;
	size_t first = len < ls->ring_cap - at ? len : ls->ring_cap - at;
	memcpy(ls->ring + at, rec, first);
	memcpy(ls->ring, rec + first, len - first);
	ls->ring_len += len;
}

/*
 * Records waiting for the file: one write(2) per batch of input, not per
 * line. One buffer serves every store, because it is empty whenever
 * logstore_feed, _flush and _note return (so the file is as current as
 * before, for readers and for a crash); 1000 services do not each keep
 * 256 KiB. A store that finds it held by another flushes that one first.
 * 256 KiB holds what one read of service output (256 KiB, see
 * service-output.c) becomes with its stamps in one or two writes.
 */
#define LOGSTORE_OUT_MAX (256 * 1024)

static struct {
	struct logstore *owner;
	size_t len;
	char buf[LOGSTORE_OUT_MAX];
} pending;

/* Write what ls holds; records that cannot be written are counted as dropped. */
static void flush_out(struct logstore *ls)
{
	size_t off = 0;

	if (pending.owner != ls)
		return;
	if (ls->fd >= 0) {
		while (off < pending.len) {
			ssize_t n = write(ls->fd, pending.buf + off, pending.len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			off += (size_t)n;
		}
	}
	if (off < pending.len) {
		/* Count what did not reach the file: the records from the first lost byte on. */
		unsigned lost = 0;
		for (size_t i = off; i < pending.len; i++)
			lost += pending.buf[i] == '\n';
		ls->dropped += lost ? lost : 1;
		ls->size -= pending.len - off;
	}
	pending.len = 0;
	pending.owner = NULL;
}

static void file_append(struct logstore *ls, const char *rec, size_t reclen)
{
	if (ls->max_size > 0 && ls->size + reclen > ls->max_size) {
		flush_out(ls); /* what is held belongs to the file being rotated */
		rotate(ls);
		ls->size = 0;
	}
	if (!open_file(ls)) {
		ls->dropped++;
		return;
	}
	if (pending.owner && (pending.owner != ls || pending.len + reclen > LOGSTORE_OUT_MAX))
		flush_out(pending.owner);
	pending.owner = ls;
	memcpy(pending.buf + pending.len, rec, reclen);
	pending.len += reclen;
	ls->size += reclen;
}

/*
 * One record, stamped ts: the time paddockd took the line in. The lines
 * of one feed came in one read, so they share it (clock_gettime per line
 * cost as much as the rest of storing it).
 */
static void store_line(struct logstore *ls, const struct timespec *now, int stream,
		       const char *line, size_t len)
{
	char rec[LOGSTORE_LINE_MAX + 64];
	struct timespec ts = *now;
	uint64_t ms;
	int hdr;

	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (ms != ls->hdr_ms || stream != ls->hdr_stream || !ls->hdr_len) {
		/* Formatted once per millisecond and stream, not per line. */
		struct tm tm;
		char stamp[24];
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		ls->hdr_len =
		    snprintf(ls->hdr, sizeof(ls->hdr), "%s.%03ldZ %s ", stamp, ts.tv_nsec / 1000000,
			     stream == 2   ? "stderr"
			     : stream == 1 ? "stdout"
					   : "paddockd");
		ls->hdr_ms = ms;
		ls->hdr_stream = stream;
	}
	hdr = ls->hdr_len;
	memcpy(rec, ls->hdr, (size_t)hdr);
	if (len > LOGSTORE_LINE_MAX)
		len = LOGSTORE_LINE_MAX;
	memcpy(rec + hdr, line, len);
	rec[hdr + (int)len] = '\n';
	size_t reclen = (size_t)hdr + len + 1;

	ring_append(ls, rec, reclen);
	if (stream != 0 || ls->fd >= 0 || !ls->notes_need_output)
		file_append(ls, rec, reclen);

	if (ls->journald)
		(void)sd_journal_send("MESSAGE=%.*s", (int)len, line, "PRIORITY=%d",
				      stream == 2   ? LOG_ERR
				      : stream == 1 ? LOG_INFO
						    : LOG_NOTICE,
				      "SYSLOG_IDENTIFIER=%s", ls->service, "PADDOCK_SERVICE=%s",
				      ls->service, NULL);

	for (struct follower *f = ls->followers, *next; f; f = next) {
		next = f->next; /* a follower may unfollow itself */
		f->fn(f->arg, ls->service, stream, ms, line, len);
	}
}

static void feed_lines(struct logstore *ls, const struct timespec *now, int stream, const char *buf,
		       size_t len)
{
	int s = stream == 2 ? 1 : 0;
	size_t *plen = &ls->partial_len[s];
	char *part;

	if (!ls->partial[s] && !(ls->partial[s] = malloc(LOGSTORE_LINE_MAX))) {
		ls->dropped++;
		return;
	}
	part = ls->partial[s];
	while (len > 0) {
		const char *nl = memchr(buf, '\n', len);
		size_t take = nl ? (size_t)(nl - buf) : len;

		if (*plen + take >= LOGSTORE_LINE_MAX) {
			/* Overlong line: store what we have as one line and go on. */
			size_t room = LOGSTORE_LINE_MAX - *plen;
			memcpy(part + *plen, buf, room);
			store_line(ls, now, stream, part, LOGSTORE_LINE_MAX);
			*plen = 0;
			buf += room;
			len -= room;
			continue;
		}
		if (!nl) {
			memcpy(part + *plen, buf, take);
			*plen += take;
			return;
		}
		if (*plen == 0) {
			/* The common case: a whole line, no copy. */
			store_line(ls, now, stream, buf, take);
			buf += take + 1;
			len -= take + 1;
			continue;
		}
		memcpy(part + *plen, buf, take);
		*plen += take;
		store_line(ls, now, stream, part, *plen);
		*plen = 0;
		buf += take + 1;
		len -= take + 1;
	}
}

void logstore_feed(struct logstore *ls, int stream, const char *buf, size_t len)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	feed_lines(ls, &now, stream, buf, len);
	flush_out(ls);
}

void logstore_flush(struct logstore *ls, int stream)
{
	int s = stream == 2 ? 1 : 0;

	if (ls->partial_len[s] > 0) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		store_line(ls, &now, stream, ls->partial[s], ls->partial_len[s]);
		ls->partial_len[s] = 0;
	}
	flush_out(ls);
}

void logstore_notes_need_output(struct logstore *ls, bool yes)
{
	ls->notes_need_output = yes;
}

void logstore_note(struct logstore *ls, const char *fmt, ...)
{
	struct timespec now;
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	/* Stream 0: paddockd's own notes about the service, labelled as such. */
	clock_gettime(CLOCK_REALTIME, &now);
	store_line(ls, &now, 0, line, (size_t)n);
	flush_out(ls);
}

/* The ring's last n lines (the fallback when the file cannot be read). */
static char *ring_tail(const struct logstore *ls, unsigned n)
{
	size_t start = ls->ring_len, count = 0;

	/* Walk back over n newlines (the last byte is always '\n'). */
	while (start > 0 && count <= n) {
		char c = ls->ring[(ls->ring_start + start - 1) % ls->ring_cap];
		if (c == '\n') {
			if (count == n)
				break;
			count++;
		}
		start--;
	}
	size_t len = ls->ring_len - start;
	char *out = malloc(len + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++)
		out[i] = ls->ring[(ls->ring_start + start + i) % ls->ring_cap];
	out[len] = '\0';
	return out;
}

/* The ring's last n lines from the stamp since on ("" for any). */
static char *ring_since(const struct logstore *ls, unsigned n, const char *since)
{
	char *text = ring_tail(ls, n), *p = text;

	/* The ring is in order: skip the records older than since. */
	while (p && *p && since[0] && strncmp(p, since, strlen(since)) < 0) {
		char *nl = strchr(p, '\n');
		p = nl ? nl + 1 : p + strlen(p);
	}
	if (p && p != text)
		memmove(text, p, strlen(p) + 1);
	return text;
}

/* --- history from the files ---------------------------------------------------------------- */

#define HISTORY_FIRST 8192
#define HISTORY_CHUNK 65536
#define HISTORY_CARRY (LOGSTORE_LINE_MAX + 128) /* a record's header and its longest line */
#define STAMP_LEN 24 /* "2026-12-04T22:02:46.123Z" */

/*
 * Lines gathered newest first while the files are read backwards: the
 * text one after the other in buf, where each starts in off.
 */
struct history {
	unsigned want; /* lines still wanted */
	char since[STAMP_LEN + 1]; /* oldest stamp wanted; "" for any */
	size_t max_bytes;
	char *buf;
	size_t len, cap;
	size_t *off;
	size_t n, offcap;
	bool done, truncated;
};

/* Does the record start with a stamp, as every record since paddock 0.1 does? */
static bool has_stamp(const char *line, size_t len)
{
	return len >= STAMP_LEN && line[4] == '-' && line[10] == 'T' && line[STAMP_LEN - 1] == 'Z';
}

/* One record, newer than all taken so far. False once no more are wanted. */
static bool history_take(struct history *h, const char *line, size_t len)
{
	if (h->done)
		return false;
	if (len == 0)
		return true;
	/* Fixed-width UTC stamps compare as strings; a line without one is kept. */
	if (h->since[0] && has_stamp(line, len) && memcmp(line, h->since, STAMP_LEN) < 0)
		return !(h->done = true);
	if (h->len + len + 1 > h->max_bytes) {
		h->truncated = true;
		return !(h->done = true);
	}
	if (h->len + len + 1 > h->cap) {
		size_t cap = h->cap ? h->cap : 65536;
		while (cap < h->len + len + 1)
			cap *= 2;
		char *b = realloc(h->buf, cap);
		if (!b)
			return !(h->done = true);
		h->buf = b;
		h->cap = cap;
	}
	if (h->n == h->offcap) {
		size_t cap = h->offcap ? h->offcap * 2 : 256;
		size_t *o = reallocarray(h->off, cap, sizeof(*o));
		if (!o)
			return !(h->done = true);
		h->off = o;
		h->offcap = cap;
	}
	h->off[h->n++] = h->len;
	memcpy(h->buf + h->len, line, len);
	h->buf[h->len + len] = '\n';
	h->len += len + 1;
	if (--h->want == 0)
		h->done = true;
	return !h->done;
}

/*
 * Feed the records of one file to h, newest first, reading chunks from
 * the end: the work is what is wanted, not the file's size. -errno when
 * it cannot be opened.
 */
static int history_file(const char *path, struct history *h)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_free_ char *buf = NULL;
	char carry[HISTORY_CARRY];
	size_t ncarry = 0;
	struct stat st;
	off_t pos;
	bool first = true;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	buf = xcalloc(1, HISTORY_CHUNK + HISTORY_CARRY);
	for (pos = st.st_size; pos > 0 && !h->done;) {
		/* A small first read: `status` wants 10 lines of every service. */
		size_t want = first ? HISTORY_FIRST : HISTORY_CHUNK;
		size_t k = pos > (off_t)want ? want : (size_t)pos;
		pos -= (off_t)k;
		if (pread(fd, buf, k, pos) != (ssize_t)k)
			return -EIO;
		memcpy(buf + k, carry, ncarry);
		size_t end = k + ncarry;
		if (first && end > 0 && buf[end - 1] == '\n')
			end--; /* the last record's own newline */
		first = false;
		for (size_t i = end; i > 0 && !h->done; i--)
			if (buf[i - 1] == '\n') {
				(void)history_take(h, buf + i, end - i);
				end = i - 1;
			}
		/* buf[0, end) is the newest part of a record that starts further back. */
		if (end > sizeof(carry)) {
			(void)history_take(h, buf + end - sizeof(carry), sizeof(carry));
			end = 0; /* not one of ours: cut, and go on */
		}
		memcpy(carry, buf, end);
		ncarry = end;
	}
	if (!h->done && ncarry)
		(void)history_take(h, carry, ncarry);
	return 0;
}

char *logstore_history(const struct logstore *ls, unsigned n, uint64_t since_ms, bool *truncated)
{
	struct history h = { .want = n, .max_bytes = LOGSTORE_HISTORY_MAX };
	char p[4096];
	char *out;
	int r;

	*truncated = false;
	if (n == 0)
		return xstrdup("");
	if (since_ms) {
		time_t t = (time_t)(since_ms / 1000);
		struct tm tm;
		gmtime_r(&t, &tm);
		size_t k = strftime(h.since, sizeof(h.since), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(h.since + k, sizeof(h.since) - k, ".%03uZ", (unsigned)(since_ms % 1000));
	}
	/* The live file, then its rotations, newest first. */
	if ((r = history_file(ls->path, &h)) < 0)
		return ring_since(ls, n, h.since); /* unreadable: what this daemon kept in memory */
	for (unsigned i = 1; i <= ls->keep && !h.done; i++) {
		snprintf(p, sizeof(p), "%s.%u", ls->path, i);
		if (history_file(p, &h) < 0)
			break;
	}
	out = xcalloc(1, h.len + 1);
	size_t o = 0, end = h.len;
	for (size_t i = h.n; i > 0; i--) {
		size_t start = h.off[i - 1];
		memcpy(out + o, h.buf + start, end - start);
		o += end - start;
		end = start;
	}
	out[o] = '\0';
	*truncated = h.truncated;
	free(h.buf);
	free(h.off);
	return out;
}

char *logstore_tail(const struct logstore *ls, unsigned n)
{
	bool truncated;

	return logstore_history(ls, n, 0, &truncated);
}

void logstore_remove_files(struct logstore *ls)
{
	char p[4096];

	flush_out(ls);
	if (ls->fd >= 0) {
		close(ls->fd);
		ls->fd = -1;
	}
	(void)unlink(ls->path);
	for (unsigned i = 1; i <= ls->keep; i++) {
		snprintf(p, sizeof(p), "%s.%u", ls->path, i);
		(void)unlink(p);
	}
}

uint64_t logstore_dropped(const struct logstore *ls)
{
	return ls->dropped;
}

int logstore_follow(struct logstore *ls, logstore_follow_fn fn, void *arg)
{
	struct follower *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->fn = fn;
	f->arg = arg;
	f->next = ls->followers;
	ls->followers = f;
	return 0;
}

void logstore_unfollow(struct logstore *ls, logstore_follow_fn fn, void *arg)
{
	for (struct follower **p = &ls->followers; *p; p = &(*p)->next)
		if ((*p)->fn == fn && (*p)->arg == arg) {
			struct follower *f = *p;
			*p = f->next;
			free(f);
			return;
		}
}
