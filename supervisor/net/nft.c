/* nft.c - paddock's table through libnftables (nft.h). Not written yet. */
#include <errno.h>
#include <stddef.h>

#include "nft.h"

int nftm_remove(struct error *err)
{
	return error_set(err, ENOSYS, "nftables: not built");
}
