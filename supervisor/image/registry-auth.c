/*
 * registry-auth.c - the pure parsers of registry auth: WWW-Authenticate
 * challenges (RFC 7235 auth-params, quoted strings with escapes), token
 * endpoint replies, and the credentials file in the containers-auth.json
 * / docker config.json format, with its atomic rewrite for login and
 * logout. Fed by hostile servers and edited files: everything bounded,
 * nothing trusted; tests/fuzz/fuzz-registry.c drives the parsers.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry.h"
#include "util.h"

#define AUTH_FILE_MAX (1 << 20)
#define TOKEN_MAX (16 * 1024)

/* ---- WWW-Authenticate --------------------------------------------------------- */

static bool tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A token or quoted string at *pp into out (len); false if malformed or too long. */
static bool read_value(const char **pp, char *out, size_t len)
{
	const char *p = *pp;
	size_t o = 0;

	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (!*p)
				return false;
			if (*p == '\\' && !*++p)
				return false;
			if ((unsigned char)*p < ' ' && *p != '\t')
				return false;
			if (o + 1 >= len)
				return false;
			out[o++] = *p;
		}
		p++;
	} else {
		/* a token, leniently: anything up to a space, comma or quote (some servers
		 * send unquoted URLs) */
		while ((unsigned char)*p > ' ' && (unsigned char)*p < 0x7f && *p != ',' &&
		       *p != '"') {
			if (o + 1 >= len)
				return false;
			out[o++] = *p++;
		}
		if (o == 0)
			return false;
	}
	out[o] = '\0';
	*pp = p;
	return true;
}

int reg_challenge_parse(const char *hdr, struct reg_challenge *c)
{
	const char *p = hdr;

	memset(c, 0, sizeof(*c));
	for (;;) {
		struct reg_challenge cur = { 0 };
		char scheme[32];
		size_t n = 0;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		while (tchar(*p)) {
			if (n + 1 >= sizeof(scheme))
				return -EINVAL;
			scheme[n++] = *p++;
		}
		if (n == 0)
			return -EINVAL;
		scheme[n] = '\0';
		cur.scheme = strcasecmp(scheme, "Bearer") == 0	? REG_AUTH_BEARER
			     : strcasecmp(scheme, "Basic") == 0 ? REG_AUTH_BASIC
								: REG_AUTH_NONE;
		/* auth-params: name = value, separated by commas; a name without '=' starts the next
		 * challenge */
		for (;;) {
			const char *start;
			char name[32], value[1024];
			size_t k = 0;

			p = skip_ws(p);
			while (*p == ',')
				p = skip_ws(p + 1);
			start = p;
			while (tchar(*p) && k + 1 < sizeof(name))
				name[k++] = *p++;
			name[k] = '\0';
			if (k == 0 || *skip_ws(p) != '=') {
				if (tchar(*p)) { /* a name too long: skip it as a foreign param */
					while (tchar(*p))
						p++;
					if (*skip_ws(p) != '=') {
						p = start;
						break;
					}
				} else {
					if (k == 0 && *p && *p != ',')
						return -EINVAL;
					p = start;
					break;
				}
			}
			p = skip_ws(skip_ws(p) + 1);
			if (!read_value(&p, value, sizeof(value)))
				return -EINVAL;
			if (strcasecmp(name, "realm") == 0)
				snprintf(cur.realm, sizeof(cur.realm), "%s", value);
			else if (strcasecmp(name, "service") == 0 &&
				 strlen(value) < sizeof(cur.service))
				snprintf(cur.service, sizeof(cur.service), "%s", value);
			else if (strcasecmp(name, "scope") == 0 &&
				 strlen(value) < sizeof(cur.scope))
				snprintf(cur.scope, sizeof(cur.scope), "%s", value);
			else if (strcasecmp(name, "error") == 0 &&
				 strlen(value) < sizeof(cur.error))
				snprintf(cur.error, sizeof(cur.error), "%s", value);
			p = skip_ws(p);
			if (*p && *p != ',')
				return -EINVAL;
		}
		if (cur.scheme == REG_AUTH_BEARER && *cur.realm)
			*c = cur;
		else if (cur.scheme == REG_AUTH_BASIC && c->scheme != REG_AUTH_BEARER)
			*c = cur;
	}
	return c->scheme == REG_AUTH_NONE ? -EINVAL : 0;
}

/* ---- token replies ------------------------------------------------------------- */

