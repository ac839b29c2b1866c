/*
 * registry.c - pull images from registries (the OCI distribution
 * protocol), and log in and out of them. All HTTP is libcurl's.
 *
 * A pull: the endpoints for the reference's host (the daemon config's
 * mirrors first, then the host), each pinged at GET /v2/ to learn its
 * auth (anonymous, Basic, or a Bearer token for repository:NAME:pull);
 * the manifest negotiated (OCI index/manifest, docker list/schema2;
 * schema1 refused) and verified against the reference's digest; an
 * index narrowed to linux/<this arch> (image-oci.c's selection); the
 * config fetched and verified; then image-import.c's plan carrier
 * (img_apply_plans) claims the layers, and for each missing one calls
 * pull_layer on one of `parallel` unpack threads. pull_layer starts a
 * download thread that writes the blob into a socketpair and runs the
 * unpacker on the other end (struct image_blob.stream): digest, diff_id,
 * decompression and unpack in one pass, nothing staged on disk. An
 * interrupted download resumes with Range on the same socket; whatever
 * ends a transfer for good closes the socket, so the unpacker fails and
 * its temporary directory goes. The socket (not a pipe) lets the writer
 * use MSG_NOSIGNAL: a library must not raise SIGPIPE in its caller.
 *
 * Threads share the pull (read-only), the endpoint's Authorization
 * header (under pull.mu) and a curl share object (connections, TLS
 * sessions, DNS) under its own locks.
 */
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image-internal.h"
#include "registry.h"
#include "util.h"

#define DEFAULT_AUTH_FILE "/etc/paddock/auth.json"
#define DEFAULT_CERTS_DIR "/etc/paddock/certs.d"
#define FALLBACK_CERTS_DIR "/etc/containers/certs.d"
#define MAX_REDIRS 5
/* bytes/s a transfer must average over the stall timeout: a registry dripping bytes ends */
#define MIN_SPEED 1024L
#define MAX_AUTH_ROUNDS 2
#define CERT_FILE_MAX (1 << 20)
#define BUNDLE_MAX (8 << 20)
#define SCOPE_MAX (2 * REG_REPO_MAX + 32)

static const char *const accept_manifests =
    "Accept: application/vnd.oci.image.index.v1+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

/* One place a repository can be fetched from: a mirror or the registry itself. */
struct endpoint {
	char host[REG_HOST_MAX]; /* HOST[:PORT]: certs.d and credentials key */
	char prefix[REG_REPO_MAX]; /* a mirror's "PREFIX/" before the repository, or "" */
	char base[REG_HOST_MAX +
		  32]; /* "https://HOST" (http:// for an insecure one after TLS failed) */
	bool insecure;
	char *ca_blob; /* the system bundle plus certs.d *.crt, or NULL: the system CAs */
	size_t ca_len;
	char *cert, *key; /* certs.d client certificate and key, or NULL */
	char *user, *pass; /* credentials from the auth file, or NULL */
	bool creds_read;
	char *authz; /* "Authorization: ..." to send, or NULL; under pull.mu */
	unsigned authz_gen; /* bumped whenever authz changes */
	bool basic_sent; /* authz carries the Basic credentials */
};

struct pull {
	const struct image_pull_options *o;
	struct image_store *s; /* NULL for login */
	struct reg_ref ref;
	char *cfg_body; /* the config as fetched, cached once the pull succeeded */
	size_t cfg_len;
	char cfg_hex[65];
	char name[600]; /* the normalised reference */
	const char *auth_file, *certs_dir;
	unsigned retries, parallel;
	long connect_ms, stall_ms, stall_s;
	uint64_t max_json;
	struct endpoint *ep; /* the endpoint in use */
	pthread_mutex_t mu;
	CURLSH *share;
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
};

/* What one HTTP exchange brought back: the final response's status and headers, a bounded body. */
struct xfer {
	long code;
	char ctype[160], digest[160], crange[160];
	char www[2048];
	bool has_clen;
	uint64_t clen;
	/* document mode */
	char *body;
	size_t len, max;
	bool too_big;
	/* blob mode */
	struct blob_dl *dl;
};

/* One layer's download: feeds the unpacker's socket, resuming with Range. */
struct blob_dl {
	struct pull *p;
	const struct image_plan_layer *l;
	const char *what;
	int wfd;
	uint64_t got; /* bytes handed to the unpacker */
	uint64_t skip; /* bytes of a 200 reply to a Range request already handed over */
	bool first; /* no body byte of this response seen yet */
	bool fatal; /* a callback decided: no retry */
	bool peer_gone; /* the unpacker stopped reading */
	bool stalled; /* the transfer was aborted for want of data */
	uint64_t last_now; /* bytes of this response at the last progress call */
	struct timespec last_data; /* when data last arrived */
	atomic_bool stop; /* the unpacker failed */
	const atomic_bool *cancel; /* the import's stop flag for this layer */
	struct error err;
	int r;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
	(void)curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- small helpers ----------------------------------------------------------------- */

static const struct image_registry *reg_entry(const struct image_pull_options *o, const char *host)
{
	for (size_t i = 0; o && o->registries && i < o->nregistries; i++)
		if (o->registries[i].host && strcmp(o->registries[i].host, host) == 0)
			return &o->registries[i];
	return NULL;
}

/* Sleep ms, in steps, returning early when stop is set. */
static void backoff(unsigned attempt, const atomic_bool *stop, const atomic_bool *cancel)
{
	long ms = 200L << (attempt < 5 ? attempt : 5);

	for (long slept = 0; slept < ms; slept += 50) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		if ((stop && atomic_load(stop)) || (cancel && atomic_load(cancel)))
			return;
		(void)nanosleep(&ts, NULL);
	}
}

/* Read a whole small file; NULL if missing or over max. */
static char *slurp(const char *path, size_t max, size_t *len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	size_t done = 0;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max)
		return NULL;
	buf = xcalloc((size_t)st.st_size + 2, 1);
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	*len = done;
	return buf;
}

/* ---- endpoints: TLS material and credentials --------------------------------------------- */

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n > m && strcmp(s + n - m, suf) == 0;
}

/*
 * certs.d/HOST[:PORT]: every *.crt is a CA added to the system's (curl's
 * CAINFO_BLOB replaces the CA file, so the blob carries the system
 * bundle too); X.cert with X.key is the client certificate.
 */
