// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-i2c model (backend/dev-i2c.c) and its emulated DS1307
 * (backend/i2c-rtc.c), driven through the unit-test bus by the test driver:
 * spec errors, the RTC's registers, pointer auto-increment and wraparound,
 * setting and reading back the time, FAIL_NEXT transfers, zero-length
 * requests, unknown addresses, bad headers and malformed chains. The RTC's
 * clock arithmetic (rollovers, halting, the divider reset, 12-hour mode)
 * is tested on i2c-rtc.c directly with a clock the test moves.
 *
 * The host adapter is played by the test at the system-call level: a
 * seccomp filter hands the I2C_FUNCS and I2C_RDWR ioctls of the test's
 * thread to a supervisor thread (SECCOMP_RET_USER_NOTIF), which, while
 * `fake.armed`, answers them for /dev/null (an EEPROM-like target at each
 * present address, injected errors) and lets the kernel answer everything
 * else. Disarmed, /dev/null is what it is, and the model must refuse it as
 * an adapter. (Symbol interposition is not an option: the test library's
 * fakeevdev.c already overrides ioctl() for the whole binary.)
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <linux/seccomp.h>
#include <linux/virtio_config.h>
#include <linux/virtio_i2c.h>
#include <linux/virtio_ids.h>

#include "bus.h"
#include "i2c-rtc.h"
#include "loop.h"
#include "../lib/testbus.h"
#include "../lib/testdrv.h"

#define REGION_SIZE	(4 * 1024 * 1024)
#define TIMEOUT_MS	2000
#define POISON		0x3c
#define RTC		0x68
#define NOBODY		0x69
#define EEPROM		0x50
#define NSEC		1000000000LL
#define FN		VIRTIO_I2C_FLAGS_FAIL_NEXT
#define RD		VIRTIO_I2C_FLAGS_M_RD
#define ZLR		(1ULL << VIRTIO_I2C_F_ZERO_LENGTH_REQUEST)
#define ADAPTER_SPEC	"i2c,rtc=0x68,adapter=/dev/null,allow=0x50:0x51"

/* --- the fake host adapter ------------------------------------------------ */

static struct {
	bool armed;
	unsigned long funcs;
	int err;			/* I2C_RDWR fails with it while set */
	unsigned int partial;		/* >0: I2C_RDWR stops after this many */
	unsigned int calls;		/* I2C_RDWR calls */
	unsigned int nmsgs;		/* ... and the last one's messages */
	struct i2c_msg msgs[I2C_RDWR_IOCTL_MAX_MSGS];
	bool present[128];
	uint8_t mem[128][256];		/* per address: 256 bytes, a pointer */
	uint8_t ptr[128];
} fake;

static int fake_install(void);

/* Answer for /dev/null as an adapter with one EEPROM, at EEPROM. */
static void fake_arm(void)
{
	int ret = fake_install();

	if (ret)
		fail_msg("the fake adapter needs seccomp user notification: %s",
			 strerror(-ret));
	memset(&fake, 0, sizeof(fake));
	fake.armed = true;
	fake.funcs = I2C_FUNC_I2C | I2C_FUNC_SMBUS_EMUL;
	fake.present[EEPROM] = true;
}

static bool fake_fd(int fd)
{
	struct stat st;

	return fake.armed && !fstat(fd, &st) && S_ISCHR(st.st_mode) &&
	       st.st_rdev == makedev(1, 3);
}

/* One message to an EEPROM: a write sets the pointer, then stores. */
static void fake_msg(const struct i2c_msg *m)
{
	uint8_t *mem = fake.mem[m->addr], *ptr = &fake.ptr[m->addr];
	unsigned int i;

	for (i = 0; i < m->len; i++) {
		if (m->flags & I2C_M_RD)
			m->buf[i] = mem[(*ptr)++];
		else if (i == 0)
			*ptr = m->buf[0];
		else
			mem[(*ptr)++] = m->buf[i];
	}
}

static int fake_rdwr(const struct i2c_rdwr_ioctl_data *rd)
{
	unsigned int i;

	fake.calls++;
	fake.nmsgs = rd->nmsgs;
	memcpy(fake.msgs, rd->msgs, rd->nmsgs * sizeof(rd->msgs[0]));
	if (fake.err)
		return -fake.err;
	for (i = 0; i < rd->nmsgs; i++) {
		if (fake.partial && i == fake.partial)
			return (int)i;
		if (!fake.present[rd->msgs[i].addr & 0x7f])
			return -ENXIO;	/* no acknowledge */
		fake_msg(&rd->msgs[i]);
	}
	return (int)rd->nmsgs;
}

/*
 * One trapped ioctl(fd, req, arg) of the test's thread: the result, or
 * -errno. The caller is blocked in the kernel meanwhile and shares our
 * memory and file descriptors, so arg is read and fd used directly; what is
 * not the armed fake gets the kernel's own answer.
 */
static long fake_ioctl(int fd, unsigned long req, void *arg)
{
	long ret;

	if (!fake_fd(fd)) {
		ret = syscall(SYS_ioctl, fd, req, arg);
		return ret < 0 ? -errno : ret;
	}
	if (req == I2C_FUNCS) {
		*(unsigned long *)arg = fake.funcs;
		return 0;
	}
	return fake_rdwr(arg);
}

/*
 * The supervisor: gets the listener from the pipe once the filter exists,
 * then answers every trapped ioctl, for the life of the test program.
 */
static void *fake_supervisor(void *opaque)
{
	int pipe_rd = (int)(intptr_t)opaque, nfd;
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	long ret;

	if (read(pipe_rd, &nfd, sizeof(nfd)) != sizeof(nfd))
		return NULL;
	close(pipe_rd);
	for (;;) {
		memset(&req, 0, sizeof(req));
		if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_RECV, &req)) {
			if (errno == EINTR || errno == ENOENT)
				continue;
			return NULL;
		}
		ret = fake_ioctl((int)req.data.args[0], req.data.args[1],
				 (void *)(uintptr_t)req.data.args[2]);
		resp = (struct seccomp_notif_resp){
			.id = req.id,
			.val = ret < 0 ? 0 : ret,
			.error = ret < 0 ? (int)ret : 0,
		};
		ioctl(nfd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
	}
}

#if defined(__x86_64__)
#define FAKE_ARCH	AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define FAKE_ARCH	AUDIT_ARCH_AARCH64
#endif

/*
 * Trap the I2C_FUNCS and I2C_RDWR ioctls of this thread (the one running
 * the tests) into the supervisor. The supervisor's thread is created
 * before the filter, so its own ioctls (the kernel's answers for what is
 * not the fake) are not trapped. Once per process; 0 or -errno.
 */
