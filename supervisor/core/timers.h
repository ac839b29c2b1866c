/*
 * timers.h - schedule: one-shot services started at the times of their
 * calendar expression (config/calendar.h), with an overlap rule when the
 * previous run still goes, a randomized delay, and a catch-up run at start
 * for persistent timers whose time passed while no paddockd ran.
 *
 * A libevent timer per scheduled service to its next time; a timerfd with
 * TFD_TIMER_CANCEL_ON_SET notices wall-clock jumps (settimeofday, NTP
 * steps) and every next time is computed again. The last run start is the
 * service's (kept in the state file); the next time lives here.
 */
#ifndef PADDOCK_TIMERS_H
#define PADDOCK_TIMERS_H

#include <stdint.h>

struct manager;
struct service;
struct timers;
struct json_object;

/*
 * Timers for every scheduled service of d, following reloads. Call after
 * the services were adopted and started: persistent timers whose time
 * passed since their last run start now (once).
 */
struct timers *timers_new(struct manager *d);
struct timers *timers_free(struct timers *ts);
/*
 * {"schedule", "timezone", "overlap", "persistent", "last_run_ms",
 * "next_ms", "queued"} for a scheduled service, NULL for others.
 */
struct json_object *timers_json(struct timers *ts, struct service *svc);

#endif