static json_object *parse_object(const char *buf, size_t len)
{
	json_tokener *tok = json_tokener_new_ex(32);
	json_object *o;

	if (!tok || len > INT_MAX) {
		json_tokener_free(tok);
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (o && json_tokener_get_error(tok) == json_tokener_success) {
		for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
			if (!strchr(" \t\r\n", buf[i])) {
				json_object_put(o);
				o = NULL;
				break;
			}
	} else {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int reg_token_parse(const char *buf, size_t len, char **token, unsigned *expires_in,
		    struct error *err)
{
	json_object *o = parse_object(buf, len), *v;
	const char *t;
	int64_t exp = 60;

	*token = NULL;
	if (!o)
		return error_set(err, EBADMSG, "token reply is not a JSON object");
	t = get_str(o, "token");
	if (!t || !*t)
		t = get_str(o, "access_token");
	if (!t || !*t) {
		json_object_put(o);
		return error_set(err, EBADMSG, "token reply has no token");
	}
	if (strlen(t) > TOKEN_MAX) {
		json_object_put(o);
		return error_set(err, EBADMSG, "token of %zu bytes is over the limit of %d",
				 strlen(t), TOKEN_MAX);
	}
	for (const char *c = t; *c; c++)
		if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f) {
			json_object_put(o);
			return error_set(err, EBADMSG, "token holds a character not allowed in it");
		}
	if (json_object_object_get_ex(o, "expires_in", &v) && json_object_is_type(v, json_type_int))
		exp = json_object_get_int64(v);
	if (exp < 60) /* the spec's minimum */
		exp = 60;
	if (exp > 86400)
		exp = 86400;
	*expires_in = (unsigned)exp;
	*token = xstrdup(t);
	json_object_put(o);
	return 0;
}

/* ---- the credentials file ---------------------------------------------------- */

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Decode base64 (padding optional); NULL if malformed or the result holds a NUL. */
static char *b64_decode(const char *in)
{
	size_t n = strlen(in), o = 0;
	char *out = xcalloc(n / 4 * 3 + 4, 1);
	unsigned acc = 0;
	int bits = 0;

	while (n > 0 && in[n - 1] == '=')
		n--;
	for (size_t i = 0; i < n; i++) {
		int v = b64_val(in[i]);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o] = (char)((acc >> bits) & 0xff);
			if (!out[o]) {
				free(out);
				return NULL;
			}
			o++;
		}
	}
	out[o] = '\0';
	return out;
}

char *reg_base64(const char *in)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), o = 0;
	char *out = xcalloc((n + 2) / 3 * 4 + 1, 1);

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

static bool docker_hub(const char *h)
{
	return strcmp(h, "docker.io") == 0 || strcmp(h, "index.docker.io") == 0 ||
	       strcmp(h, "registry-1.docker.io") == 0;
}

/* Does key ("HOST", "https://HOST/v1/") name host? */
static bool key_matches(const char *key, const char *host)
{
	char k[REG_HOST_MAX];
	const char *p = key;
	size_t n;

	if (strncmp(p, "https://", 8) == 0)
		p += 8;
	else if (strncmp(p, "http://", 7) == 0)
		p += 7;
	n = strcspn(p, "/");
	if (n >= sizeof(k))
		return false;
	memcpy(k, p, n);
	k[n] = '\0';
	return strcmp(k, host) == 0 || (docker_hub(k) && docker_hub(host));
}

int reg_auth_lookup_buf(const char *buf, size_t len, const char *what, const char *host,
			char **user, char **pass, struct error *err)
{
	json_object *o = parse_object(buf, len), *auths;
	int r = -ENOENT;

	*user = *pass = NULL;
	if (!o)
		return error_set(err, EBADMSG, "%s: not a JSON object", what);
	if (!json_object_object_get_ex(o, "auths", &auths) ||
	    !json_object_is_type(auths, json_type_object)) {
		json_object_put(o);
		return -ENOENT;
	}
	json_object_object_foreach(auths, key, val)
	{
		const char *a, *u, *pw;
		char *dec, *colon;

		if (!key_matches(key, host) || !json_object_is_type(val, json_type_object))
			continue;
		u = get_str(val, "username");
		pw = get_str(val, "password");
		a = get_str(val, "auth");
		if (a && *a) {
			dec = b64_decode(a);
			colon = dec ? strchr(dec, ':') : NULL;
			if (!colon) {
				free(dec);
				r = error_set(err, EBADMSG,
					      "%s: auths.\"%.100s\".auth is not base64 of "
					      "USER:PASSWORD",
					      what, key);
				break;
			}
			*colon = '\0';
			*user = xstrdup(dec);
			*pass = xstrdup(colon + 1);
			free(dec);
			r = 0;
			break;
		}
		if (u && pw) {
			*user = xstrdup(u);
			*pass = xstrdup(pw);
			r = 0;
			break;
		}
	}
	json_object_put(o);
	return r;
}

