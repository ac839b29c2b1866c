/*
 * api-tls.c - TLS for the HTTP API on HOST:PORT (api-internal.h): a server
 * context from api.tls's certificate and key, and one OpenSSL bufferevent
 * a connection.
 *
 * libssl (with libcrypto) and libevent_openssl are loaded here when the
 * configuration asks for TLS, not linked: linked, every paddockd mapped
 * them (~2 MB of RSS, a few ms of dynamic linking at each start) while the
 * API is off by default and a Unix-socket API needs no TLS. The headers
 * give the types; each function is reached through the table below. A
 * library loaded stays loaded (never dlclose()d): the API lives as long
 * as the daemon.
 */
#include <dlfcn.h>
#include <errno.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stddef.h>

#include "api-internal.h"
#include "log.h"

#if OPENSSL_VERSION_MAJOR != 3
#error "api-tls.c loads libssl.so.3: build against OpenSSL 3's headers"
#endif

#define LIBSSL "libssl.so.3"
#define LIBSSL_PACKAGE "libssl3"
#define LIBEVENT_SSL "libevent_openssl-2.1.so.7"
#define LIBEVENT_SSL_PACKAGE "libevent-openssl-2.1-7"

static struct {
	bool loaded;
	typeof(&TLS_server_method) server_method;
	typeof(&SSL_CTX_new) ctx_new;
	typeof(&SSL_CTX_free) ctx_free;
	typeof(&SSL_CTX_ctrl) ctx_ctrl;
	typeof(&SSL_CTX_set_options) ctx_set_options;
	typeof(&SSL_CTX_use_certificate_chain_file) ctx_use_chain;
	typeof(&SSL_CTX_use_PrivateKey_file) ctx_use_key;
	typeof(&SSL_CTX_check_private_key) ctx_check_key;
	typeof(&SSL_new) ssl_new;
	typeof(&ERR_get_error) err_get; /* libcrypto's, found through libssl's dependencies */
	typeof(&ERR_error_string_n) err_string;
	typeof(&bufferevent_openssl_socket_new) bev_new; /* libevent_openssl's */
} tls;

/* The functions each library must have, and where they go in tls. */
struct tls_sym {
	const char *name;
	void **slot;
};

/* dlopen lib and fill syms from it; the handle, or NULL with why logged. */
static void *tls_open(const char *lib, const char *package, const struct tls_sym *syms, size_t n)
{
	void *dl = dlopen(lib, RTLD_NOW | RTLD_LOCAL);

	if (!dl) {
		log_warnx("api.tls: cannot load %s (package %s): %s", lib, package, dlerror());
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (!(*syms[i].slot = dlsym(dl, syms[i].name))) {
			log_warnx("api.tls: %s has no %s", lib, syms[i].name);
			dlclose(dl);
			return NULL;
		}
	return dl;
}

/* Load both libraries once; 0, or -ELIBACC with why logged. */
static int tls_load(void)
{
	const struct tls_sym ssl_syms[] = {
		{ "TLS_server_method", (void **)&tls.server_method },
		{ "SSL_CTX_new", (void **)&tls.ctx_new },
		{ "SSL_CTX_free", (void **)&tls.ctx_free },
		{ "SSL_CTX_ctrl", (void **)&tls.ctx_ctrl },
		{ "SSL_CTX_set_options", (void **)&tls.ctx_set_options },
		{ "SSL_CTX_use_certificate_chain_file", (void **)&tls.ctx_use_chain },
		{ "SSL_CTX_use_PrivateKey_file", (void **)&tls.ctx_use_key },
		{ "SSL_CTX_check_private_key", (void **)&tls.ctx_check_key },
		{ "SSL_new", (void **)&tls.ssl_new },
		{ "ERR_get_error", (void **)&tls.err_get },
		{ "ERR_error_string_n", (void **)&tls.err_string },
	};
	const struct tls_sym event_syms[] = {
		{ "bufferevent_openssl_socket_new", (void **)&tls.bev_new },
	};
	void *ssl;

	if (tls.loaded)
		return 0;
	if (!(ssl = tls_open(LIBSSL, LIBSSL_PACKAGE, ssl_syms,
			     sizeof(ssl_syms) / sizeof(ssl_syms[0]))))
		return -ELIBACC;
	/* It needs libssl (loaded: the same copy) and libevent_core (ours). */
	if (!tls_open(LIBEVENT_SSL, LIBEVENT_SSL_PACKAGE, event_syms,
		      sizeof(event_syms) / sizeof(event_syms[0]))) {
		dlclose(ssl);
		return -ELIBACC;
	}
	tls.loaded = true;
	return 0;
}

static void log_ssl_error(const char *what, const char *file)
{
	char buf[256];

	tls.err_string(tls.err_get(), buf, sizeof(buf));
	log_warnx("api.tls: %s %s: %s", what, file, buf);
}

int api_tls_new(const char *cert, const char *key, SSL_CTX **out)
{
	SSL_CTX *ctx;
	int r;

	*out = NULL;
	if ((r = tls_load()) < 0)
		return r;
	if (!(ctx = tls.ctx_new(tls.server_method())))
		return -ENOMEM;
	/* SSL_CTX_set_min_proto_version is a macro on SSL_CTX_ctrl. */
	(void)tls.ctx_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
	tls.ctx_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (tls.ctx_use_chain(ctx, cert) != 1) {
		log_ssl_error("cannot load the TLS certificate", cert);
		r = -EINVAL;
	} else if (tls.ctx_use_key(ctx, key, SSL_FILETYPE_PEM) != 1) {
		log_ssl_error("cannot load the TLS key", key);
		r = -EINVAL;
	} else if (tls.ctx_check_key(ctx) != 1) {
		log_ssl_error("the TLS key does not match the certificate", cert);
		r = -EINVAL;
	}
	if (r < 0) {
		tls.ctx_free(ctx);
		return r;
	}
	*out = ctx;
	return 0;
}

struct bufferevent *api_tls_bufferevent(SSL_CTX *ctx, struct event_base *base)
{
	SSL *ssl = tls.ssl_new(ctx);

	/* The bufferevent owns ssl (BEV_OPT_CLOSE_ON_FREE) and frees it with itself. */
	return ssl ? tls.bev_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)
		   : NULL;
}

SSL_CTX *api_tls_free(SSL_CTX *ctx)
{
	if (ctx)
		tls.ctx_free(ctx); /* only ever made by api_tls_new: loaded */
	return NULL;
}
