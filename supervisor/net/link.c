/* link.c - rtnetlink through libmnl (link.h). Not written yet. */
#include <errno.h>
#include <stddef.h>

#include "link.h"

int nl_open(struct nl **out, int netns_fd, struct error *err)
{
	(void)netns_fd;
	*out = NULL;
	return error_set(err, ENOSYS, "netlink: not built");
}

void nl_close(struct nl *nl)
{
	(void)nl;
}
