/*
 * events.c - the event ring, the JSON-lines file and followers.
 * The ring holds references to json-c objects; the file gets one line per
 * event, rotated like service logs. Emitting never blocks: a failed write
 * is counted, not retried.
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

struct eventlog {
	char *path;
	uint64_t max_size, size;
	unsigned keep;
	int fd;
	uint64_t write_errors;
	struct json_object *ring[EVENTS_RING];
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
		json_object_put(el->ring[(el->start + i) % EVENTS_RING]);
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

	json_object_object_add(ev, "time_ms", json_object_new_int64((int64_t)realtime_ms()));
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

	if (el->count == EVENTS_RING) {
		json_object_put(el->ring[el->start]);
		el->start = (el->start + 1) % EVENTS_RING;
		el->count--;
	}
	el->ring[(el->start + el->count++) % EVENTS_RING] = ev;

	for (struct follower *f = el->followers, *next; f; f = next) {
		next = f->next;
		f->fn(f->arg, ev);
	}
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
		struct json_object *ev = el->ring[(el->start + i) % EVENTS_RING], *v;
		if (json_object_object_get_ex(ev, "time_ms", &v) &&
		    (uint64_t)json_object_get_int64(v) < since_ms)
			break;
		if (service && (!json_object_object_get_ex(ev, "service", &v) ||
				strcmp(json_object_get_string(v), service) != 0))
			continue;
		first = i;
		if (++matched == max)
			break;
	}
	if (matched == 0)
		return arr;
	for (size_t i = first; i < el->count; i++) {
		struct json_object *ev = el->ring[(el->start + i) % EVENTS_RING], *v;
		if (service && (!json_object_object_get_ex(ev, "service", &v) ||
				strcmp(json_object_get_string(v), service) != 0))
			continue;
		json_object_array_add(arr, json_object_get(ev));
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