/* Read path (bounded, permissions checked) into *buf; -ENOENT if it does not exist. */
static int read_auth_file(const char *path, char **buf, size_t *len, struct error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	size_t done = 0;

	*buf = NULL;
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return error_set(err, errno, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0)
		return error_set(err, errno, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return error_set(err, EINVAL, "%s: not a regular file", path);
	if (st.st_mode & 0066)
		return error_set(err, EPERM,
				 "%s: credentials file is readable or writable by group or others "
				 "(mode %04o); refusing it (chmod 600 %s)",
				 path, (unsigned)(st.st_mode & 07777), path);
	if (st.st_size > AUTH_FILE_MAX)
		return error_set(err, EFBIG, "%s: over %d bytes", path, AUTH_FILE_MAX);
	*buf = xcalloc((size_t)st.st_size + 1, 1);
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, *buf + done, (size_t)st.st_size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	*len = done;
	return 0;
}

int reg_auth_lookup(const char *path, const char *host, char **user, char **pass, struct error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	*user = *pass = NULL;
	r = read_auth_file(path, &buf, &len, err);
	if (r < 0)
		return r;
	return reg_auth_lookup_buf(buf, len, path, host, user, pass, err);
}

/* Write text to path atomically: a 0600 sibling, synced, renamed over it. */
static int write_atomic(const char *path, const char *text, struct error *err)
{
	_cleanup_free_ char *tmp = NULL, *dircopy = xstrdup(path);
	const char *dir = dirname(dircopy);
	size_t len = strlen(text), done = 0;
	int fd, dfd;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return error_set(err, errno, "%s: %s", dir, strerror(errno));
	xasprintf(&tmp, "%s.tmp-%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return error_set(err, errno, "%s: %s", tmp, strerror(errno));
	(void)fchmod(fd, 0600);
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			(void)unlink(tmp);
			return error_set(err, e, "%s: %s", tmp, strerror(e));
		}
		done += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		int e = errno;
		(void)unlink(tmp);
		return error_set(err, e, "%s: %s", tmp, strerror(e));
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		(void)unlink(tmp);
		return error_set(err, e, "%s: %s", path, strerror(e));
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

int reg_auth_update(const char *path, const char *host, const char *user, const char *pass,
		    struct error *err)
{
	_cleanup_free_ char *buf = NULL, *up = NULL, *b64 = NULL;
	json_object *o = NULL, *auths;
	size_t len = 0;
	bool found = false;
	int r;

	r = read_auth_file(path, &buf, &len, err);
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == 0 && len > 0 && !(o = parse_object(buf, len)))
		return error_set(err, EBADMSG, "%s: not a JSON object; not rewriting it", path);
	if (!o)
		o = json_object_new_object();
	if (!json_object_object_get_ex(o, "auths", &auths) ||
	    !json_object_is_type(auths, json_type_object)) {
		auths = json_object_new_object();
		json_object_object_add(o, "auths", auths);
	}
	/* drop every key naming host ("HOST", "https://HOST/v1/") */
	for (bool again = true; again;) {
		again = false;
		json_object_object_foreach(auths, key, val)
		{
			(void)val;
			if (key_matches(key, host)) {
				json_object_object_del(auths, key);
				found = again = true;
				break;
			}
		}
	}
	if (user) {
		json_object *e = json_object_new_object();
		xasprintf(&up, "%s:%s", user, pass);
		b64 = reg_base64(up);
		json_object_object_add(e, "auth", json_object_new_string(b64));
		json_object_object_add(auths, host, e);
	} else if (!found) {
		json_object_put(o);
		return error_set(err, ENOENT, "%s: no credentials for %s", path, host);
	}
	r = write_atomic(path,
			 json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							       JSON_C_TO_STRING_NOSLASHESCAPE),
			 err);
	json_object_put(o);
	return r;
}
