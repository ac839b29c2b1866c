/*
 * history.h - the dashboard's short memory: for every service, the last
 * HISTORY_SECONDS of memory, CPU and pressure, one point per probe tick
 * (at most HISTORY_POINTS), in fixed rings allocated once per service so
 * 1000 services cost a bounded, known amount (issue 20: <= 8 MB).
 */
#ifndef PADDOCK_HISTORY_H
#define PADDOCK_HISTORY_H

#define HISTORY_SECONDS 900

struct history;
struct json_object;
struct manager;

struct history *history_new(struct manager *d);
struct history *history_free(struct history *h);
/*
 * The points of one service, oldest first:
 * {"step_ms":N,"points":[{"t":MS,"memory":B,"memory_max":B|null,"cpu":CORES,
 *   "psi_cpu":PCT,"psi_memory":PCT,"psi_io":PCT},...]}; NULL for no such service.
 */
struct json_object *history_json(struct history *h, const char *service);

#endif
