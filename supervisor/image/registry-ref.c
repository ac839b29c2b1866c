/*
 * registry-ref.c - registry references: parse, normalise, format, and
 * tell them from path references and local NAME:TAG. Needs only libc, so
 * paddockd can link image_ref_is_remote without libcurl.
 *
 * Grammar (the distribution project's reference grammar, narrowed):
 *   [HOST[:PORT]/]COMPONENT[/COMPONENT...][:TAG][@sha256:HEX]
 * The first component is a host when it holds a '.' or ':' or is
 * "localhost" and more components follow; otherwise "docker.io" is
 * implied, with "library/" before a single component.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "image-internal.h"
#include "registry.h"
#include "util.h"

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

bool reg_host_valid(const char *host)
{
	const char *port = NULL;
	size_t n = strlen(host);

	if (n == 0 || n >= REG_HOST_MAX)
		return false;
	if (host[0] == '[') { /* [IPv6]:PORT */
		const char *end = strchr(host, ']');
		if (!end || end == host + 1)
			return false;
		for (const char *c = host + 1; c < end; c++)
			if (!(is_alnum(*c) || *c == ':' || *c == '.'))
				return false;
		if (end[1] && end[1] != ':')
			return false;
		port = end[1] ? end + 2 : NULL;
	} else {
		const char *colon = strchr(host, ':');
		size_t hl = colon ? (size_t)(colon - host) : n;
		if (hl == 0 || host[0] == '-' || host[0] == '.' || host[hl - 1] == '-' ||
		    host[hl - 1] == '.')
			return false;
		for (size_t i = 0; i < hl; i++)
			if (!(is_alnum(host[i]) || host[i] == '-' ||
			      (host[i] == '.' && host[i + 1] != '.')))
				return false;
		port = colon ? colon + 1 : NULL;
	}
	if (port) {
		unsigned long v = 0;
		if (!*port || strlen(port) > 5)
			return false;
		for (const char *c = port; *c; c++) {
			if (*c < '0' || *c > '9')
				return false;
			v = v * 10 + (unsigned long)(*c - '0');
		}
		if (v == 0 || v > 65535)
			return false;
	}
	return true;
}

static bool looks_like_host(const char *s, size_t len)
{
	return memchr(s, '.', len) || memchr(s, ':', len) ||
	       (len == 9 && strncmp(s, "localhost", 9) == 0);
}

/* One path component: lowercase alphanumerics, separated by '.', '_' or '-'. */
static bool component_valid(const char *c, size_t len)
{
	if (len == 0 || !is_lower_alnum(c[0]) || !is_lower_alnum(c[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_lower_alnum(c[i]) && c[i] != '.' && c[i] != '_' && c[i] != '-')
			return false;
	return true;
}

static bool tag_valid(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > REG_TAG_MAX || !(is_alnum(t[0]) || t[0] == '_'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
			return false;
	return true;
}

int reg_ref_parse(const char *ref, struct reg_ref *out, struct error *err)
{
	char buf[REG_HOST_MAX + REG_REPO_MAX + REG_TAG_MAX + 8];
	char *at, *colon, *slash, *name;
	size_t len = strlen(ref);

	memset(out, 0, sizeof(*out));
	if (len == 0 || len >= sizeof(buf))
		return error_set(err, EINVAL, "invalid image reference '%.100s': %s", ref,
				 len ? "too long" : "empty");
	memcpy(buf, ref, len + 1);
	at = strchr(buf, '@');
	if (at) {
		const char *d = at + 1;
		*at = '\0';
		if (strncmp(d, "sha256:", 7) != 0)
			return error_set(err, EINVAL,
					 "invalid image reference '%.200s': only sha256 digests "
					 "are supported",
					 ref);
		d += 7;
		if (strlen(d) != 64)
			goto bad_digest;
		for (size_t i = 0; i < 64; i++)
			if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f')))
				goto bad_digest;
		memcpy(out->hex, d, 65);
	}
	slash = strrchr(buf, '/');
	colon = strrchr(buf, ':');
	if (colon && (!slash || colon > slash)) {
		*colon = '\0';
		if (!tag_valid(colon + 1))
			return error_set(err, EINVAL, "invalid image reference '%.200s': bad tag",
					 ref);
		snprintf(out->tag, sizeof(out->tag), "%s", colon + 1);
	} else if (!*out->hex) {
		snprintf(out->tag, sizeof(out->tag), "latest");
	}
	name = buf;
	slash = strchr(buf, '/');
	if (slash && looks_like_host(buf, (size_t)(slash - buf))) {
		*slash = '\0';
		if (!reg_host_valid(buf))
			return error_set(err, EINVAL,
					 "invalid image reference '%.200s': bad registry host '%s'",
					 ref, buf);
		memcpy(out->host, buf, strlen(buf) + 1); /* reg_host_valid bounds it */
		name = slash + 1;
	} else {
		snprintf(out->host, sizeof(out->host), "docker.io");
	}
	if (strcmp(out->host, "index.docker.io") == 0)
		snprintf(out->host, sizeof(out->host), "docker.io");
	for (const char *c = name;;) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);
		if (!component_valid(c, n))
			return error_set(err, EINVAL,
					 "invalid image reference '%.200s': repository names are "
					 "lowercase letters, digits and '.', '_', '-' between them",
					 ref);
		if (!e)
			break;
		c = e + 1;
	}
	if (snprintf(out->repo, sizeof(out->repo), "%s%s",
		     strcmp(out->host, "docker.io") == 0 && !strchr(name, '/') ? "library/" : "",
		     name) >= (int)sizeof(out->repo))
		return error_set(err, EINVAL, "invalid image reference '%.200s': name too long",
				 ref);
	return 0;
bad_digest:
	return error_set(err, EINVAL,
			 "invalid image reference '%.200s': a digest is sha256: and 64 lowercase "
			 "hex digits",
			 ref);
}

void reg_ref_format(const struct reg_ref *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s%s%s%s%s", r->host, r->repo, *r->tag ? ":" : "", r->tag,
		 *r->hex ? "@sha256:" : "", r->hex);
}

int image_ref_is_remote(const char *ref)
{
	struct reg_ref r;
	const char *slash;

	if (!ref || ref[0] == '/' || strncmp(ref, "./", 2) == 0 || strncmp(ref, "../", 3) == 0)
		return 0;
	slash = strchr(ref, '/');
	if (!strchr(ref, '@') && !(slash && looks_like_host(ref, (size_t)(slash - ref))))
		return 0;
	return reg_ref_parse(ref, &r, NULL) == 0;
}

int img_remote_key(const char *ref, char **name, char **tag, struct error *err)
{
	struct reg_ref rr;
	int r = reg_ref_parse(ref, &rr, err);

	if (r < 0)
		return r;
	xasprintf(name, "%s/%s", rr.host, rr.repo);
	if (rr.tag[0])
		*tag = xstrdup(rr.tag);
	else
		xasprintf(tag, "@sha256:%s", rr.hex);
	return 0;
}
