// SPDX-License-Identifier: GPL-2.0
/*
 * An emulated DS1307-compatible real-time clock behind the virtio-i2c model
 * (Maxim DS1307 datasheet, "RTC and RAM address map" and "I2C data bus").
 *
 * The chip's time is kept as one number, nanoseconds since the Unix epoch,
 * equal to the host's CLOCK_REALTIME plus an offset while the clock runs
 * and frozen while CH (clock halt) is set. Registers 0x00-0x06 are computed
 * from it when a message starts (the chip's "user buffer" latched at
 * START), so a multi-byte read never tears across a second boundary. A
 * write of time registers is applied when its message ends, all fields at
 * once, which is what a driver writing the seven registers in one message
 * (Linux's rtc-ds1307 does) expects.
 *
 * Years are two BCD digits meaning 2000-2099 and every year divisible by
 * four is a leap year, as on the chip. The day-of-week register counts
 * 1-7 independently of the date, as on the chip: it is stored as a
 * difference to the computed weekday. Unused register bits read as 0.
 * Not here: the square-wave output, battery backup, anything outside the
 * I2C register interface.
 */
#include <time.h>

#include "i2c-rtc.h"

#define NSEC_PER_SEC	1000000000LL
#define SECS_PER_DAY	86400
/* 1970-01-01 was a Thursday: tm_wday 4 (Linux writes tm_wday + 1). */
#define EPOCH_WDAY	4

/* The time and date fields, decoded from registers 0x00-0x06. */
struct rtc_fields {
	int sec, min, hour, dow, mday, mon, year;
	bool halt;
	bool hour12;
};

/* Rounding towards minus infinity, for times before 1970; b > 0. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return a % b < 0 ? q - 1 : q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

static uint8_t bin2bcd(int v)
{
	return (uint8_t)((v / 10) << 4 | v % 10);
}

/* A BCD byte in [min, max] into *out; false if not BCD or out of range. */
static bool bcd_get(uint8_t v, int min, int max, int *out)
{
	if ((v & 0x0f) > 9 || (v >> 4) > 9)
		return false;
	*out = (v >> 4) * 10 + (v & 0x0f);
	return *out >= min && *out <= max;
}

static int64_t rtc_chip_ns(const struct i2c_rtc *rtc, int64_t now_ns)
{
	return rtc->halted ? rtc->halted_ns : now_ns + rtc->offset_ns;
}

/* Weekday of a time in 0-6, counted from the epoch's (a Thursday). */
static int rtc_weekday0(int64_t secs)
{
	return (int)floor_mod(floor_div(secs, SECS_PER_DAY), 7);
}

static uint8_t rtc_hours_reg(const struct i2c_rtc *rtc, int hour)
{
	int h12 = hour % 12 ? hour % 12 : 12;

	if (!rtc->hour12)
		return bin2bcd(hour);
	return I2C_RTC_12H | (hour >= 12 ? I2C_RTC_PM : 0) | bin2bcd(h12);
}

/* Registers 0x00-0x06 at host time now_ns: the START snapshot. */
static void rtc_time_regs(const struct i2c_rtc *rtc, int64_t now_ns,
			  uint8_t *regs)
{
	int64_t secs = floor_div(rtc_chip_ns(rtc, now_ns), NSEC_PER_SEC);
	time_t t = (time_t)secs;
	struct tm tm;

	gmtime_r(&t, &tm);
	regs[0] = bin2bcd(tm.tm_sec) | (rtc->halted ? I2C_RTC_CH : 0);
	regs[1] = bin2bcd(tm.tm_min);
	regs[2] = rtc_hours_reg(rtc, tm.tm_hour);
	regs[3] = (uint8_t)((rtc_weekday0(secs) + rtc->dow_delta) % 7 + 1);
	regs[4] = bin2bcd(tm.tm_mday);
	regs[5] = bin2bcd(tm.tm_mon + 1);
	/* Two digits: the chip's century is implicit. */
	regs[6] = bin2bcd((int)floor_mod(tm.tm_year + 1900 - 2000, 100));
}

void i2c_rtc_init(struct i2c_rtc *rtc)
{
	/* Offset 0: the host's time; weekday 1 is Sunday, as Linux writes. */
	*rtc = (struct i2c_rtc){ .dow_delta = EPOCH_WDAY };
}

static void rtc_next(struct i2c_rtc *rtc)
{
	rtc->ptr = (rtc->ptr + 1) % I2C_RTC_NR_REGS;
}

