/*
 * spec-iodev.c - resources.io.max, resources.hugetlb, resources.cpu.mems and isolation.devices.
 */
#include "spec-internal.h"

void parse_io_max(struct sp *p, const struct ynode *v)
{
	y_err(p->c, v, "not supported yet");
}

void parse_hugetlb(struct sp *p, const struct ynode *v)
{
	y_err(p->c, v, "not supported yet");
}

void parse_cpu_mems(struct sp *p, const struct ynode *v)
{
	y_err(p->c, v, "not supported yet");
}

void parse_devices(struct sp *p, const struct ynode *v)
{
	y_err(p->c, v, "not supported yet");
}
