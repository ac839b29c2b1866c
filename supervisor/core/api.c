/*
 * api.c - the HTTP API's tokens (api.h, api-internal.h): the file read at
 * start, and the role a token grants. The server is api-server.c; this
 * part sits below the dashboard, whose login form checks tokens here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api-internal.h"
#include "api.h"
#include "manager.h"
#include "log.h"
#include "util.h"

#define API_MAX_TOKENS_FILE (1024 * 1024)

int api_load_tokens(struct api *api, const char *path)
{
	char why[256];
	struct stat st;
	char *buf;
	ssize_t n;
	int fd, r;

	/* No symlink, no FIFO to block on; the checks below are on what was opened. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0) {
		r = -errno;
		log_warnx("api: cannot open the tokens file %s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_warnx("api: the tokens file %s is not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_uid != geteuid()) {
		log_warnx("api: the tokens file %s is owned by uid %u, not by paddockd's uid %u: "
			  "refused; chown it",
			  path, (unsigned)st.st_uid, (unsigned)geteuid());
		close(fd);
		return -EPERM;
	}
	if (st.st_mode & 0077) {
		log_warnx("api: the tokens file %s is readable or writable by group or others "
			  "(mode %04o): refused; chmod 600 it",
			  path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -EPERM;
	}
	if (st.st_size > API_MAX_TOKENS_FILE) {
		log_warnx("api: the tokens file %s is larger than 1 MiB", path);
		close(fd);
		return -EFBIG;
	}
	buf = xcalloc((size_t)st.st_size + 1, 1);
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n < 0) {
		r = -errno;
		free(buf);
		log_warnx("api: cannot read the tokens file %s: %s", path, strerror(-r));
		return r;
	}
	r = api_tokens_parse(buf, (size_t)n, &api->tokens, why, sizeof(why));
	explicit_bzero(buf, (size_t)n);
	free(buf);
	if (r < 0)
		log_warnx("api: tokens file %s: %s", path, why);
	return r;
}

int api_check(struct manager *d)
{
	const typeof(d->cfg->api) *c = &d->cfg->api;
	struct api *api;
	SSL_CTX *ctx = NULL;
	int r;

	if (!c->listen)
		return 0;
	api = xcalloc(1, sizeof(*api));
	r = api_load_tokens(api, c->tokens);
	api_tokens_clear(&api->tokens);
	free(api);
	if (r == 0 && c->listen[0] != '/') {
		r = api_tls_new(c->tls_cert, c->tls_key, &ctx);
		ctx = api_tls_free(ctx);
	}
	return r;
}

enum api_role api_token_role(const struct api *api, const char *token)
{
	if (!api || !token)
		return API_ROLE_NONE;
	return api_tokens_find(&api->tokens, token, strlen(token));
}