static int fake_install(void)
{
	static struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FAKE_ARCH, 0, 8),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 6),
		/* the request: high half 0, low half one of ours */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, args[1]) + 4),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 4),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, args[1])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, I2C_FUNCS, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, I2C_RDWR, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	const struct sock_fprog prog = {
		.len = sizeof(code) / sizeof(code[0]),
		.filter = code,
	};
	static int nfd = -1;
	int p[2], ret;
	pthread_t th;

	if (nfd >= 0)
		return 0;
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	ret = pthread_create(&th, NULL, fake_supervisor,
			     (void *)(intptr_t)p[0]);
	if (ret || pthread_detach(th))
		return ret ? -ret : -EINVAL;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	nfd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			   SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (nfd < 0)
		return -errno;
	if (write(p[1], &nfd, sizeof(nfd)) != sizeof(nfd))
		return -EIO;
	close(p[1]);
	return 0;
}

/* --- fixture -------------------------------------------------------------- */

struct i2c_test {
	struct vmsg_testbus *tb;
	struct testdrv *d;
	int dev_num;
	bool indirect;		/* requests in indirect tables */
};

/* One request's buffers, kept to look at after it was used. */
struct req {
	uint64_t hdr, wbuf, rbuf, st;
	uint32_t rlen;
	int head;
};

static int add_dev(struct i2c_test *t, const char *spec)
{
	char err[VMSG_ERR_LEN] = "";

	t->dev_num = vmsg_bus_add_device(&t->tb->bus, spec, 0, err,
					 sizeof(err));
	if (t->dev_num <= 0) {
		fprintf(stderr, "%s: %s\n", spec, err);
		return -1;
	}
	t->d = testdrv_new(t->tb, (uint16_t)t->dev_num);
	return t->d ? 0 : -1;
}

