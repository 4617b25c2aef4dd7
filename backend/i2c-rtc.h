/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An emulated DS1307-compatible real-time clock, as an I2C target of the
 * virtio-i2c model (dev-i2c.c).
 *
 * The chip has 64 one-byte registers behind an auto-incrementing register
 * pointer: 0x00-0x06 time and date in BCD (seconds with the clock-halt bit
 * CH, minutes, hours with the 12/24-hour bit, day of week 1-7, date, month,
 * year 00-99 meaning 2000-2099), 0x07 control, 0x08-0x3F 56 bytes of NVRAM.
 * The pointer wraps from 0x3F to 0x00. Time is the host's CLOCK_REALTIME
 * plus an offset that writes to the time registers set; as on the chip,
 * each I2C message reads from a snapshot of the time taken at its START,
 * and writing the seconds register restarts the current second.
 *
 * Only the I2C target is here: no virtqueues, no addresses, no clock
 * reading. Callers pass the host time in, so tests can move it. There is
 * no square-wave output (control bits are only stored) and no persistence:
 * NVRAM and time offset live as long as the device.
 */
#ifndef VMSG_I2C_RTC_H
#define VMSG_I2C_RTC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define I2C_RTC_NR_REGS		64
#define I2C_RTC_NR_TIME		7	/* 0x00-0x06 */
#define I2C_RTC_REG_CONTROL	0x07
#define I2C_RTC_NVRAM		0x08
#define I2C_RTC_NVRAM_SIZE	(I2C_RTC_NR_REGS - I2C_RTC_NVRAM)

#define I2C_RTC_CH		0x80	/* seconds: clock halt */
#define I2C_RTC_12H		0x40	/* hours: 12-hour mode */
#define I2C_RTC_PM		0x20	/* hours in 12-hour mode: PM */
#define I2C_RTC_CONTROL_MASK	0x93	/* OUT, SQWE, RS1, RS0 */

struct i2c_rtc {
	uint8_t ptr;			/* register pointer, 0x00-0x3F */
	uint8_t control;
	uint8_t nvram[I2C_RTC_NVRAM_SIZE];
	bool halted;			/* CH set: the clock does not run */
	bool hour12;			/* hours read in 12-hour mode */
	uint8_t dow_delta;		/* weekday register - computed, mod 7 */
	int64_t offset_ns;		/* chip - host time, while running */
	int64_t halted_ns;		/* chip time, while halted */
	uint64_t illegal_writes;	/* time writes ignored, for the log */
};

/*
 * Power-on state: running at the host's time, 24-hour mode, control and
 * NVRAM 0, register pointer 0.
 */
void i2c_rtc_init(struct i2c_rtc *rtc);

/*
 * One I2C read message of len bytes at host time now_ns (ns since the Unix
 * epoch), from the register pointer on. The chip acknowledges every read.
 */
void i2c_rtc_read(struct i2c_rtc *rtc, int64_t now_ns, uint8_t *buf,
		  size_t len);

/*
 * One I2C write message: the first byte sets the register pointer, the
 * others are written from there on. An illegal time or date (the datasheet
 * leaves the chip's behaviour undefined) leaves the time registers as they
 * were; the bytes are still acknowledged. Returns false in that case.
 */
bool i2c_rtc_write(struct i2c_rtc *rtc, int64_t now_ns, const uint8_t *buf,
		   size_t len);

#endif /* VMSG_I2C_RTC_H */
