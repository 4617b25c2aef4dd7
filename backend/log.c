// SPDX-License-Identifier: GPL-2.0
/*
 * Logging for the daemon and its libraries: one line per message on stderr,
 * prefixed with the level, no timestamps (journald or the caller adds them).
 *
 * vmsg_log_rl() is the only way a peer-triggered condition may be logged: it
 * is a token bucket of VMSG_RL_BURST messages refilled at one per second, and
 * it reports how many messages it swallowed with the next line it lets
 * through. It is not thread-safe; the daemon is single-threaded.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "log.h"

#define VMSG_RL_BURST		10
#define VMSG_RL_INTERVAL_MS	1000

static enum vmsg_log_level vmsg_log_level = VMSG_LOG_INFO;

static const char *const vmsg_log_prefix[] = {
	[VMSG_LOG_ERR] = "error",
	[VMSG_LOG_WARN] = "warning",
	[VMSG_LOG_INFO] = "info",
	[VMSG_LOG_DEBUG] = "debug",
};

void vmsg_log_set_level(enum vmsg_log_level level)
{
	vmsg_log_level = level;
}

static void vmsg_vlog(enum vmsg_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void vmsg_vlog(enum vmsg_log_level level, const char *fmt, va_list ap)
{
	char line[512];

	if (level > vmsg_log_level)
		return;
	/* Format first: one stdio call per line keeps lines whole. */
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "vmsg: %s: %s\n", vmsg_log_prefix[level], line);
}

void vmsg_log(enum vmsg_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg_vlog(level, fmt, ap);
	va_end(ap);
}

static uint64_t vmsg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Give back one token per elapsed interval. rl->printed counts the tokens in
 * use and rl->window_start_ms is when the last one was given back.
 */
static void vmsg_rl_refill(struct vmsg_ratelimit *rl, uint64_t now)
{
	uint64_t back = (now - rl->window_start_ms) / VMSG_RL_INTERVAL_MS;

	if (back >= rl->printed) {
		rl->printed = 0;
		rl->window_start_ms = now;
	} else {
		rl->printed -= (unsigned int)back;
		rl->window_start_ms += back * VMSG_RL_INTERVAL_MS;
	}
}

void vmsg_log_rl(struct vmsg_ratelimit *rl, enum vmsg_log_level level,
		 const char *fmt, ...)
{
	va_list ap;

	if (level > vmsg_log_level)
		return;
	vmsg_rl_refill(rl, vmsg_now_ms());
	if (rl->printed >= VMSG_RL_BURST) {
		rl->missed++;
		return;
	}
	rl->printed++;
	if (rl->missed) {
		vmsg_log(level, "%u messages suppressed", rl->missed);
		rl->missed = 0;
	}
	va_start(ap, fmt);
	vmsg_vlog(level, fmt, ap);
	va_end(ap);
}
