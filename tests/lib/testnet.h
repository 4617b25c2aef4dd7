/* SPDX-License-Identifier: GPL-2.0 */
/*
 * testnet: the host side of a tap for the net model's tests (the unit
 * test, the fuzzer). The process moves into a network namespace of its
 * own first, so its taps never meet the host's, with IPv6 off so that an
 * interface coming up sends nothing by itself. Then a test brings the tap
 * the device made up and opens an AF_PACKET socket on it: what it sends
 * there, the device receives; what the device transmits, it reads there.
 *
 * Needs CAP_NET_ADMIN, as vmsgd does. Functions return 0 (or an fd) or
 * -errno, and say nothing: the caller reports.
 */
#ifndef VMSG_TESTNET_H
#define VMSG_TESTNET_H

/* unshare(CLONE_NEWNET) and IPv6 off; -errno if the unshare failed. */
int testnet_private_netns(void);

/* Bring interface name up and return an AF_PACKET socket bound to it. */
int testnet_tap_socket(const char *name);

#endif /* VMSG_TESTNET_H */