static int load_certs(struct pull *p, struct endpoint *ep, struct error *err)
{
	_cleanup_free_ char *dir = NULL;
	DIR *d;
	struct dirent *de;
	char *blob = NULL;
	size_t blen = 0;

	xasprintf(&dir, "%s/%s", p->certs_dir, ep->host);
	d = opendir(dir);
	if (!d && !p->o->certs_dir) {
		free(dir);
		xasprintf(&dir, "%s/%s", FALLBACK_CERTS_DIR, ep->host);
		d = opendir(dir);
	}
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		_cleanup_free_ char *path = NULL;
		size_t n = 0;
		char *c;

		if (de->d_name[0] == '.')
			continue;
		xasprintf(&path, "%s/%s", dir, de->d_name);
		if (has_suffix(de->d_name, ".crt")) {
			c = slurp(path, CERT_FILE_MAX, &n);
			if (!c) {
				closedir(d);
				free(blob);
				return error_set(err, EINVAL,
						 "%s: cannot read it (or over %d bytes)", path,
						 CERT_FILE_MAX);
			}
			blob = realloc(blob, blen + n + 2);
			if (!blob)
				abort();
			memcpy(blob + blen, c, n);
			blen += n;
			blob[blen++] = '\n';
			free(c);
		} else if (has_suffix(de->d_name, ".cert") && !ep->cert) {
			_cleanup_free_ char *key = NULL;
			xasprintf(&key, "%.*s.key", (int)(strlen(path) - 5), path);
			if (access(key, R_OK) != 0) {
				closedir(d);
				free(blob);
				return error_set(err, ENOENT, "%s: no matching key %s", path, key);
			}
			ep->cert = steal_pointer(&path);
			ep->key = steal_pointer(&key);
		}
	}
	closedir(d);
	if (blob) {
		const char *sys = curl_version_info(CURLVERSION_NOW)->cainfo;
		size_t n = 0;
		char *bundle = sys ? slurp(sys, BUNDLE_MAX, &n) : NULL;

		if (bundle) {
			bundle = realloc(bundle, n + blen + 1);
			if (!bundle)
				abort();
			memcpy(bundle + n, blob, blen);
			free(blob);
			blob = bundle;
			blen += n;
		}
		ep->ca_blob = blob;
		ep->ca_len = blen;
	}
	return 0;
}

static int load_creds(struct pull *p, struct endpoint *ep, struct error *err)
{
	int r;

	if (ep->creds_read)
		return 0;
	r = reg_auth_lookup(p->auth_file, ep->host, &ep->user, &ep->pass, err);
	if (r < 0 && r != -ENOENT)
		return r;
	ep->creds_read = true;
	return 0;
}

static void endpoint_clear(struct endpoint *ep)
{
	free(ep->ca_blob);
	free(ep->cert);
	free(ep->key);
	free(ep->user);
	if (ep->pass)
		explicit_bzero(ep->pass, strlen(ep->pass));
	free(ep->pass);
	if (ep->authz)
		explicit_bzero(ep->authz, strlen(ep->authz));
	free(ep->authz);
	memset(ep, 0, sizeof(*ep));
}

/* An endpoint for "HOST[:PORT][/PREFIX]". */
static int endpoint_init(struct pull *p, struct endpoint *ep, const char *loc, struct error *err)
{
	const char *slash = strchr(loc, '/');
	size_t hl = slash ? (size_t)(slash - loc) : strlen(loc);
	const struct image_registry *e;

	memset(ep, 0, sizeof(*ep));
	if (hl >= sizeof(ep->host))
		return error_set(err, EINVAL, "registry '%.100s': host too long", loc);
	memcpy(ep->host, loc, hl);
	ep->host[hl] = '\0';
	if (!reg_host_valid(ep->host))
		return error_set(err, EINVAL, "registry '%.200s': bad host", loc);
	if (slash && slash[1])
		snprintf(ep->prefix, sizeof(ep->prefix), "%s/", slash + 1);
	e = reg_entry(p->o, ep->host);
	ep->insecure = e && e->insecure;
	snprintf(ep->base, sizeof(ep->base), "https://%s",
		 strcmp(ep->host, "docker.io") == 0 ? "registry-1.docker.io" : ep->host);
	return load_certs(p, ep, err);
}

/* ---- curl ----------------------------------------------------------------------------- */

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *arg)
{
	struct pull *p = arg;

	(void)h;
	(void)access;
	pthread_mutex_lock(&p->locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *arg)
{
	struct pull *p = arg;

	(void)h;
	pthread_mutex_unlock(&p->locks[data]);
}

static void copy_value(char *dst, size_t len, const char *v, size_t n)
{
	while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (n >= len)
		n = len - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

/* Keep the headers we use of the last response (a redirect's are dropped). */
static size_t header_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	const char *colon = memchr(buf, ':', len), *v;

	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		x->ctype[0] = x->digest[0] = x->crange[0] = x->www[0] = '\0';
		x->has_clen = false;
		return len;
	}
	if (!colon)
		return len;
	v = colon + 1;
	while (v < buf + len && (*v == ' ' || *v == '\t'))
		v++;
#define IS(h) ((size_t)(colon - buf) == strlen(h) && strncasecmp(buf, h, strlen(h)) == 0)
	if (IS("content-type"))
		copy_value(x->ctype, sizeof(x->ctype), v, (size_t)(buf + len - v));
	else if (IS("docker-content-digest"))
		copy_value(x->digest, sizeof(x->digest), v, (size_t)(buf + len - v));
	else if (IS("content-range"))
		copy_value(x->crange, sizeof(x->crange), v, (size_t)(buf + len - v));
	else if (IS("www-authenticate")) { /* several headers are one list of challenges */
		size_t used = strlen(x->www);
		if (used > 0 && used + 2 < sizeof(x->www)) {
			memcpy(x->www + used, ", ", 3);
			used += 2;
		}
		copy_value(x->www + used, sizeof(x->www) - used, v, (size_t)(buf + len - v));
	} else if (IS("content-length")) {
		char num[32];
		copy_value(num, sizeof(num), v, (size_t)(buf + len - v));
		x->clen = strtoull(num, NULL, 10);
		x->has_clen = true;
	}
#undef IS
	return len;
}

/* A document body, bounded by x->max. */
static size_t doc_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;

	if (x->len + len > x->max) {
		x->too_big = true;
		return 0;
	}
	x->body = realloc(x->body, x->len + len + 1);
	if (!x->body)
		abort();
	memcpy(x->body + x->len, buf, len);
	x->len += len;
	x->body[x->len] = '\0';
	return len;
}

