/*
 * events.c - the event ring, the JSON-lines file and followers.
 * The ring holds each event as its JSON line (what the file gets) with the
 * time and service it is filtered by, one allocation of ~200 bytes; a
 * json-c object was ~1.1 kB, 4.5 MB for a full ring. Queries parse the
 * lines they return. The file gets one line per event, rotated like
 * service logs. Emitting never blocks: a failed write is counted, not
 * retried.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include "events.h"
#include "util.h"

struct follower {
	eventlog_follow_fn fn;
	void *arg;
	struct follower *next;
};

/* One event in the ring: service (or "") and line, NUL-terminated, back to back. */
struct event_rec {
	uint64_t time_ms;
	size_t line_off;
	char text[];
};

struct eventlog {
	char *path;
	uint64_t max_size, size;
	unsigned keep;
	int fd;
	uint64_t write_errors;
	struct event_rec *ring[EVENTS_RING];
	size_t start, count;
	struct follower *followers;
};

struct eventlog *eventlog_open(const char *state_dir, uint64_t max_size, unsigned keep)
{
	struct eventlog *el = xcalloc(1, sizeof(*el));
	struct stat st;

	xasprintf(&el->path, "%s/events.jsonl", state_dir);
	el->max_size = max_size;
	el->keep = keep;
	el->fd = open(el->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (el->fd >= 0 && fstat(el->fd, &st) == 0)
		el->size = (uint64_t)st.st_size;
	return el;
}

struct eventlog *eventlog_free(struct eventlog *el)
{
	if (!el)
		return NULL;
	for (size_t i = 0; i < el->count; i++)
		free(el->ring[(el->start + i) % EVENTS_RING]);
	while (el->followers) {
		struct follower *f = el->followers;
		el->followers = f->next;
		free(f);
	}
	if (el->fd >= 0)
		close(el->fd);
	free(el->path);
	free(el);
	return NULL;
}

static void rotate(struct eventlog *el)
{
	char from[4096], to[4096];

	close(el->fd);
	for (unsigned i = el->keep; i > 0; i--) {
		snprintf(from, sizeof(from), i == 1 ? "%s" : "%s.%u", el->path, i - 1);
		snprintf(to, sizeof(to), "%s.%u", el->path, i);
		(void)rename(from, to);
	}
	el->fd =
	    open(el->path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	el->size = 0;
}

void eventlog_emit(struct eventlog *el, const char *service, const char *type,
		   struct json_object *data)
{
	struct json_object *ev = json_object_new_object();
	uint64_t now = realtime_ms();

	json_object_object_add(ev, "time_ms", json_object_new_int64((int64_t)now));
	if (service)
		json_object_object_add(ev, "service", json_object_new_string(service));
	json_object_object_add(ev, "type", json_object_new_string(type));
	if (data) {
		json_object_object_foreach(data, k, v)
		{
			json_object_object_add(ev, k, json_object_get(v));
		}
		json_object_put(data);
	}
	if (!el) {
		json_object_put(ev);
		return;
	}

	const char *line = json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(line);
	if (el->fd >= 0 && el->max_size && el->size + len + 1 > el->max_size)
		rotate(el);
	if (el->fd >= 0) {
		struct iovec iov[2] = { { (void *)line, len }, { (void *)"\n", 1 } };
		if (writev(el->fd, iov, 2) == (ssize_t)len + 1)
			el->size += len + 1;
		else
			el->write_errors++;
	}

	size_t slen = service ? strlen(service) : 0;
	struct event_rec *rec = malloc(sizeof(*rec) + slen + 1 + len + 1);
	if (rec) {
		rec->time_ms = now;
		rec->line_off = slen + 1;
		memcpy(rec->text, service ? service : "", slen + 1);
		memcpy(rec->text + rec->line_off, line, len + 1);
		if (el->count == EVENTS_RING) {
			free(el->ring[el->start]);
			el->start = (el->start + 1) % EVENTS_RING;
			el->count--;
		}
		el->ring[(el->start + el->count++) % EVENTS_RING] = rec;
	}

	for (struct follower *f = el->followers, *next; f; f = next) {
		next = f->next;
		f->fn(f->arg, ev);
	}
	json_object_put(ev);
}

struct json_object *eventlog_query(struct eventlog *el, const char *service, uint64_t since_ms,
				   unsigned max)
{
	struct json_object *arr = json_object_new_array();
	size_t first = 0, matched = 0;

	if (!el)
		return arr;
	/* Count matches from the end so `max` keeps the newest. */
	for (size_t i = el->count; i-- > 0;) {
		const struct event_rec *r = el->ring[(el->start + i) % EVENTS_RING];
		if (r->time_ms < since_ms)
			break;
		if (service && strcmp(r->text, service) != 0)
			continue;
		first = i;
		if (++matched == max)
			break;
	}
	if (matched == 0)
		return arr;
	for (size_t i = first; i < el->count; i++) {
		const struct event_rec *r = el->ring[(el->start + i) % EVENTS_RING];
		struct json_object *ev;
		if (service && strcmp(r->text, service) != 0)
			continue;
		if ((ev = json_tokener_parse(r->text + r->line_off)))
			json_object_array_add(arr, ev);
	}
	return arr;
}

int eventlog_follow(struct eventlog *el, eventlog_follow_fn fn, void *arg)
{
	struct follower *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->fn = fn;
	f->arg = arg;
	f->next = el->followers;
	el->followers = f;
	return 0;
}

void eventlog_unfollow(struct eventlog *el, eventlog_follow_fn fn, void *arg)
{
	for (struct follower **p = &el->followers; *p; p = &(*p)->next)
		if ((*p)->fn == fn && (*p)->arg == arg) {
			struct follower *f = *p;
			*p = f->next;
			free(f);
			return;
		}
}
