/* resolver.c - the daemon's DNS resolver (resolver.h). Not written yet. */
#include <stdlib.h>

#include "resolver.h"

struct resolver *resolver_new(struct event_base *base, const char *resolv_conf,
			      const char *stub_conf)
{
	(void)base;
	(void)resolv_conf;
	(void)stub_conf;
	return NULL;
}

void resolver_free(struct resolver *r)
{
	(void)r;
}
