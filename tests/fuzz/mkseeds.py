#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write the fuzz_msg seeds that drive the i2c and console models.

Usage: tests/fuzz/mkseeds.py [CORPUS_DIR]   (default tests/fuzz/corpus/fuzz_msg)

A random input almost never gets a device through the init handshake, so
the committed corpus starts fuzz_msg (tests/fuzz/fuzz_msg.c, which
documents the script format) from inputs that do what a driver does: status
ACK|DRIVER, features, FEATURES_OK, queues, DRIVER_OK, then descriptor
chains in the region and EVENT_AVAIL. The seeds written here:

  i2c-rtc      device 3 (i2c,rtc=0x68): a write of the register pointer
               with FAIL_NEXT, then a read of the 7 time registers
  console-io   device 4 (console,socket=...): two receive buffers and one
               transmit buffer of text (no client: the text is dropped)
  input-cfg    device 5 (input,evdev=FAKE): the name and the EV_KEY bits
               through the config selectors, two eventq buffers for the
               key press the fake emits, an LED event on the statusq
  net-rxtx     device 6 (net,tap=...): MAC, STATUS, MRG_RXBUF and the
               checksum offloads; two receive buffers for the frame the
               fuzzer sends into the tap, one frame to transmit

Run it after changing the script format or the devices of fuzz_msg.c, and
commit its output. It only builds bytes; it judges nothing.
"""
import os
import struct
import sys

REC_REGION = 0xfe
REC_IDLE = 0xff

SET_DRIVER_FEATURES = 0x04
GET_CONFIG = 0x05
SET_CONFIG = 0x06
SET_DEVICE_STATUS = 0x08
SET_VQUEUE = 0x0a
EVENT_AVAIL = 0x41

ACK, DRIVER, DRIVER_OK, FEATURES_OK = 1, 2, 4, 8
# VERSION_1 (32) and ACCESS_PLATFORM (33): the transport insists on both
TRANSPORT_FEATURES_HI = 0x3

DESC_NEXT, DESC_WRITE = 1, 2
QUEUE_SIZE = 8
# fuzz_msg.c: the region is 64 KiB and its first page is never valid
RINGS = 0x1000      # each queue's rings in a 0x200 slot from here
BUFS = 0x4000       # buffers from here


class Script:
    """One fuzz_msg input: a selector byte, then records."""

    def __init__(self, dev):
        self.dev = dev
        self.token = 0
        # 0x14: max_msg_size 44 + 20 = 64, the default
        self.out = bytearray([0x14])

    def msg(self, msg_id, payload=b""):
        self.token += 1
        hdr = struct.pack("<BBHHH", 0, msg_id, self.dev, self.token,
                          8 + len(payload))
        data = hdr + payload
        assert len(data) < REC_REGION
        self.out += bytes([len(data)]) + data

    def region(self, off, data):
        for i in range(0, len(data), 255):
            chunk = data[i:i + 255]
            self.out += bytes([REC_REGION]) + struct.pack("<H", off + i)
            self.out += bytes([len(chunk)]) + chunk

    def idle(self):
        self.out.append(REC_IDLE)

    def status(self, value):
        self.msg(SET_DEVICE_STATUS, struct.pack("<I", value))

    def start(self, features_lo, nqueues):
        """The init handshake; queue q's rings live at RINGS + q * 0x200."""
        self.status(ACK | DRIVER)
        self.msg(SET_DRIVER_FEATURES,
                 struct.pack("<IIII", 0, 2, features_lo,
                             TRANSPORT_FEATURES_HI))
        self.status(ACK | DRIVER | FEATURES_OK)
        for q in range(nqueues):
            desc, avail, used = ring_addrs(q)
            self.msg(SET_VQUEUE, struct.pack("<IIIIQQQ", q, 0, QUEUE_SIZE,
                                             0, desc, avail, used))
        self.status(ACK | DRIVER | FEATURES_OK | DRIVER_OK)

    def chains(self, q, chains):
        """Publish chains (lists of (addr, len, writable)) on queue q."""
        desc_addr, avail_addr, _ = ring_addrs(q)
        table = bytearray()
        heads = []
        for chain in chains:
            heads.append(len(table) // 16)
            for i, (addr, length, writable) in enumerate(chain):
                idx = len(table) // 16
                flags = (DESC_WRITE if writable else 0)
                if i + 1 < len(chain):
                    flags |= DESC_NEXT
                table += struct.pack("<QIHH", addr, length, flags, idx + 1)
        assert len(heads) <= QUEUE_SIZE and len(table) <= QUEUE_SIZE * 16
        self.region(desc_addr, bytes(table))
        avail = struct.pack("<HH", 0, len(heads))
        avail += b"".join(struct.pack("<H", h) for h in heads)
        self.region(avail_addr, avail)
        self.msg(EVENT_AVAIL, struct.pack("<II", q, len(heads)))
        self.idle()


def ring_addrs(q):
    base = RINGS + q * 0x200
    return base, base + 0x80, base + 0x100


def i2c_rtc():
    s = Script(3)
    s.start(features_lo=1, nqueues=1)   # ZERO_LENGTH_REQUEST
    rtc = 0x68 << 1
    # virtio_i2c_out_hdr: addr, padding, flags (FAIL_NEXT 1, M_RD 2)
    s.region(BUFS, struct.pack("<HHI", rtc, 0, 1))
    s.region(BUFS + 0x10, b"\x00")                      # register 0
    s.region(BUFS + 0x20, struct.pack("<HHI", rtc, 0, 2))
    s.chains(0, [
        [(BUFS, 8, False), (BUFS + 0x10, 1, False), (BUFS + 0x18, 1, True)],
        [(BUFS + 0x20, 8, False), (BUFS + 0x30, 7, True),
         (BUFS + 0x38, 1, True)],
    ])
    return s.out


def console_io():
    s = Script(4)
    s.start(features_lo=0, nqueues=2)   # receiveq 0, transmitq 1
    s.chains(0, [[(BUFS, 64, True)], [(BUFS + 0x40, 64, True)]])
    text = b"hello from a fuzzed driver\r\n"
    s.region(BUFS + 0x100, text)
    s.chains(1, [[(BUFS + 0x100, len(text), False)]])
    return s.out


def input_cfg():
    s = Script(5)
    s.start(features_lo=0, nqueues=2)   # eventq 0, statusq 1
    # virtio_input_config: select, subsel at 0 (generation 0: nothing
    # changed the config yet), the answer from offset 8
    for select, subsel in ((0x01, 0), (0x11, 0x01)):   # ID_NAME, EV_BITS/KEY
        s.msg(SET_CONFIG, struct.pack("<IIIBB", 0, 0, 2, select, subsel))
        s.msg(GET_CONFIG, struct.pack("<II", 0, 40))
    s.chains(0, [[(BUFS, 8, True)], [(BUFS + 0x10, 8, True)]])
    # virtio_input_event: EV_LED (0x11), LED_NUML (0), on
    s.region(BUFS + 0x100, struct.pack("<HHI", 0x11, 0, 1))
    s.chains(1, [[(BUFS + 0x100, 8, False)]])
    return s.out


def net_rxtx():
    s = Script(6)
    # CSUM 0, GUEST_CSUM 1, MAC 5, MRG_RXBUF 15, STATUS 16
    s.start(features_lo=(1 << 0) | (1 << 1) | (1 << 5) | (1 << 15) |
            (1 << 16), nqueues=2)         # receiveq 0, transmitq 1
    s.chains(0, [[(BUFS, 1536, True)], [(BUFS + 0x800, 1536, True)]])
    # virtio_net_hdr_mrg_rxbuf (12 bytes, no offload), then a broadcast
    # frame of the local experimental ethertype
    frame = b"\xff" * 6 + b"\x02" * 6 + b"\x88\xb5" + b"\x5a" * 46
    s.region(BUFS + 0x1000, bytes(12) + frame)
    s.chains(1, [[(BUFS + 0x1000, 12 + len(frame), False)]])
    return s.out


def main():
    top = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        top, "corpus", "fuzz_msg")
    os.makedirs(out_dir, exist_ok=True)
    for name, build in (("i2c-rtc", i2c_rtc), ("console-io", console_io),
                        ("input-cfg", input_cfg), ("net-rxtx", net_rxtx)):
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(build())


if __name__ == "__main__":
    main()
