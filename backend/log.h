/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Logging for the daemon and its libraries.
 *
 * Messages go to stderr with a level prefix. Anything a peer can trigger
 * (malformed messages, broken rings) is logged through vmsg_log_rl(), which
 * lets a burst through and then drops messages, counting what it dropped.
 */
#ifndef VMSG_LOG_H
#define VMSG_LOG_H

#include <stdint.h>

enum vmsg_log_level {
	VMSG_LOG_ERR,
	VMSG_LOG_WARN,
	VMSG_LOG_INFO,
	VMSG_LOG_DEBUG,
};

/* Messages above this level are dropped; default VMSG_LOG_INFO. */
void vmsg_log_set_level(enum vmsg_log_level level);

void vmsg_log(enum vmsg_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Per call-site state for vmsg_log_rl(): burst of 10, then 1 per second. */
struct vmsg_ratelimit {
	uint64_t window_start_ms;
	unsigned int printed;
	unsigned int missed;
};

void vmsg_log_rl(struct vmsg_ratelimit *rl, enum vmsg_log_level level,
		 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define vmsg_err(...) vmsg_log(VMSG_LOG_ERR, __VA_ARGS__)
#define vmsg_warn(...) vmsg_log(VMSG_LOG_WARN, __VA_ARGS__)
#define vmsg_info(...) vmsg_log(VMSG_LOG_INFO, __VA_ARGS__)
#define vmsg_dbg(...) vmsg_log(VMSG_LOG_DEBUG, __VA_ARGS__)

/* Rate-limited, with one static state per call site. */
#define vmsg_warn_rl(...)                                          \
	do {                                                        \
		static struct vmsg_ratelimit _rl;                   \
		vmsg_log_rl(&_rl, VMSG_LOG_WARN, __VA_ARGS__);      \
	} while (0)

#endif /* VMSG_LOG_H */