static int setup_spec(void **state, const char *spec)
{
	struct i2c_test *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	t->tb = vmsg_testbus_new(REGION_SIZE, VIRTIO_MSG_DEFAULT_SIZE);
	if (!t->tb || add_dev(t, spec)) {
		if (t->tb)
			vmsg_testbus_free(t->tb);
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int setup(void **state)
{
	memset(&fake, 0, sizeof(fake));
	return setup_spec(state, "i2c,rtc=0x68");
}

static int setup_adapter(void **state)
{
	fake_arm();
	return setup_spec(state, ADAPTER_SPEC);
}

static int teardown(void **state)
{
	struct i2c_test *t = *state;

	testdrv_free(t->d);
	vmsg_testbus_free(t->tb);
	free(t);
	fake.armed = false;
	return 0;
}

/* --- requests ------------------------------------------------------------- */

static uint64_t buf_new(struct i2c_test *t, uint32_t len, uint8_t byte)
{
	uint64_t addr = testdrv_alloc_buf(t->d, len);

	assert_int_not_equal(addr, 0);
	memset(testdrv_buf(t->d, addr, len), byte, len);
	return addr;
}

static void *ptr(struct i2c_test *t, uint64_t addr, uint32_t len)
{
	return testdrv_buf(t->d, addr, len);
}

/* Queue one request (not kicked): header, write data, read buffer, status. */
static void req_add(struct i2c_test *t, struct req *r, uint16_t addr16,
		    uint32_t flags, const void *wdata, uint32_t wlen,
		    uint32_t rlen)
{
	struct virtio_i2c_out_hdr *h;
	struct testdrv_sg sg[4];
	unsigned int n_out = 0, n_in = 0;

	memset(r, 0, sizeof(*r));
	r->hdr = buf_new(t, sizeof(*h), 0);
	h = ptr(t, r->hdr, sizeof(*h));
	h->addr = htole16(addr16);
	h->flags = htole32(flags);
	sg[n_out++] = (struct testdrv_sg){ r->hdr, sizeof(*h) };
	if (wlen) {
		r->wbuf = buf_new(t, wlen, 0);
		memcpy(ptr(t, r->wbuf, wlen), wdata, wlen);
		sg[n_out++] = (struct testdrv_sg){ r->wbuf, wlen };
	}
	if (rlen) {
		r->rbuf = buf_new(t, rlen, POISON);
		sg[n_out + n_in++] = (struct testdrv_sg){ r->rbuf, rlen };
	}
	r->st = buf_new(t, 1, POISON);
	sg[n_out + n_in++] = (struct testdrv_sg){ r->st, 1 };
	r->rlen = rlen;
	r->head = testdrv_add(t->d, 0, sg, n_out, n_in, t->indirect);
	assert_true(r->head >= 0);
}

/* Wait for r to be used (in order) and return its status. */
static uint8_t req_wait(struct i2c_test *t, const struct req *r)
{
	uint32_t id, len;

	while (!testdrv_ring_has_used(&t->d->vqs[0]))
		assert_int_equal(testdrv_wait_used(t->d, 0, TIMEOUT_MS), 0);
	assert_int_equal(testdrv_get_used(t->d, 0, &id, &len), 1);
	assert_int_equal(id, (uint32_t)r->head);
	assert_int_equal(len, r->rlen + 1);
	return *(uint8_t *)ptr(t, r->st, 1);
}

static bool all_poison(struct i2c_test *t, const struct req *r)
{
	const uint8_t *p = ptr(t, r->rbuf, r->rlen);
	uint32_t i;

	for (i = 0; i < r->rlen; i++)
		if (p[i] != POISON)
			return false;
	return true;
}

/* One write as a whole transfer; its status. */
static uint8_t xwrite(struct i2c_test *t, uint8_t addr, const void *data,
		      uint32_t len)
{
	struct req r;

	req_add(t, &r, addr << 1, 0, data, len, 0);
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	return req_wait(t, &r);
}

/* One read as a whole transfer; its status, the data in out. */
static uint8_t xread(struct i2c_test *t, uint8_t addr, void *out,
		     uint32_t len)
{
	struct req r;
	uint8_t st;

	req_add(t, &r, addr << 1, RD, NULL, 0, len);
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	st = req_wait(t, &r);
	if (len)
		memcpy(out, ptr(t, r.rbuf, len), len);
	return st;
}

/* RTC registers [reg, reg + len): pointer write, repeated START, read. */
static void rtc_get(struct i2c_test *t, uint8_t reg, uint8_t *out,
		    uint32_t len)
{
	struct req w, r;

	req_add(t, &w, RTC << 1, FN, &reg, 1, 0);
	req_add(t, &r, RTC << 1, RD, NULL, 0, len);
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	assert_int_equal(req_wait(t, &w), VIRTIO_I2C_MSG_OK);
	assert_int_equal(req_wait(t, &r), VIRTIO_I2C_MSG_OK);
	memcpy(out, ptr(t, r.rbuf, len), len);
}

static void rtc_set(struct i2c_test *t, uint8_t reg, const uint8_t *data,
		    uint32_t len)
{
	uint8_t buf[80];

	assert_true(len < sizeof(buf));
	buf[0] = reg;
	memcpy(buf + 1, data, len);
	assert_int_equal(xwrite(t, RTC, buf, len + 1), VIRTIO_I2C_MSG_OK);
}

static void init_all(struct i2c_test *t)
{
	assert_int_equal(testdrv_init(t->d, TESTDRV_FEATURES_ALL, 0), 0);
}

static bool needs_reset(struct i2c_test *t)
{
	uint32_t status;

	assert_int_equal(testdrv_get_status(t->d, &status), 0);
	return status & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* --- device basics -------------------------------------------------------- */

static void test_handshake(void **state)
{
	struct i2c_test *t = *state;

	init_all(t);
	assert_int_equal(t->d->device_id, VIRTIO_ID_I2C_ADAPTER);
	assert_int_equal(t->d->config_size, 0);
	assert_int_equal(t->d->max_vqs, 1);
	assert_true(t->d->device_features & ZLR);
	assert_true(t->d->driver_features & ZLR);
	assert_false(needs_reset(t));
}

/* Each bad spec fails with one line naming the option. */
static void expect_spec_error(struct i2c_test *t, const char *spec,
			      const char *what)
{
	char err[VMSG_ERR_LEN] = "";

	if (vmsg_bus_add_device(&t->tb->bus, spec, 0, err, sizeof(err)) > 0)
		fail_msg("'%s' was accepted", spec);
	if (!strstr(err, what))
		fail_msg("'%s': error '%s' does not mention '%s'", spec, err,
			 what);
	assert_null(strchr(err, '\n'));
}

static void test_spec_errors(void **state)
{
	static const char *const bad[][2] = {
		{ "i2c", "needs rtc=ADDR or adapter=PATH" },
		{ "i2c,rtc", "rtc=" },
		{ "i2c,rtc=0x07", "rtc=0x07: not an address in 0x08-0x77" },
		{ "i2c,rtc=0x78", "rtc=0x78" },
		{ "i2c,rtc=104x", "rtc=104x" },
		{ "i2c,rtc=-0x68", "rtc=-0x68" },
		{ "i2c,rtc=0x", "rtc=0x" },
		{ "i2c,rtc=0x68,bogus=1", "bogus" },
		{ "i2c,allow=0x50", "allow= needs adapter=PATH" },
		{ "i2c,adapter", "adapter needs a value: adapter=PATH" },
		{ "i2c,adapter=/dev/null", "/dev/null: missing allow=" },
		{ "i2c,adapter=/nonexistent,allow=0x50",
		  "adapter=/nonexistent: No such file" },
		{ "i2c,adapter=/dev/null,allow=0x50",
		  "adapter=/dev/null: not an i2c-dev adapter" },
		{ "i2c,adapter=/dev/null,allow=0x50:0x5g", "'0x5g'" },
		{ "i2c,adapter=/dev/null,allow=0x50::0x51", "0x50::0x51: ''" },
		{ "i2c,adapter=/dev/null,allow=0x50:", "allow=0x50:" },
		{ "i2c,adapter=/dev/null,allow=0x7f", "'0x7f' is not an" },
	};
	struct i2c_test *t = *state;
	char path[] = "/tmp/vmsg-i2c-XXXXXX", spec[96];
	unsigned int i;
	int fd;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_spec_error(t, bad[i][0], bad[i][1]);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	snprintf(spec, sizeof(spec), "i2c,adapter=%s,allow=0x50", path);
	expect_spec_error(t, spec, "not a character device");
	unlink(path);
	/* With the fake adapter: SMBus only, and an address used twice. */
	fake_arm();
	fake.funcs = I2C_FUNC_SMBUS_EMUL;
	expect_spec_error(t, "i2c,adapter=/dev/null,allow=0x50", "SMBus only");
	fake.funcs = I2C_FUNC_I2C;
	expect_spec_error(t, "i2c,rtc=0x50,adapter=/dev/null,allow=0x51:0x50",
			  "rtc=0x50: also in allow=");
	fake.armed = false;
}

static void test_spec_good(void **state)
{
	struct i2c_test *t = *state;
	char err[VMSG_ERR_LEN] = "";

	assert_true(vmsg_bus_add_device(&t->tb->bus, "i2c,rtc=104", 0, err,
					sizeof(err)) > 0);
	fake_arm();
	assert_true(vmsg_bus_add_device(&t->tb->bus,
					"i2c,adapter=/dev/null,allow=0x08:0x77",
					0, err, sizeof(err)) > 0);
	fake.armed = false;
}

/* --- the RTC through the device ------------------------------------------- */

static int bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0x0f);
}

static bool is_bcd(uint8_t v)
{
	return (v & 0x0f) <= 9 && (v >> 4) <= 9;
}

/* The time in registers 0x00-0x06 (24-hour mode), as seconds. */
static time_t regs_time(const uint8_t *r)
{
	struct tm tm = {
		.tm_sec = bcd(r[0] & 0x7f),
		.tm_min = bcd(r[1]),
		.tm_hour = bcd(r[2] & 0x3f),
		.tm_mday = bcd(r[4]),
		.tm_mon = bcd(r[5]) - 1,
		.tm_year = 100 + bcd(r[6]),
	};
	unsigned int i;

	for (i = 0; i < 7; i++)
		assert_true(is_bcd(r[i] & 0x7f));
	return timegm(&tm);
}

/* At power-on the RTC runs at the host's UTC time, 24-hour mode. */
static void test_rtc_host_time(void **state)
{
	struct i2c_test *t = *state;
	uint8_t r[8];
	time_t now;
	struct tm tm;

	init_all(t);
	now = time(NULL);
	rtc_get(t, 0, r, sizeof(r));
	assert_false(r[0] & I2C_RTC_CH);
	assert_false(r[2] & I2C_RTC_12H);
	assert_true(llabs((long long)(regs_time(r) - now)) <= 2);
	/* Day of week 1-7, Sunday = 1, as Linux's rtc-ds1307 writes it. */
	now = regs_time(r);
	gmtime_r(&now, &tm);
	assert_int_equal(r[3], tm.tm_wday + 1);
	assert_int_equal(r[7], 0);
}

static void test_rtc_nvram(void **state)
{
	struct i2c_test *t = *state;
	uint8_t pat[I2C_RTC_NVRAM_SIZE], got[I2C_RTC_NVRAM_SIZE];
	unsigned int i;

	init_all(t);
	rtc_get(t, I2C_RTC_NVRAM, got, sizeof(got));
	for (i = 0; i < sizeof(got); i++)
		assert_int_equal(got[i], 0);
	for (i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(0xa0 + i * 3);
	rtc_set(t, I2C_RTC_NVRAM, pat, sizeof(pat));
	rtc_get(t, I2C_RTC_NVRAM, got, sizeof(got));
	assert_memory_equal(got, pat, sizeof(pat));
	/* One byte in the middle, the rest untouched. */
	pat[10] = 0x5a;
	rtc_set(t, I2C_RTC_NVRAM + 10, &pat[10], 1);
	rtc_get(t, I2C_RTC_NVRAM, got, sizeof(got));
	assert_memory_equal(got, pat, sizeof(pat));
	/* Control: only OUT, SQWE, RS1 and RS0 exist. */
	rtc_set(t, I2C_RTC_REG_CONTROL, (const uint8_t[]){ 0xff }, 1);
	rtc_get(t, I2C_RTC_REG_CONTROL, got, 1);
	assert_int_equal(got[0], I2C_RTC_CONTROL_MASK);
}

/* The pointer moves on after every byte, across messages, and wraps. */
static void test_rtc_auto_increment(void **state)
{
	struct i2c_test *t = *state;
	uint8_t b[4], got[6];

	init_all(t);
	rtc_set(t, 0x3c, (const uint8_t[]){ 0x11, 0x22, 0x33, 0x44 }, 4);
	rtc_get(t, 0x3c, got, 2);
	assert_int_equal(got[0], 0x11);
	assert_int_equal(got[1], 0x22);
	/* A read without a pointer write goes on from there... */
	assert_int_equal(xread(t, RTC, b, 2), VIRTIO_I2C_MSG_OK);
	assert_int_equal(b[0], 0x33);
	assert_int_equal(b[1], 0x44);
	/* ... wrapping from 0x3F to the seconds register. */
	rtc_get(t, 0x3e, got, 6);
	assert_int_equal(got[0], 0x33);
	assert_int_equal(got[1], 0x44);
	assert_true(is_bcd(got[2]) && bcd(got[2]) < 60);
	assert_true(is_bcd(got[3]) && bcd(got[3]) < 60);
	/* A write wraps too: 0x3F, then the seconds (restarting them). */
	rtc_set(t, 0x3f, (const uint8_t[]){ 0x99, 0x30 }, 2);
	rtc_get(t, 0x3f, got, 2);
	assert_int_equal(got[0], 0x99);
	assert_in_range(got[1], 0x30, 0x39);
	/* The pointer byte is 6 bits wide: 0x48 is 0x08. */
	rtc_set(t, 0x48, (const uint8_t[]){ 0x77 }, 1);
	rtc_get(t, I2C_RTC_NVRAM, got, 1);
	assert_int_equal(got[0], 0x77);
}

static void test_rtc_set_time(void **state)
{
	/* 2024-06-15 12:34:56, a Saturday (7) */
	static const uint8_t set[7] = { 0x56, 0x34, 0x12, 0x07, 0x15, 0x06,
					0x24 };
	struct i2c_test *t = *state;
	uint8_t got[7];

	init_all(t);
	rtc_set(t, 0, set, sizeof(set));
	rtc_get(t, 0, got, sizeof(got));
	assert_memory_equal(got + 1, set + 1, 6);
	/* A slow (sanitized, loaded) run may take a few seconds. */
	assert_in_range(got[0], 0x56, 0x59);
	/* 12-hour mode: 12 h is 12 PM, written and read as such. */
	rtc_set(t, 2, (const uint8_t[]){ I2C_RTC_12H | I2C_RTC_PM | 0x12 }, 1);
	rtc_get(t, 2, got, 1);
	assert_int_equal(got[0], I2C_RTC_12H | I2C_RTC_PM | 0x12);
	/* Back to 24-hour mode at 0 h. */
	rtc_set(t, 2, (const uint8_t[]){ 0x00 }, 1);
	rtc_get(t, 2, got, 1);
	assert_int_equal(got[0], 0x00);
	/* Halted: CH reads back and the time stands still. */
	rtc_set(t, 0, (const uint8_t[]){ I2C_RTC_CH | 0x10 }, 1);
	rtc_get(t, 0, got, 1);
	assert_int_equal(got[0], I2C_RTC_CH | 0x10);
	/* An illegal date is ignored: June 31. */
	rtc_set(t, 4, (const uint8_t[]){ 0x31 }, 1);
	rtc_get(t, 0, got, 7);
	assert_int_equal(got[4], 0x15);
	assert_int_equal(got[0], I2C_RTC_CH | 0x10);
	assert_false(needs_reset(t));
}

/* The RTC is a target on the bus: a device reset keeps its state. */
static void test_rtc_survives_reset(void **state)
{
	struct i2c_test *t = *state;
	uint8_t got;

	init_all(t);
	rtc_set(t, 0x20, (const uint8_t[]){ 0xee }, 1);
	assert_int_equal(testdrv_reset(t->d), 0);
	init_all(t);
	rtc_get(t, 0x20, &got, 1);
	assert_int_equal(got, 0xee);
}

/* --- request handling ----------------------------------------------------- */

/* A failing request with FAIL_NEXT fails the rest of its transfer only. */
static void test_fail_next(void **state)
{
	struct i2c_test *t = *state;
	uint8_t wr[2] = { 0x08, 0x11 }, got;
	struct req r[4];

	init_all(t);
	req_add(t, &r[0], NOBODY << 1, FN, wr, 1, 0);
	req_add(t, &r[1], RTC << 1, FN, wr, 2, 0);
	req_add(t, &r[2], RTC << 1, RD, NULL, 0, 4);
	/* A new transfer: unaffected. */
	req_add(t, &r[3], RTC << 1, RD, NULL, 0, 4);
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	assert_int_equal(req_wait(t, &r[0]), VIRTIO_I2C_MSG_ERR);
	assert_int_equal(req_wait(t, &r[1]), VIRTIO_I2C_MSG_ERR);
	assert_int_equal(req_wait(t, &r[2]), VIRTIO_I2C_MSG_ERR);
	assert_true(all_poison(t, &r[2]));
	assert_int_equal(req_wait(t, &r[3]), VIRTIO_I2C_MSG_OK);
	assert_false(all_poison(t, &r[3]));
	/* The write of the failed transfer was not done. */
	rtc_get(t, 0x08, &got, 1);
	assert_int_equal(got, 0);
	/* Without FAIL_NEXT a failure stays alone. */
	req_add(t, &r[0], NOBODY << 1, 0, wr, 1, 0);
	req_add(t, &r[1], RTC << 1, 0, wr, 2, 0);
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	assert_int_equal(req_wait(t, &r[0]), VIRTIO_I2C_MSG_ERR);
	assert_int_equal(req_wait(t, &r[1]), VIRTIO_I2C_MSG_OK);
	rtc_get(t, 0x08, &got, 1);
	assert_int_equal(got, 0x11);
}

/*
 * Transfers longer than one batch filling the ring: the failure of the
 * first request reaches the last, past batch flushes. A transfer the
 * driver left open at the end of the ring is held over the per-kick budget
 * and runs on the loop's next turn.
 */
static void test_fail_next_long(void **state)
{
	static const struct {
		uint8_t first;
		bool open;
		uint8_t st;
	} rounds[] = {
		{ NOBODY, false, VIRTIO_I2C_MSG_ERR },
		{ RTC, false, VIRTIO_I2C_MSG_OK },
		{ RTC, true, VIRTIO_I2C_MSG_OK },
	};
	struct i2c_test *t = *state;
	unsigned int n, i, k;
	struct req r[64];
	uint32_t fl;

	init_all(t);
	n = t->d->vqs[0].size;
	assert_true(n <= 64 && n > I2C_RDWR_IOCTL_MAX_MSGS);
	t->indirect = true;	/* a ring full of chains of three */
	for (k = 0; k < 3; k++) {
		req_add(t, &r[0], rounds[k].first << 1, FN | RD, NULL, 0, 1);
		for (i = 1; i < n; i++) {
			fl = i < n - 1 || rounds[k].open ? FN : 0;
			req_add(t, &r[i], RTC << 1, fl | RD, NULL, 0, 1);
		}
		assert_int_equal(testdrv_kick(t->d, 0), 0);
		for (i = 0; i < n; i++)
			assert_int_equal(req_wait(t, &r[i]), rounds[k].st);
	}
	assert_false(needs_reset(t));
}

static void test_zero_length(void **state)
{
	struct i2c_test *t = *state;
	uint8_t b;

	init_all(t);
	assert_int_equal(xwrite(t, RTC, NULL, 0), VIRTIO_I2C_MSG_OK);
	assert_int_equal(xread(t, RTC, NULL, 0), VIRTIO_I2C_MSG_OK);
	assert_int_equal(xwrite(t, NOBODY, NULL, 0), VIRTIO_I2C_MSG_ERR);
	/* Not negotiated: refused, and the rest still works. */
	assert_int_equal(testdrv_reset(t->d), 0);
	assert_int_equal(testdrv_init(t->d, ~ZLR, 0), 0);
	assert_false(t->d->driver_features & ZLR);
	assert_int_equal(xwrite(t, RTC, NULL, 0), VIRTIO_I2C_MSG_ERR);
	assert_int_equal(xread(t, RTC, NULL, 0), VIRTIO_I2C_MSG_ERR);
	assert_int_equal(xread(t, RTC, &b, 1), VIRTIO_I2C_MSG_OK);
	assert_false(needs_reset(t));
}

/* Addresses nobody answers and headers we cannot do: ERR, nothing read. */
static void test_bad_requests(void **state)
{
	static const struct {
		uint16_t addr16;
		uint32_t flags;
		uint16_t padding;
	} bad[] = {
		{ NOBODY << 1, RD, 0 },
		{ 0x00, RD, 0 },
		{ RTC << 1 | 1, RD, 0 },	/* low bit set */
		{ 0x1d0, RD, 0 },		/* not 7-bit */
		{ RTC << 1, RD | 4, 0 },	/* reserved flag */
		{ RTC << 1, RD | 0x80000000, 0 },
		{ RTC << 1, RD, 1 },		/* padding */
	};
	struct i2c_test *t = *state;
	struct virtio_i2c_out_hdr *h;
	struct req r;
	unsigned int i;

	init_all(t);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req_add(t, &r, bad[i].addr16, bad[i].flags, NULL, 0, 8);
		h = ptr(t, r.hdr, sizeof(*h));
		h->padding = htole16(bad[i].padding);
		assert_int_equal(testdrv_kick(t->d, 0), 0);
		assert_int_equal(req_wait(t, &r), VIRTIO_I2C_MSG_ERR);
		assert_true(all_poison(t, &r));
	}
	/* Longer than 8 KiB. */
	req_add(t, &r, RTC << 1, RD, NULL, 0, 8193);
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	assert_int_equal(req_wait(t, &r), VIRTIO_I2C_MSG_ERR);
	assert_true(all_poison(t, &r));
	req_add(t, &r, RTC << 1, RD, NULL, 0, 8192);
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	assert_int_equal(req_wait(t, &r), VIRTIO_I2C_MSG_OK);
	assert_false(needs_reset(t));
}

/* Header and data split over several descriptors are fine. */
static void test_split_buffers(void **state)
{
	struct i2c_test *t = *state;
	struct virtio_i2c_out_hdr h = { htole16(RTC << 1), 0, htole32(RD) };
	uint8_t reg = 0x08, pat[3] = { 1, 2, 3 };
	uint64_t hb, d1, d2, st;
	struct testdrv_sg sg[5];
	uint32_t id, len;
	int head;

	init_all(t);
	rtc_set(t, reg, pat, 3);
	/* The pointer back to 0x08, then one read in five pieces. */
	assert_int_equal(xwrite(t, RTC, &reg, 1), VIRTIO_I2C_MSG_OK);
	hb = buf_new(t, sizeof(h), 0);
	memcpy(ptr(t, hb, sizeof(h)), &h, sizeof(h));
	d1 = buf_new(t, 2, POISON);
	d2 = buf_new(t, 1, POISON);
	st = buf_new(t, 1, POISON);
	sg[0] = (struct testdrv_sg){ hb, 3 };
	sg[1] = (struct testdrv_sg){ hb + 3, sizeof(h) - 3 };
	sg[2] = (struct testdrv_sg){ d1, 2 };
	sg[3] = (struct testdrv_sg){ d2, 1 };
	sg[4] = (struct testdrv_sg){ st, 1 };
	head = testdrv_add(t->d, 0, sg, 2, 3, false);
	assert_true(head >= 0);
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	assert_int_equal(testdrv_wait_used(t->d, 0, TIMEOUT_MS), 0);
	assert_int_equal(testdrv_get_used(t->d, 0, &id, &len), 1);
	assert_int_equal(id, (uint32_t)head);
	assert_int_equal(len, 4);
	assert_int_equal(*(uint8_t *)ptr(t, st, 1), VIRTIO_I2C_MSG_OK);
	assert_memory_equal(ptr(t, d1, 2), pat, 2);
	assert_int_equal(*(uint8_t *)ptr(t, d2, 1), 3);
}

/* Malformed chains fail the device; a reset revives it. */
static void hostile_chain(struct i2c_test *t, unsigned int kind)
{
	struct virtio_i2c_out_hdr h = { htole16(RTC << 1), 0, 0 };
	uint64_t hb = buf_new(t, 64, 0), b = buf_new(t, 64, 0);
	struct testdrv_sg sg[3] = { { hb, sizeof(h) }, { b, 4 }, { b + 8, 1 } };
	unsigned int n_out = 1, n_in = 1;
	uint8_t got;

	if (kind == 0) {		/* no status */
		sg[1] = sg[2];
		n_in = 0;
		n_out = 2;
	} else if (kind == 1) {		/* header too short */
		sg[0].len = sizeof(h) - 1;
		sg[1] = sg[2];
	} else if (kind == 2) {		/* read with readable data */
		h.flags = htole32(RD);
		n_out = 2;
	} else if (kind == 3) {		/* write with writable data */
		n_in = 2;
	} else {			/* nothing readable at all */
		sg[0] = sg[1];
		n_out = 0;
		n_in = 2;
	}
	memcpy(ptr(t, hb, sizeof(h)), &h, sizeof(h));
	assert_true(testdrv_add(t->d, 0, sg, n_out, n_in, false) >= 0);
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	if (testdrv_wait_needs_reset(t->d, TIMEOUT_MS))
		fail_msg("malformed chain %u: no NEEDS_RESET", kind);
	assert_true(needs_reset(t));
	assert_int_equal(testdrv_reset(t->d), 0);
	init_all(t);
	assert_int_equal(xread(t, RTC, &got, 1), VIRTIO_I2C_MSG_OK);
}

static void test_hostile_chains(void **state)
{
	struct i2c_test *t = *state;
	unsigned int kind;

	init_all(t);
	for (kind = 0; kind < 5; kind++)
		hostile_chain(t, kind);
}

/* --- the host adapter (fake) ---------------------------------------------- */

/* A pointer write and a read with repeated START: one I2C_RDWR. */
static void test_adapter_transfer(void **state)
{
	struct i2c_test *t = *state;
	uint8_t wr[4] = { 0x10, 0xde, 0xad, 0xbe }, reg = 0x10;
	struct req w, r;

	init_all(t);
	assert_int_equal(xwrite(t, EEPROM, wr, 4), VIRTIO_I2C_MSG_OK);
	assert_int_equal(fake.calls, 1);
	assert_int_equal(fake.nmsgs, 1);
	assert_int_equal(fake.mem[EEPROM][0x11], 0xad);
	req_add(t, &w, EEPROM << 1, FN, &reg, 1, 0);
	req_add(t, &r, EEPROM << 1, RD, NULL, 0, 3);
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	assert_int_equal(req_wait(t, &w), VIRTIO_I2C_MSG_OK);
	assert_int_equal(req_wait(t, &r), VIRTIO_I2C_MSG_OK);
	assert_memory_equal(ptr(t, r.rbuf, 3), wr + 1, 3);
	assert_int_equal(fake.calls, 2);
	assert_int_equal(fake.nmsgs, 2);
	assert_int_equal(fake.msgs[0].addr, EEPROM);
	assert_int_equal(fake.msgs[0].flags, 0);
	assert_int_equal(fake.msgs[0].len, 1);
	assert_int_equal(fake.msgs[1].flags, I2C_M_RD);
	assert_int_equal(fake.msgs[1].len, 3);
	/* Zero-length (a probe) goes to the host as it is. */
	assert_int_equal(xwrite(t, EEPROM, NULL, 0), VIRTIO_I2C_MSG_OK);
	assert_int_equal(fake.msgs[0].len, 0);
}

/* Not allowed: NAK without asking the host. No acknowledge: NAK. */
static void test_adapter_allow_list(void **state)
{
	struct i2c_test *t = *state;
	uint8_t b[2];

	init_all(t);
	fake.present[0x52] = true;
	assert_int_equal(xread(t, 0x52, b, 2), VIRTIO_I2C_MSG_ERR);
	assert_int_equal(fake.calls, 0);
	/* 0x51 is allowed, nobody is there: the host says ENXIO. */
	assert_int_equal(xread(t, 0x51, b, 2), VIRTIO_I2C_MSG_ERR);
	assert_int_equal(fake.calls, 1);
	assert_false(needs_reset(t));
	/* The RTC answers its own address, never the host's. */
	assert_int_equal(xread(t, RTC, b, 2), VIRTIO_I2C_MSG_OK);
	assert_int_equal(fake.calls, 1);
	assert_int_equal(xread(t, EEPROM, b, 2), VIRTIO_I2C_MSG_OK);
	assert_int_equal(fake.calls, 2);
}

/* The host did part of a transfer: the rest fails. Host errors: ERR. */
static void test_adapter_errors(void **state)
{
	struct i2c_test *t = *state;
	uint8_t reg = 0;
	struct req r[3];

	init_all(t);
	fake.partial = 1;
	req_add(t, &r[0], EEPROM << 1, FN, &reg, 1, 0);
	req_add(t, &r[1], EEPROM << 1, FN | RD, NULL, 0, 2);
	req_add(t, &r[2], EEPROM << 1, RD, NULL, 0, 2);
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	assert_int_equal(req_wait(t, &r[0]), VIRTIO_I2C_MSG_OK);
	assert_int_equal(req_wait(t, &r[1]), VIRTIO_I2C_MSG_ERR);
	assert_int_equal(req_wait(t, &r[2]), VIRTIO_I2C_MSG_ERR);
	assert_true(all_poison(t, &r[1]));
	assert_int_equal(fake.nmsgs, 3);
	fake.partial = 0;
	fake.err = EIO;
	assert_int_equal(xread(t, EEPROM, &reg, 1), VIRTIO_I2C_MSG_ERR);
	fake.err = ETIMEDOUT;
	assert_int_equal(xread(t, EEPROM, &reg, 1), VIRTIO_I2C_MSG_ERR);
	fake.err = 0;
	assert_int_equal(xread(t, EEPROM, &reg, 1), VIRTIO_I2C_MSG_OK);
	assert_false(needs_reset(t));
	/* Mixed targets in one transfer: each does its part. */
	req_add(t, &r[0], RTC << 1, FN, (const uint8_t[]){ 0x08 }, 1, 0);
	req_add(t, &r[1], EEPROM << 1, FN | RD, NULL, 0, 1);
	req_add(t, &r[2], RTC << 1, RD, NULL, 0, 1);
	assert_int_equal(testdrv_kick(t->d, 0), 0);
	assert_int_equal(req_wait(t, &r[0]), VIRTIO_I2C_MSG_OK);
	assert_int_equal(req_wait(t, &r[1]), VIRTIO_I2C_MSG_OK);
	assert_int_equal(req_wait(t, &r[2]), VIRTIO_I2C_MSG_OK);
	assert_int_equal(*(uint8_t *)ptr(t, r[2].rbuf, 1), 0);
}

/*
 * Run fn with stderr going to a file; return what it printed and fn's
 * result in *ret. Nothing in between asserts, so stderr always comes back.
 */
static char *capture_stderr(int (*fn)(struct i2c_test *), struct i2c_test *t,
			    int *ret)
{
	char path[] = "/tmp/vmsg-i2c-log-XXXXXX";
	static char out[4096];
	int fd = mkstemp(path), saved;
	ssize_t n;

	assert_true(fd >= 0);
	unlink(path);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	*ret = fn(t);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	return out;
}

/* The adapter goes; 0 once the device reports NEEDS_RESET. */
static int vanish(struct i2c_test *t)
{
	struct req r;

	fake.err = ENODEV;
	req_add(t, &r, EEPROM << 1, RD, NULL, 0, 1);
	if (testdrv_kick(t->d, 0))
		return -EIO;
	return testdrv_wait_needs_reset(t->d, TIMEOUT_MS);
}

/*
 * The adapter disappears (ENODEV): NEEDS_RESET and a log line; another
 * device on the bus keeps working; after a reset the RTC works, the
 * adapter's addresses NAK and the host is never asked again.
 */
static void test_adapter_vanishes(void **state)
{
	struct i2c_test *t = *state;
	struct i2c_test other = { .tb = t->tb };
	unsigned int calls;
	const char *log;
	uint8_t b;
	int ret;

	init_all(t);
	assert_int_equal(add_dev(&other, "i2c,rtc=0x68"), 0);
	init_all(&other);
	log = capture_stderr(vanish, t, &ret);
	assert_int_equal(ret, 0);
	if (!strstr(log, "host adapter /dev/null vanished"))
		fail_msg("no log line about the adapter: '%s'", log);
	assert_true(needs_reset(t));
	assert_true(t->d->config_events >= 1);
	assert_int_equal(xread(&other, RTC, &b, 1), VIRTIO_I2C_MSG_OK);
	assert_false(needs_reset(&other));
	calls = fake.calls;
	assert_int_equal(testdrv_reset(t->d), 0);
	init_all(t);
	assert_int_equal(xread(t, RTC, &b, 1), VIRTIO_I2C_MSG_OK);
	assert_int_equal(xread(t, EEPROM, &b, 1), VIRTIO_I2C_MSG_ERR);
	assert_int_equal(fake.calls, calls);
	assert_false(needs_reset(t));
	testdrv_free(other.d);
}

/* --- the RTC's clock, with a clock of our own ----------------------------- */

#define T0	(1718454896LL * NSEC)	/* 2024-06-15 12:34:56 UTC */

static void regs_at(struct i2c_rtc *rtc, int64_t now, uint8_t *r)
{
	rtc->ptr = 0;
	i2c_rtc_read(rtc, now, r, 8);
}

static void set_at(struct i2c_rtc *rtc, int64_t now, const uint8_t *regs7)
{
	uint8_t buf[8] = { 0 };

	memcpy(buf + 1, regs7, 7);
	assert_true(i2c_rtc_write(rtc, now, buf, 8));
}

static void expect_regs(struct i2c_rtc *rtc, int64_t now, const uint8_t *r7)
{
	uint8_t got[8];

	regs_at(rtc, now, got);
	assert_memory_equal(got, r7, 7);
}

/* A time set, and the registers some seconds later. */
struct tick {
	uint8_t set[7];
	int64_t secs;
	uint8_t want[7];
};

static const struct tick ticks[] = {
	/* The hour, the minute and the second roll over. */
	{ { 0x59, 0x59, 0x12, 7, 0x15, 0x06, 0x24 }, 1,
	  { 0x00, 0x00, 0x13, 7, 0x15, 0x06, 0x24 } },
	/* 2099-12-31 23:59:59, then 2000-01-01: two digits of year. */
	{ { 0x59, 0x59, 0x23, 5, 0x31, 0x12, 0x99 }, 1,
	  { 0x00, 0x00, 0x00, 6, 0x01, 0x01, 0x00 } },
	/* Leap years: every fourth, 2000 included. */
	{ { 0x59, 0x59, 0x23, 4, 0x28, 0x02, 0x24 }, 1,
	  { 0x00, 0x00, 0x00, 5, 0x29, 0x02, 0x24 } },
	{ { 0x59, 0x59, 0x23, 4, 0x28, 0x02, 0x00 }, 1,
	  { 0x00, 0x00, 0x00, 5, 0x29, 0x02, 0x00 } },
	{ { 0x59, 0x59, 0x23, 4, 0x28, 0x02, 0x23 }, 1,
	  { 0x00, 0x00, 0x00, 5, 0x01, 0x03, 0x23 } },
	/* The day of week is the driver's to choose; it counts on, 7 to 1. */
	{ { 0x00, 0x00, 0x12, 7, 0x01, 0x01, 0x24 }, 86400,
	  { 0x00, 0x00, 0x12, 1, 0x02, 0x01, 0x24 } },
	{ { 0x00, 0x00, 0x12, 3, 0x01, 0x01, 0x24 }, 3 * 86400 + 61,
	  { 0x01, 0x01, 0x12, 6, 0x04, 0x01, 0x24 } },
};

static void test_clock_runs(void **state)
{
	/* 2024-06-15 12:34:56 is a Saturday: 7, with Sunday 1. */
	static const uint8_t t0[7] = { 0x56, 0x34, 0x12, 7, 0x15, 0x06, 0x24 };
	struct i2c_rtc rtc;
	unsigned int i;

	i2c_rtc_init(&rtc);
	/* Offset 0: the host's time. */
	expect_regs(&rtc, T0, t0);
	for (i = 0; i < sizeof(ticks) / sizeof(ticks[0]); i++) {
		set_at(&rtc, T0, ticks[i].set);
		expect_regs(&rtc, T0, ticks[i].set);
		expect_regs(&rtc, T0 + ticks[i].secs * NSEC, ticks[i].want);
	}
}

/* Writing the seconds restarts the second; other writes keep its phase. */
static void test_clock_divider(void **state)
{
	static const uint8_t t10[7] = { 0x10, 0x00, 0x00, 1, 0x01, 0x01, 0x24 };
	struct i2c_rtc rtc;
	uint8_t r[8];

	i2c_rtc_init(&rtc);
	set_at(&rtc, T0 + NSEC * 7 / 10, t10);
	regs_at(&rtc, T0 + NSEC * 7 / 10 + NSEC - 1, r);
	assert_int_equal(r[0], 0x10);
	regs_at(&rtc, T0 + NSEC * 7 / 10 + NSEC, r);
	assert_int_equal(r[0], 0x11);
	/* A write of the minutes alone at +0.5 s keeps the phase. */
	assert_true(i2c_rtc_write(&rtc, T0 + NSEC * 12 / 10,
				  (const uint8_t[]){ 1, 0x05 }, 2));
	regs_at(&rtc, T0 + NSEC * 17 / 10 - 1, r);
	assert_int_equal(r[0], 0x10);
	assert_int_equal(r[1], 0x05);
	regs_at(&rtc, T0 + NSEC * 17 / 10, r);
	assert_int_equal(r[0], 0x11);
}

static void test_clock_halt(void **state)
{
	static const uint8_t halt[7] = { I2C_RTC_CH | 0x30, 0x15, 0x08, 2,
					 0x10, 0x03, 0x25 };
	struct i2c_rtc rtc;
	uint8_t run[7];

	i2c_rtc_init(&rtc);
	set_at(&rtc, T0, halt);
	expect_regs(&rtc, T0 + 1000 * NSEC, halt);
	/* Clearing CH starts it from where it stood. */
	assert_true(i2c_rtc_write(&rtc, T0 + 2000 * NSEC,
				  (const uint8_t[]){ 0, 0x30 }, 2));
	memcpy(run, halt, 7);
	run[0] = 0x32;
	expect_regs(&rtc, T0 + 2002 * NSEC, run);
}

static void test_clock_12h(void **state)
{
	/* 2024-04-09 11:59:59 PM, a Tuesday, in 12-hour mode */
	static const uint8_t pm[7] = {
		0x59, 0x59, I2C_RTC_12H | I2C_RTC_PM | 0x11, 3, 0x09, 0x04,
		0x24
	};
	/* the hours register 1 s, 12 h 1 s and 13 h 1 s later */
	static const struct {
		int64_t secs;
		uint8_t hours;
	} later[] = {
		{ 1, I2C_RTC_12H | 0x12 },			/* 12 AM */
		{ 12 * 3600 + 1, I2C_RTC_12H | I2C_RTC_PM | 0x12 }, /* noon */
		{ 13 * 3600 + 1, I2C_RTC_12H | I2C_RTC_PM | 0x01 },
	};
	struct i2c_rtc rtc;
	unsigned int i;
	uint8_t r[8];

	i2c_rtc_init(&rtc);
	set_at(&rtc, T0, pm);
	expect_regs(&rtc, T0, pm);
	for (i = 0; i < 3; i++) {
		regs_at(&rtc, T0 + later[i].secs * NSEC, r);
		assert_int_equal(r[2], later[i].hours);
		assert_int_equal(r[4], 0x10);
		assert_int_equal(r[3], 4);
	}
}

static void test_clock_illegal(void **state)
{
	static const uint8_t bad[][7] = {
		{ 0x60, 0, 0, 1, 1, 1, 0 },		/* 60 s */
		{ 0, 0x5a, 0, 1, 1, 1, 0 },		/* not BCD */
		{ 0, 0, 0x24, 1, 1, 1, 0 },		/* 24 h */
		{ 0, 0, I2C_RTC_12H | 0x13, 1, 1, 1, 0 }, /* 13 in 12 h mode */
		{ 0, 0, I2C_RTC_12H | 0x00, 1, 1, 1, 0 }, /* 0 in 12 h mode */
		{ 0, 0, 0, 0, 1, 1, 0 },		/* day of week 0 */
		{ 0, 0, 0, 1, 0x29, 0x02, 0x23 },	/* 2023-02-29 */
		{ 0, 0, 0, 1, 0x31, 0x04, 0x23 },	/* April 31 */
		{ 0, 0, 0, 1, 0x00, 0x01, 0x23 },	/* day 0 */
		{ 0, 0, 0, 1, 0x01, 0x13, 0x23 },	/* month 13 */
		{ 0, 0, 0, 1, 0x01, 0x01, 0xa0 },	/* year not BCD */
	};
	struct i2c_rtc rtc;
	uint8_t before[8], buf[8] = { 0 };
	unsigned int i;

	i2c_rtc_init(&rtc);
	regs_at(&rtc, T0, before);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(buf + 1, bad[i], 7);
		assert_false(i2c_rtc_write(&rtc, T0, buf, 8));
		expect_regs(&rtc, T0, before);
	}
	assert_int_equal(rtc.illegal_writes, i);
	/* 2024-02-29 is fine. */
	memcpy(buf + 1, (const uint8_t[]){ 0, 0, 0, 5, 0x29, 0x02, 0x24 }, 7);
	assert_true(i2c_rtc_write(&rtc, T0, buf, 8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handshake, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_spec_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_spec_good, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rtc_host_time, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rtc_nvram, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rtc_auto_increment, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rtc_set_time, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rtc_survives_reset, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fail_next, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fail_next_long, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_zero_length, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_split_buffers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hostile_chains, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_adapter_transfer,
						setup_adapter, teardown),
		cmocka_unit_test_setup_teardown(test_adapter_allow_list,
						setup_adapter, teardown),
		cmocka_unit_test_setup_teardown(test_adapter_errors,
						setup_adapter, teardown),
		cmocka_unit_test_setup_teardown(test_adapter_vanishes,
						setup_adapter, teardown),
		cmocka_unit_test(test_clock_runs),
		cmocka_unit_test(test_clock_divider),
		cmocka_unit_test(test_clock_halt),
		cmocka_unit_test(test_clock_12h),
		cmocka_unit_test(test_clock_illegal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