static uint8_t rtc_reg(const struct i2c_rtc *rtc, const uint8_t *time,
		       uint8_t reg)
{
	if (reg < I2C_RTC_NR_TIME)
		return time[reg];
	if (reg == I2C_RTC_REG_CONTROL)
		return rtc->control;
	return rtc->nvram[reg - I2C_RTC_NVRAM];
}

void i2c_rtc_read(struct i2c_rtc *rtc, int64_t now_ns, uint8_t *buf,
		  size_t len)
{
	uint8_t time[I2C_RTC_NR_TIME];
	size_t i;

	rtc_time_regs(rtc, now_ns, time);
	for (i = 0; i < len; i++) {
		buf[i] = rtc_reg(rtc, time, rtc->ptr);
		rtc_next(rtc);
	}
}

static int rtc_days_in_month(int mon, int year)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31 };

	/* The chip's rule, right for 2000-2099. */
	return mon == 2 && year % 4 == 0 ? 29 : days[mon - 1];
}

static bool rtc_decode_hours(uint8_t v, struct rtc_fields *f)
{
	int h;

	f->hour12 = v & I2C_RTC_12H;
	if (!f->hour12)
		return bcd_get(v & 0x3f, 0, 23, &f->hour);
	if (!bcd_get(v & 0x1f, 1, 12, &h))
		return false;
	f->hour = h % 12 + (v & I2C_RTC_PM ? 12 : 0);
	return true;
}

/* Decode and check registers 0x00-0x06; unused bits are ignored. */
static bool rtc_decode(const uint8_t *r, struct rtc_fields *f)
{
	f->halt = r[0] & I2C_RTC_CH;
	return bcd_get(r[0] & 0x7f, 0, 59, &f->sec) &&
	       bcd_get(r[1] & 0x7f, 0, 59, &f->min) &&
	       rtc_decode_hours(r[2] & 0x7f, f) &&
	       bcd_get(r[3] & 0x07, 1, 7, &f->dow) &&
	       bcd_get(r[5] & 0x1f, 1, 12, &f->mon) &&
	       bcd_get(r[6], 0, 99, &f->year) &&
	       bcd_get(r[4] & 0x3f, 1, rtc_days_in_month(f->mon, f->year),
		       &f->mday);
}

/*
 * Registers 0x00-0x06 were written: set the clock from them. The current
 * fraction of a second is kept unless the seconds register was written,
 * which on the chip resets the divider chain.
 */
static bool rtc_set_time(struct i2c_rtc *rtc, int64_t now_ns,
			 const uint8_t *regs, bool secs_written)
{
	int64_t frac = floor_mod(rtc_chip_ns(rtc, now_ns), NSEC_PER_SEC);
	struct rtc_fields f;
	struct tm tm = { 0 };
	int64_t secs;

	if (!rtc_decode(regs, &f)) {
		rtc->illegal_writes++;
		return false;
	}
	tm.tm_year = 100 + f.year;
	tm.tm_mon = f.mon - 1;
	tm.tm_mday = f.mday;
	tm.tm_hour = f.hour;
	tm.tm_min = f.min;
	tm.tm_sec = f.sec;
	secs = timegm(&tm);
	rtc->hour12 = f.hour12;
	rtc->dow_delta = (uint8_t)floor_mod(f.dow - 1 - rtc_weekday0(secs), 7);
	rtc->halted = f.halt;
	if (secs_written)
		frac = 0;
	if (rtc->halted)
		rtc->halted_ns = secs * NSEC_PER_SEC + frac;
	else
		rtc->offset_ns = secs * NSEC_PER_SEC + frac - now_ns;
	return true;
}

bool i2c_rtc_write(struct i2c_rtc *rtc, int64_t now_ns, const uint8_t *buf,
		   size_t len)
{
	uint8_t time[I2C_RTC_NR_TIME];
	bool touched = false, secs = false;
	uint8_t reg;
	size_t i;

	if (!len)
		return true;
	rtc_time_regs(rtc, now_ns, time);
	/* The word address: 6 bits on this chip, the rest is ignored. */
	rtc->ptr = buf[0] % I2C_RTC_NR_REGS;
	for (i = 1; i < len; i++) {
		reg = rtc->ptr;
		if (reg < I2C_RTC_NR_TIME) {
			time[reg] = buf[i];
			touched = true;
			secs |= reg == 0;
		} else if (reg == I2C_RTC_REG_CONTROL) {
			rtc->control = buf[i] & I2C_RTC_CONTROL_MASK;
		} else {
			rtc->nvram[reg - I2C_RTC_NVRAM] = buf[i];
		}
		rtc_next(rtc);
	}
	return !touched || rtc_set_time(rtc, now_ns, time, secs);
}