static CURL *easy_new(struct pull *p, struct endpoint *ep, struct xfer *x)
{
	CURL *e = curl_easy_init();

	if (!e)
		return NULL;
	(void)curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(e, CURLOPT_SHARE, p->share);
	(void)curl_easy_setopt(e, CURLOPT_USERAGENT, "paddock/" PACKAGE_VERSION);
	(void)curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	(void)curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)MAX_REDIRS);
	(void)curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	(void)curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR,
			       ep->insecure ? "http,https" : "https");
	(void)curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, p->connect_ms);
	(void)curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, MIN_SPEED);
	(void)curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, p->stall_s);
	(void)curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	(void)curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	(void)curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, doc_cb);
	(void)curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	(void)curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	if (ep->insecure) {
		(void)curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		(void)curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (ep->ca_blob) {
		struct curl_blob b = { .data = ep->ca_blob,
				       .len = ep->ca_len,
				       .flags = CURL_BLOB_NOCOPY };
		(void)curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
	}
	if (ep->cert) {
		(void)curl_easy_setopt(e, CURLOPT_SSLCERT, ep->cert);
		(void)curl_easy_setopt(e, CURLOPT_SSLKEY, ep->key);
	}
	return e;
}

/* The cause of a failed transfer, for messages. */
static const char *curl_cause(CURLcode rc, const char *errbuf, char *buf, size_t len,
			      const struct pull *p)
{
	switch (rc) {
	case CURLE_TOO_MANY_REDIRECTS:
		snprintf(buf, len, "more than %d redirects", MAX_REDIRS);
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
		snprintf(buf, len,
			 "redirected to a URL not allowed (plain http needs the registry "
			 "to be marked insecure)");
		break;
	case CURLE_OPERATION_TIMEDOUT:
		if (strstr(errbuf, "too slow") || strstr(errbuf, "Operation too slow"))
			snprintf(buf, len, "stalled: no data for %ld ms", p->stall_ms);
		else
			snprintf(buf, len, "timed out: %s",
				 *errbuf ? errbuf : curl_easy_strerror(rc));
		break;
	default:
		snprintf(buf, len, "%s", *errbuf ? errbuf : curl_easy_strerror(rc));
	}
	return buf;
}

static bool transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static struct curl_slist *headers(struct pull *p, struct endpoint *ep, const char *accept,
				  const char *range, unsigned *gen)
{
	struct curl_slist *h = NULL;

	if (accept)
		h = curl_slist_append(h, accept);
	if (range)
		h = curl_slist_append(h, range);
	pthread_mutex_lock(&p->mu);
	if (ep->authz)
		h = curl_slist_append(h, ep->authz);
	if (gen)
		*gen = ep->authz_gen;
	pthread_mutex_unlock(&p->mu);
	return h;
}

/*
 * GET url into x (a document up to x->max bytes), retrying transport
 * failures and 5xx with backoff. 0 with x->code set for any HTTP reply.
 * accept is one header line to send (Accept, or the token request's
 * Authorization); auth adds the endpoint's Authorization (takes pull.mu).
 */
static int get_doc(struct pull *p, struct endpoint *ep, const char *url, const char *accept,
		   bool auth, struct xfer *x, unsigned *gen, struct error *err)
{
	for (unsigned attempt = 0;; attempt++) {
		char errbuf[CURL_ERROR_SIZE] = "", cause[300];
		struct curl_slist *h = auth ? headers(p, ep, accept, NULL, gen)
					    : (accept ? curl_slist_append(NULL, accept) : NULL);
		CURL *e = easy_new(p, ep, x);
		CURLcode rc;

		if (!e) {
			curl_slist_free_all(h);
			return error_set(err, ENOMEM, "out of memory");
		}
		free(x->body);
		x->body = NULL;
		x->len = 0;
		x->too_big = false;
		x->code = 0;
		(void)curl_easy_setopt(e, CURLOPT_URL, url);
		(void)curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
		(void)curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
		rc = curl_easy_perform(e);
		(void)curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &x->code);
		curl_easy_cleanup(e);
		curl_slist_free_all(h);
		if (x->too_big)
			return error_set(err, EFBIG, "%s: over the limit of %llu bytes", url,
					 (unsigned long long)x->max);
		if (rc == CURLE_OK && x->code < 500 && x->code != 429)
			return 0;
		if (rc != CURLE_OK && !transient(rc))
			return error_set(err, EIO, "%s: %s", url,
					 curl_cause(rc, errbuf, cause, sizeof(cause), p));
		if (attempt >= p->retries) {
			if (rc == CURLE_OK)
				return error_set(err, EIO, "%s: HTTP %ld (after %u retries)", url,
						 x->code, p->retries);
			return error_set(err, rc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : EIO,
					 "%s: %s (after %u retries)", url,
					 curl_cause(rc, errbuf, cause, sizeof(cause), p),
					 p->retries);
		}
		backoff(attempt, NULL, NULL);
	}
}

/* ---- auth ------------------------------------------------------------------------------ */

static void set_authz(struct endpoint *ep, char *value, bool basic)
{
	if (ep->authz)
		explicit_bzero(ep->authz, strlen(ep->authz));
	free(ep->authz);
	ep->authz = value;
	ep->authz_gen++;
	ep->basic_sent = basic;
}

static char *basic_header(const char *user, const char *pass)
{
	_cleanup_free_ char *up = NULL, *b64 = NULL;
	char *h;

	xasprintf(&up, "%s:%s", user, pass);
	b64 = reg_base64(up);
	explicit_bzero(up, strlen(up));
	xasprintf(&h, "Authorization: Basic %s", b64);
	explicit_bzero(b64, strlen(b64));
	return h;
}

/*
 * Fetch a Bearer token from the challenge's realm for scope (NULL: the
 * challenge's or none), with the credentials if we have them.
 */
static int fetch_token(struct pull *p, struct endpoint *ep, const struct reg_challenge *ch,
		       const char *scope, const char *user, const char *pass, char **header,
		       struct error *err)
{
	_cleanup_free_ char *url = NULL;
	struct xfer x = { .max = 64 * 1024 };
	char *esc_service = NULL, *esc_scope = NULL, *token = NULL;
	unsigned expires = 0;
	CURL *e;
	int r;

