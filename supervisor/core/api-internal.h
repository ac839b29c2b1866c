/*
 * api-internal.h - private to the HTTP API: the state api-server.c (the
 * server, above the dashboard it hands pages to) and api.c (tokens and
 * roles, below the dashboard, which checks its login form's tokens) share.
 */
#ifndef PADDOCK_API_INTERNAL_H
#define PADDOCK_API_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "api-parse.h"

struct api_conn;
struct api_req;
struct bufferevent;
struct control;
struct dashboard;
struct evbuffer;
struct event;
struct event_base;
struct evconnlistener;
struct evhttp;
struct history;
struct manager;
typedef struct ssl_ctx_st SSL_CTX;

struct api {
	struct manager *d;
	struct control *ctl;
	struct history *h;
	struct dashboard *db;
	struct evhttp *http;
	SSL_CTX *ssl; /* api-tls.c's; NULL: plain HTTP (a Unix socket) */
	char *unix_path; /* unlinked on free */
	struct api_tokens tokens;
	struct api_conn *conns;
	unsigned nconns; /* not refused */
	unsigned nrefused; /* past max_clients, kept to answer 503 */
	struct evconnlistener *listener; /* off while full or after an accept error */
	struct event *ev_resume; /* the pause after an accept error */
	uint64_t refused_logged_ms;
	unsigned refused_unlogged;
	struct event *ev_adopt; /* closes the gap between bevcb and the evcon */
	struct api_req *reqs;
	/* GET /v1/services: the cached body, and who waits for the next one */
	struct evbuffer *list_body;
	struct evbuffer *list_gz; /* list_body gzipped, or NULL */
	uint64_t list_at_ms;
	unsigned reqno;
	/* GET /v1/events?follow=1: the streams, and those with events queued, in order */
	struct api_req *followers;
	struct api_req *dirty, **dirty_tail;
	struct event *ev_flush; /* NULL: no event log, streams go through the control */
};

/* Read path into api->tokens; refused when group or others may read it. 0 or -errno, logged. */
int api_load_tokens(struct api *api, const char *path);

/*
 * api-tls.c: TLS, with libssl and libevent_openssl loaded on first use.
 * A server context for cert and key: 0; -ELIBACC (a library missing),
 * -EINVAL (cert or key refused), -ENOMEM; logged naming api.tls.
 */
int api_tls_new(const char *cert, const char *key, SSL_CTX **out);
/* A bufferevent accepting TLS on ctx, for evhttp's next connection; NULL on failure. */
struct bufferevent *api_tls_bufferevent(SSL_CTX *ctx, struct event_base *base);
SSL_CTX *api_tls_free(SSL_CTX *ctx);

#endif