	if (strncmp(ch->realm, "https://", 8) != 0 &&
	    !(ep->insecure && strncmp(ch->realm, "http://", 7) == 0))
		return error_set(
		    err, EPERM,
		    "%s: token realm '%.200s' is not https (allowed only for a registry "
		    "marked insecure)",
		    ep->host, ch->realm);
	e = curl_easy_init();
	if (!e)
		return error_set(err, ENOMEM, "out of memory");
	if (*ch->service)
		esc_service = curl_easy_escape(e, ch->service, 0);
	if (scope && *scope)
		esc_scope = curl_easy_escape(e, scope, 0);
	xasprintf(&url, "%s%s%s%s%s%s", ch->realm, strchr(ch->realm, '?') ? "&" : "?",
		  esc_service ? "service=" : "", esc_service ? esc_service : "",
		  esc_scope ? (esc_service ? "&scope=" : "scope=") : "",
		  esc_scope ? esc_scope : "");
	curl_free(esc_service);
	curl_free(esc_scope);
	curl_easy_cleanup(e);
	/* the realm is another server: same TLS trust as the registry; credentials by Basic */
	{
		char *basic = user ? basic_header(user, pass) : NULL;
		r = get_doc(p, ep, url, basic, false, &x, NULL, err);
		if (basic)
			explicit_bzero(basic, strlen(basic));
		free(basic);
	}
	if (r < 0)
		goto out;
	if (x.code == 401 || x.code == 403) {
		r = error_set(err, EACCES, "%s: token endpoint %.200s refused %s (HTTP %ld)",
			      ep->host, ch->realm, user ? "the credentials" : "anonymous access",
			      x.code);
		goto out;
	}
	if (x.code != 200) {
		r = error_set(err, EPROTO, "%s: token endpoint %.200s: HTTP %ld", ep->host,
			      ch->realm, x.code);
		goto out;
	}
	r = reg_token_parse(x.body ? x.body : "", x.len, &token, &expires, err);
	if (r < 0) {
		error_prefix(err, "%s: token endpoint %.200s: ", ep->host, ch->realm);
		goto out;
	}
	xasprintf(header, "Authorization: Bearer %s", token);
	explicit_bzero(token, strlen(token));
	free(token);
out:
	free(x.body);
	return r;
}

/*
 * A request got 401 with www: set up the endpoint's Authorization for
 * scope. gen is the authz generation the request was sent with: if
 * another thread changed it since, just retry.
 */
static int authenticate(struct pull *p, struct endpoint *ep, const char *www, const char *scope,
			unsigned gen, struct error *err)
{
	struct reg_challenge ch;
	char *h = NULL;
	int r = 0;

	pthread_mutex_lock(&p->mu);
	if (ep->authz_gen != gen)
		goto out;
	if (!*www || reg_challenge_parse(www, &ch) < 0) {
		r = error_set(err, EPROTO,
			      "%s: HTTP 401 without a usable WWW-Authenticate challenge", ep->host);
		goto out;
	}
	r = load_creds(p, ep, err);
	if (r < 0)
		goto out;
	if (ch.scheme == REG_AUTH_BASIC) {
		if (!ep->user) {
			r = error_set(
			    err, EACCES,
			    "%s: authentication required and %s has no credentials for it",
			    ep->host, p->auth_file);
			goto out;
		}
		if (ep->basic_sent) {
			r = error_set(err, EACCES, "%s: the credentials from %s were refused",
				      ep->host, p->auth_file);
			goto out;
		}
		set_authz(ep, basic_header(ep->user, ep->pass), true);
		goto out;
	}
	r = fetch_token(p, ep, &ch, *ch.scope ? ch.scope : scope, ep->user, ep->pass, &h, err);
	if (r == 0)
		set_authz(ep, h, false);
out:
	pthread_mutex_unlock(&p->mu);
	return r;
}

static void repo_scope(struct pull *p, char *buf, size_t len)
{
	snprintf(buf, len, "repository:%s%s:pull", p->ep->prefix, p->ref.repo);
}

/* GET with auth: a 401 runs the challenge and retries, at most MAX_AUTH_ROUNDS times. */
static int get_authed(struct pull *p, const char *url, const char *accept, struct xfer *x,
		      struct error *err)
{
	char scope[SCOPE_MAX];

	repo_scope(p, scope, sizeof(scope));
	for (int round = 0;; round++) {
		unsigned gen = 0;
		int r = get_doc(p, p->ep, url, accept, true, x, &gen, err);

		if (r < 0 || x->code != 401)
			return r;
		if (round == MAX_AUTH_ROUNDS)
			return error_set(err, EACCES, "%s: still HTTP 401 after authenticating",
					 url);
		r = authenticate(p, p->ep, x->www, scope, gen, err);
		if (r < 0)
			return r;
	}
}

/*
 * GET /v2/: is the endpoint up, and what auth does it want. An insecure
 * endpoint that fails TLS is retried over plain http.
 */
static int ping(struct pull *p, struct endpoint *ep, struct xfer *x, struct error *err)
{
	char url[sizeof(ep->base) + 8];
	int r;

	snprintf(url, sizeof(url), "%s/v2/", ep->base);
	r = get_doc(p, ep, url, NULL, false, x, NULL, err);
	if (r < 0 && ep->insecure && strncmp(ep->base, "https://", 8) == 0) {
		char plain[sizeof(ep->base)];
		snprintf(plain, sizeof(plain), "http://%s", ep->base + 8);
		snprintf(ep->base, sizeof(ep->base), "%s", plain);
		snprintf(url, sizeof(url), "%s/v2/", ep->base);
		r = get_doc(p, ep, url, NULL, false, x, NULL, err);
	}
	if (r < 0)
		return r;
	if (x->code != 200 && x->code != 401)
		return error_set(err, EPROTO, "%s: not a registry (GET /v2/: HTTP %ld)", url,
				 x->code);
	return 0;
}

/* ---- manifests and config --------------------------------------------------------------- */

/*
 * Image configs pulled before, by digest, in <state>/configs: a pull of
 * an image the store has asks the registry for its manifest only. A
 * cache: verified against its digest when read, not synced when written.
 */
static void config_path(const struct pull *p, const char *hex, char *buf, size_t len)
{
	snprintf(buf, len, "%s/configs/%s.json", p->s->state_dir, hex);
}

static void config_keep(struct pull *p, const char *hex, const char *body, size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	int fd;

	if (!p->s)
		return;
	config_path(p, hex, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	char *dir = strrchr(path, '/');
	*dir = '\0';
	(void)mkdir(path, 0700);
	*dir = '/';
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return;
	bool ok = write(fd, body, len) == (ssize_t)len;
	close(fd);
	if (!ok || rename(tmp, path) < 0)
		(void)unlink(tmp);
}

/* 1 with *out parsed from the cache, 0 when it has no good copy. */
static int config_cached(struct pull *p, const char *hex, const char *what, json_object **out)
{
	char path[PATH_MAX], got[65];
	struct stat st;
	struct error e = { 0 };
	int fd, r = 0;

	if (!p->s)
		return 0;
	config_path(p, hex, path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size <= p->max_json) {
		char *buf = malloc((size_t)st.st_size + 1);
		if (buf && read(fd, buf, (size_t)st.st_size) == st.st_size) {
			img_sha256_hex(buf, (size_t)st.st_size, got);
			r = !strcmp(got, hex) && image_json_parse(buf, (size_t)st.st_size, what,
								  json_type_object, out, &e) == 0;
		}
		free(buf);
	}
	close(fd);
	if (!r)
		(void)unlink(path);
	return r;
}

/*
 * GET a JSON document (manifest or config blob) and verify it: size and
 * sha256 against want_hex/want_size if given. got_hex gets its digest.
 */
static int fetch_json(struct pull *p, const char *kind, const char *reference, const char *accept,
		      const char *what, const char *want_hex, uint64_t want_size, char *media,
		      size_t media_len, json_object **out, char got_hex[65], struct error *err)
{
	_cleanup_free_ char *url = NULL;
	struct xfer x = { .max = p->max_json };
	int r;

	xasprintf(&url, "%s/v2/%s%s/%s/%s", p->ep->base, p->ep->prefix, p->ref.repo, kind,
		  reference);
	r = get_authed(p, url, accept, &x, err);
	if (r < 0) {
		if (r == -EFBIG)
			r = error_set(err, EFBIG,
				      "%s: over the limit of %llu bytes for JSON documents", what,
				      (unsigned long long)p->max_json);
		goto out;
	}
	if (x.code == 404) {
		r = error_set(err, ENOENT, "%s: not found on %s", what, p->ep->host);
		goto out;
	}
	if (x.code != 200) {
		r = error_set(err, EPROTO, "%s: HTTP %ld from %s", what, x.code, p->ep->host);
		goto out;
	}
	if (media) {
		size_t n = strcspn(x.ctype, "; ");
		snprintf(media, media_len, "%.*s", (int)n, x.ctype);
		if (strncmp(media, "application/vnd.docker.distribution.manifest.v1+", 48) == 0) {
			r = error_set(err, ENOTSUP,
				      "%s: schema1 manifests are not supported (media type %s)",
				      what, media);
			goto out;
		}
	}
	if (want_size != UINT64_MAX && x.len != want_size) {
		r = error_set(
		    err, EBADMSG,
		    "%s: size mismatch: descriptor says %llu bytes, the registry sent %zu", what,
		    (unsigned long long)want_size, x.len);
		goto out;
	}
	img_sha256_hex(x.body ? x.body : "", x.len, got_hex);
	if (want_hex && strcmp(want_hex, got_hex) != 0) {
		r = error_set(err, EBADMSG,
			      "%s: digest mismatch: expected sha256:%s, content is sha256:%s", what,
			      want_hex, got_hex);
		goto out;
	}
	if (!want_hex && strncmp(x.digest, "sha256:", 7) == 0 &&
	    strcmp(x.digest + 7, got_hex) != 0) {
		r = error_set(err, EBADMSG,
			      "%s: digest mismatch: the registry says %.80s, content is sha256:%s",
			      what, x.digest, got_hex);
		goto out;
	}
	r = image_json_parse(x.body ? x.body : "", x.len, what, json_type_object, out, err);
	if (r == 0 && !strcmp(kind, "blobs") && x.body) {
		free(p->cfg_body);
		p->cfg_body = malloc(x.len);
		if (p->cfg_body)
			memcpy(p->cfg_body, x.body, x.len);
		p->cfg_len = x.len;
		memcpy(p->cfg_hex, got_hex, sizeof(p->cfg_hex));
	}
	if (r == 0 && media) {
		json_object *v;
		const char *mt = NULL;
		if (json_object_object_get_ex(*out, "mediaType", &v) &&
		    json_object_is_type(v, json_type_string))
			mt = json_object_get_string(v);
		if (json_object_object_get_ex(*out, "schemaVersion", &v) &&
		    json_object_get_int(v) == 1) {
			r = error_set(err, ENOTSUP, "%s: schema1 manifests are not supported",
				      what);
			json_object_put(*out);
			*out = NULL;
		} else if (!*media || strcmp(media, "application/json") == 0) {
			snprintf(media, media_len, "%s", mt ? mt : "");
		}
	}
out:
	free(x.body);
	return r;
}

/* Manifest (through an index if need be), config, plan. */
static int plan_pull(struct pull *p, struct image_plan *plan, struct error *err)
{
	_cleanup_json_ json_object *man = NULL, *cfg = NULL;
	char media[160], hex[65], want[65], what[700], cfg_hex[65], cw[120];
	const char *reference;
	uint64_t size = UINT64_MAX, cfg_size;
	char digestref[80];
	int r;

	if (*p->ref.hex) {
		snprintf(digestref, sizeof(digestref), "sha256:%s", p->ref.hex);
		reference = digestref;
	} else {
		reference = p->ref.tag;
	}
	snprintf(what, sizeof(what), "manifest %s", reference);
	r = fetch_json(p, "manifests", reference, accept_manifests, what,
		       *p->ref.hex ? p->ref.hex : NULL, UINT64_MAX, media, sizeof(media), &man, hex,
		       err);
	if (r < 0)
		return r;
	for (int depth = 0; image_media_is_index(media); depth++) {
		char got_media[160];

		if (depth == 2)
			return error_set(err, ELOOP, "%s: image indexes nested too deep", what);
		snprintf(what, sizeof(what), "image index sha256:%s", hex);
		r = image_index_pick(man, what, want, &size, media, sizeof(media), err);
		json_object_put(man);
		man = NULL;
		if (r < 0)
			return r;
		snprintf(digestref, sizeof(digestref), "sha256:%s", want);
		snprintf(what, sizeof(what), "manifest sha256:%s", want);
		r = fetch_json(p, "manifests", digestref, accept_manifests, what, want, size,
			       got_media, sizeof(got_media), &man, hex, err);
		if (r < 0)
			return r;
	}
	if (!image_media_is_manifest(media))
		return error_set(err, ENOTSUP, "%s: unsupported media type '%s'", what,
				 *media ? media : "(none)");
	snprintf(what, sizeof(what), "manifest sha256:%s", hex);
	r = image_manifest_plan(man, media, what, plan, cfg_hex, &cfg_size, err);
	if (r < 0)
		return r;
	snprintf(cw, sizeof(cw), "config sha256:%s", cfg_hex);
	snprintf(digestref, sizeof(digestref), "sha256:%s", cfg_hex);
	if (cfg_size > p->max_json)
		return error_set(err, EFBIG, "%s: %llu bytes is over the limit of %llu", cw,
				 (unsigned long long)cfg_size, (unsigned long long)p->max_json);
	if (!config_cached(p, cfg_hex, cw, &cfg) &&
	    (r = fetch_json(p, "blobs", digestref, NULL, cw, cfg_hex, cfg_size, NULL, 0, &cfg, want,
			    err)) < 0)
		return r;
	xasprintf(&plan->manifest_digest, "sha256:%s", hex);
	xasprintf(&plan->config_digest, "sha256:%s", cfg_hex);
	return image_config_plan(cfg, cw, plan, err);
}

/* ---- layers ----------------------------------------------------------------------------- */

static bool dl_stopped(struct blob_dl *dl)
{
	return atomic_load(&dl->stop) || (dl->cancel && atomic_load(dl->cancel));
}

static size_t dl_fail(struct blob_dl *dl, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A callback ends the download for good: no retry. Returns 0 for curl (abort). */
static size_t dl_fail(struct blob_dl *dl, int code, const char *fmt, ...)
{
	char m[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	dl->fatal = true;
	dl->r = error_set(&dl->err, code, "%s: %s", dl->what, m);
	return 0;
}

/* "bytes START-END/TOTAL" -> START, or UINT64_MAX. */
static uint64_t range_start(const char *cr)
{
	char *end;
	uint64_t v;

	if (strncmp(cr, "bytes ", 6) != 0)
		return UINT64_MAX;
	v = strtoull(cr + 6, &end, 10);
	return end == cr + 6 || *end != '-' ? UINT64_MAX : v;
}

/* Body bytes of a blob: checked against the descriptor's size, handed to the unpacker. */
static size_t blob_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	struct blob_dl *dl = x->dl;
	uint64_t want = dl->l->size;
	size_t len = size * n, done = 0;

	if (dl_stopped(dl))
		return 0;
	if (dl->skip > 0) {
		size_t k = dl->skip < len ? (size_t)dl->skip : len;
		dl->skip -= k;
		buf += k;
		len -= k;
		done += k;
	}
	if (dl->got + len > want)
		return dl_fail(dl, EBADMSG,
			       "the registry sends more than the descriptor's %llu bytes",
			       (unsigned long long)want);
	while (len > 0) {
		ssize_t w = send(dl->wfd, buf, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			dl->peer_gone = true;
			return 0;
		}
		buf += w;
		len -= (size_t)w;
		done += (size_t)w;
		dl->got += (uint64_t)w;
	}
	return done;
}

static long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

/*
 * Cancel, and the stall timeout measured from the last byte (curl's
 * LOW_SPEED averages over seconds and fires late after a burst).
 */
static int xferinfo_cb(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct blob_dl *dl = arg;

	(void)dt;
	(void)ut;
	(void)un;
	if (dl_stopped(dl))
		return 1;
	if ((uint64_t)dn != dl->last_now) {
		dl->last_now = (uint64_t)dn;
		clock_gettime(CLOCK_MONOTONIC, &dl->last_data);
	} else if (ms_since(&dl->last_data) >= dl->p->stall_ms) {
		dl->stalled = true;
		return 1;
	}
	return 0;
}

struct blob_ctx {
	struct xfer x;
	CURL *e;
};

/*
 * The first body bytes of a response decide how it continues the blob:
 * 206 must start where we are, 200 restarts it (skip what we have), a
 * Content-Length that overshoots the descriptor ends the pull at once.
 */
static size_t blob_start_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct blob_ctx *c = arg;
	struct blob_dl *dl = c->x.dl;

	if (dl->first) {
		long code = 0;
		uint64_t rest = dl->l->size - dl->got;

		dl->first = false;
		(void)curl_easy_getinfo(c->e, CURLINFO_RESPONSE_CODE, &code);
		c->x.code = code;
		if (code != 200 && code != 206)
			return size * n; /* an error body: dropped, the status says it */
		if (code == 206 && range_start(c->x.crange) != dl->got)
			return dl_fail(dl, EPROTO,
				       "resumed at the wrong offset (asked for byte %llu, got "
				       "'%.60s')",
				       (unsigned long long)dl->got, c->x.crange);
		if (code == 200)
			dl->skip = dl->got, rest = dl->l->size;
		if (c->x.has_clen && c->x.clen > rest)
			return dl_fail(
			    dl, EBADMSG,
			    "the registry announces %llu bytes, the descriptor says %llu",
			    (unsigned long long)(c->x.clen + (code == 206 ? dl->got : 0)),
			    (unsigned long long)dl->l->size);
	}
	if (c->x.code != 200 && c->x.code != 206)
		return size * n;
	return blob_cb(buf, size, n, &c->x);
}

/* The download thread of one layer: GET the blob into the socket, resuming with Range. */
static void *download_main(void *arg)
{
	struct blob_dl *dl = arg;
	struct pull *p = dl->p;
	struct endpoint *ep = p->ep;
	_cleanup_free_ char *url = NULL;
	char scope[SCOPE_MAX];
	unsigned attempt = 0, rounds = 0;

	repo_scope(p, scope, sizeof(scope));
	xasprintf(&url, "%s/v2/%s%s/blobs/sha256:%s", ep->base, ep->prefix, p->ref.repo,
		  dl->l->blob_hex);
	for (;;) {
		struct blob_ctx c = { .x = { .dl = dl } };
		char errbuf[CURL_ERROR_SIZE] = "", cause[300], range[64];
		struct curl_slist *h;
		unsigned gen = 0;
		CURLcode rc;

		snprintf(range, sizeof(range), "Range: bytes=%llu-", (unsigned long long)dl->got);
		h = headers(p, ep, NULL, dl->got > 0 ? range : NULL, &gen);
		c.e = easy_new(p, ep, &c.x);
		if (!c.e) {
			curl_slist_free_all(h);
			dl->r = error_set(&dl->err, ENOMEM, "out of memory");
			break;
		}
		dl->first = true;
		dl->skip = 0;
		dl->stalled = false;
		dl->last_now = 0;
		clock_gettime(CLOCK_MONOTONIC, &dl->last_data);
		(void)curl_easy_setopt(c.e, CURLOPT_URL, url);
		(void)curl_easy_setopt(c.e, CURLOPT_HTTPHEADER, h);
		(void)curl_easy_setopt(c.e, CURLOPT_ERRORBUFFER, errbuf);
		(void)curl_easy_setopt(c.e, CURLOPT_WRITEFUNCTION, blob_start_cb);
		(void)curl_easy_setopt(c.e, CURLOPT_WRITEDATA, &c);
		(void)curl_easy_setopt(c.e, CURLOPT_NOPROGRESS, 0L);
		(void)curl_easy_setopt(c.e, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
		(void)curl_easy_setopt(c.e, CURLOPT_XFERINFODATA, dl);
		rc = curl_easy_perform(c.e);
		if (c.x.code == 0)
			(void)curl_easy_getinfo(c.e, CURLINFO_RESPONSE_CODE, &c.x.code);
		curl_easy_cleanup(c.e);
		curl_slist_free_all(h);
		if (dl->fatal)
			break;
		if (dl->peer_gone || dl_stopped(dl)) {
			dl->peer_gone = true;
			dl->r = error_set(&dl->err, ECANCELED, "%s: canceled", dl->what);
			break;
		}
		if (rc == CURLE_OK && c.x.code == 401 && rounds < MAX_AUTH_ROUNDS) {
			struct error e = { 0 };
			rounds++;
			dl->r = authenticate(p, ep, c.x.www, scope, gen, &e);
			if (dl->r < 0) {
				dl->r = error_set(&dl->err, -dl->r, "%s: %s", dl->what, e.msg);
				break;
			}
			continue;
		}
		if (rc == CURLE_OK && (c.x.code == 200 || c.x.code == 206)) {
			if (dl->got == dl->l->size) {
				dl->r = 0;
				break;
			}
			dl->r = error_set(&dl->err, EBADMSG,
					  "%s: short blob: the registry sent %llu of the "
					  "descriptor's %llu bytes",
					  dl->what, (unsigned long long)dl->got,
					  (unsigned long long)dl->l->size);
			break;
		}
		if (rc == CURLE_OK && c.x.code == 404) {
			dl->r = error_set(&dl->err, ENOENT, "%s: blob not found on %s (HTTP 404)",
					  dl->what, ep->host);
			break;
		}
		if (rc == CURLE_OK && c.x.code < 500 && c.x.code != 429) {
			dl->r = error_set(&dl->err, EPROTO, "%s: HTTP %ld from %s", dl->what,
					  c.x.code, ep->host);
			break;
		}
		if (rc != CURLE_OK && dl->got == dl->l->size) {
			/* every byte is in (a server that hangs after a chunked body, say); the
			 * unpacker's digests judge them */
			dl->r = 0;
			break;
		}
		if (dl->stalled) {
			rc = CURLE_OPERATION_TIMEDOUT;
			snprintf(errbuf, sizeof(errbuf), "Operation too slow");
		}
		if (rc != CURLE_OK && !transient(rc)) {
			dl->r = error_set(&dl->err, EIO, "%s: %s", dl->what,
					  curl_cause(rc, errbuf, cause, sizeof(cause), p));
			break;
		}
		if (attempt >= p->retries) {
			if (rc == CURLE_OK)
				dl->r = error_set(&dl->err, EIO, "%s: HTTP %ld (after %u retries)",
						  dl->what, c.x.code, p->retries);
			else
				dl->r = error_set(
				    &dl->err, rc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : EIO,
				    "%s: %s at byte %llu (after %u retries)", dl->what,
				    curl_cause(rc, errbuf, cause, sizeof(cause), p),
				    (unsigned long long)dl->got, p->retries);
			break;
		}
		backoff(attempt++, &dl->stop, dl->cancel);
	}
	(void)shutdown(dl->wfd, SHUT_WR);
	close(dl->wfd);
	return NULL;
}

/* img_blobs.fetch: download the layer into the unpacker through a socket. */
static int pull_layer(void *arg, const struct image_plan_layer *l, struct image_unpack_args *a,
		      struct error *err)
{
	struct pull *p = arg;
	struct blob_dl dl = { .p = p, .l = l, .what = a->what, .cancel = a->cancel };
	struct image_blob blob = { .fd = -1, .stream = true, .size = l->size };
	pthread_t th;
	int sv[2], r;

	atomic_init(&dl.stop, false);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return error_set(err, errno, "%s: socketpair: %s", a->what, strerror(errno));
	{
		int sz = 1 << 20;
		(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	blob.fd = sv[0];
	dl.wfd = sv[1];
	if (pthread_create(&th, NULL, download_main, &dl) != 0) {
		close(sv[0]);
		close(sv[1]);
		return error_set(err, EAGAIN, "%s: cannot start a download thread", a->what);
	}
	a->blob = &blob;
	r = image_unpack_layer(a, err);
	if (r < 0) {
		atomic_store(&dl.stop, true);
		(void)shutdown(sv[0], SHUT_RDWR);
	}
	(void)pthread_join(th, NULL);
	close(sv[0]);
	a->blob = NULL;
	if (dl.r < 0 && !dl.peer_gone) {
		*err = dl.err; /* the download's cause, not the truncation the unpacker saw */
		return dl.r;
	}
	return r;
}

/* ---- pull, login, logout -------------------------------------------------------------- */

static int pull_init(struct pull *p, const struct image_pull_options *o, struct error *err)
{
	static const struct image_pull_options none = { 0 };

	(void)pthread_once(&curl_once, curl_init);
	p->o = o ? o : &none;
	p->auth_file = p->o->auth_file ? p->o->auth_file : DEFAULT_AUTH_FILE;
	p->certs_dir = p->o->certs_dir ? p->o->certs_dir : DEFAULT_CERTS_DIR;
	p->retries = p->o->retries ? p->o->retries : 3;
	p->parallel = p->o->parallel ? p->o->parallel : 3;
	p->connect_ms = p->o->connect_timeout_ms ? (long)p->o->connect_timeout_ms : 10000;
	p->stall_ms = p->o->stall_timeout_ms ? (long)p->o->stall_timeout_ms : 30000;
	p->stall_s = (p->stall_ms + 999) / 1000;
	p->max_json = IMAGE_DEFAULT_MAX_JSON;
	pthread_mutex_init(&p->mu, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(p->locks); i++)
		pthread_mutex_init(&p->locks[i], NULL);
	p->share = curl_share_init();
	if (!p->share)
		return error_set(err, ENOMEM, "out of memory");
	(void)curl_share_setopt(p->share, CURLSHOPT_LOCKFUNC, share_lock);
	(void)curl_share_setopt(p->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	(void)curl_share_setopt(p->share, CURLSHOPT_USERDATA, p);
	(void)curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	(void)curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	(void)curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	return 0;
}

static void pull_clear(struct pull *p)
{
	if (p->share)
		curl_share_cleanup(p->share);
	pthread_mutex_destroy(&p->mu);
	for (size_t i = 0; i < ARRAY_SIZE(p->locks); i++)
		pthread_mutex_destroy(&p->locks[i]);
}

/* Ping ep and set up its auth for the repository (a token up front saves a 401 per request). */
static int endpoint_open(struct pull *p, struct endpoint *ep, struct error *err)
{
	struct xfer x = { .max = 64 * 1024 };
	char scope[SCOPE_MAX];
	int r;

	p->ep = ep;
	r = ping(p, ep, &x, err);
	if (r == 0 && x.code == 401) {
		repo_scope(p, scope, sizeof(scope));
		r = authenticate(p, ep, x.www, scope, ep->authz_gen, err);
	}
	free(x.body);
	return r;
}

int image_pull(struct image_store *s, const char *ref, const struct image_pull_options *o,
	       image_progress_fn progress, void *arg, struct image_info **out, struct error *err)
{
	struct pull p = { .s = s };
	struct image_plan *plan = xcalloc(1, sizeof(*plan));
	struct endpoint *eps = NULL;
	const struct image_registry *e;
	size_t neps = 0, nmirrors = 0;
	int r;

	if (out)
		*out = NULL;
	r = reg_ref_parse(ref, &p.ref, err);
	if (r < 0) {
		free(plan);
		return r;
	}
	reg_ref_format(&p.ref, p.name, sizeof(p.name));
	r = pull_init(&p, o, err);
	if (r < 0)
		goto out;
	p.max_json = s->lim.max_json_bytes;
	e = reg_entry(p.o, p.ref.host);
	while (e && e->mirrors && e->mirrors[nmirrors])
		nmirrors++;
	eps = xcalloc(nmirrors + 1, sizeof(*eps));
	/* mirrors first, then the registry; the registry's error is the one reported */
	for (size_t i = 0; i <= nmirrors; i++) {
		struct error e2 = { 0 };
		struct endpoint *ep = &eps[neps++];

		if (i > 0) {
			image_plans_free(plan, 1);
			plan = xcalloc(1, sizeof(*plan));
		}
		r = endpoint_init(&p, ep, i < nmirrors ? e->mirrors[i] : p.ref.host,
				  i < nmirrors ? &e2 : err);
		if (r == 0)
			r = endpoint_open(&p, ep, i < nmirrors ? &e2 : err);
		if (r == 0)
			r = plan_pull(&p, plan, i < nmirrors ? &e2 : err);
		if (r == 0)
			break;
	}
	if (r < 0)
		goto out;
	xasprintf(&plan->name, "%s/%s", p.ref.host, p.ref.repo);
	if (*p.ref.tag)
		plan->tag = xstrdup(p.ref.tag);
	else
		xasprintf(&plan->tag, "@sha256:%s", p.ref.hex);
	{
		struct img_blobs b = { .fetch = pull_layer,
				       .arg = &p,
				       .nthreads = p.parallel,
				       .source = p.name,
				       .kind = "registry" };
		r = img_apply_plans(s, &b, plan, 1, progress, arg, err);
	}
	/* Only now: a failed pull changes nothing in the store, the cache neither. */
	if (r == 0 && p.cfg_body)
		config_keep(&p, p.cfg_hex, p.cfg_body, p.cfg_len);
	if (r == 0 && out) {
		_cleanup_json_ json_object *rec = NULL;
		r = img_record_read(s, plan->name, plan->tag, &rec, err);
		if (r == 0)
			r = img_info_from_record(s, rec, out, err);
	}
out:
	if (r < 0)
		(void)error_prefix(err, "%s: ", p.name[0] ? p.name : ref);
	for (size_t i = 0; i < neps; i++)
		endpoint_clear(&eps[i]);
	free(eps);
	image_plans_free(plan, 1);
	free(p.cfg_body);
	pull_clear(&p);
	return r < 0 ? r : 0;
}

int image_login(const char *registry, const char *user, const char *password,
		const struct image_pull_options *o, struct error *err)
{
	struct pull p = { 0 };
	struct endpoint ep = { 0 };
	struct xfer x = { .max = 64 * 1024 };
	struct reg_challenge ch;
	int r;

	if (!registry || !reg_host_valid(registry))
		return error_set(err, EINVAL, "invalid registry '%.200s' (HOST[:PORT])",
				 registry ? registry : "");
	if (!user || !*user || strchr(user, ':') || !password)
		return error_set(err, EINVAL,
				 "%s: a user name (without ':') and a password are needed",
				 registry);
	r = pull_init(&p, o, err);
	if (r == 0)
		r = endpoint_init(&p, &ep, registry, err);
	p.ep = &ep;
	if (r == 0)
		r = ping(&p, &ep, &x, err);
	if (r == 0 && x.code == 401) {
		if (!*x.www || reg_challenge_parse(x.www, &ch) < 0) {
			r = error_set(err, EPROTO, "%s: HTTP 401 without a usable challenge",
				      registry);
		} else if (ch.scheme == REG_AUTH_BASIC) {
			char url[sizeof(ep.base) + 8];
			char *basic = basic_header(user, password);
			snprintf(url, sizeof(url), "%s/v2/", ep.base);
			r = get_doc(&p, &ep, url, basic, false, &x, NULL, err);
			explicit_bzero(basic, strlen(basic));
			free(basic);
			if (r == 0 && x.code != 200)
				r = error_set(err, EACCES,
					      "%s: the credentials were refused (HTTP %ld)",
					      registry, x.code);
		} else {
			char *h = NULL;
			r = fetch_token(&p, &ep, &ch, NULL, user, password, &h, err);
			if (h)
				explicit_bzero(h, strlen(h));
			free(h);
		}
	}
	if (r == 0)
		r = reg_auth_update(p.auth_file, registry, user, password, err);
	free(x.body);
	endpoint_clear(&ep);
	pull_clear(&p);
	return r;
}

int image_logout(const char *registry, const struct image_pull_options *o, struct error *err)
{
	const char *path = o && o->auth_file ? o->auth_file : DEFAULT_AUTH_FILE;

	if (!registry || !reg_host_valid(registry))
		return error_set(err, EINVAL, "invalid registry '%.200s' (HOST[:PORT])",
				 registry ? registry : "");
	return reg_auth_update(path, registry, NULL, NULL, err);
}
