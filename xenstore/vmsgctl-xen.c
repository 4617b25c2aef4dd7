// SPDX-License-Identifier: GPL-2.0
/*
 * vmsgctl's Xen verbs: the toolstack side of the vmsg Xen bus.
 *
 * Xen 4.17's xl ignores a `vmsg = [ ... ]` line and knows nothing of our
 * device type, so a guest's bus is wired around it: `create` validates the
 * config's vmsg list, runs `xl create -p`, writes the frontend (F) and
 * backend (B) directories of docs/xen-bus.md with the device specs in one
 * transaction, and unpauses the guest; `attach`/`detach` edit B/devices,
 * which vmsgd watches; `list` reads it back. Every directory is created,
 * given its permissions and only then filled, within the transaction, since
 * a xenstore node inherits its parent's permissions (xen.md section 2).
 * B/devices is readable by the backend domain only: device specs name host
 * paths a guest must not see. This file never talks to vmsgd and never
 * parses what a guest wrote.
 *
 * VMSG_XL names the xl binary (default "xl", from PATH), so the tests can
 * stand in for it.
 */
#include <errno.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libxlutil.h>
#include <xenstore.h>

#include "device.h"
#include "spec.h"
#include "vmsgctl-xen.h"
#include "xsutil.h"

extern char **environ;

struct ctl {
	struct xs_handle *xs;
	uint16_t domid;
	uint16_t be;			/* backend domain */
	bool be_given;			/* -b on the command line */
	char fe[VMSG_XS_PATH_MAX];	/* F */
	char bpath[VMSG_XS_PATH_MAX];	/* B */
	char devices[VMSG_XS_PATH_MAX];	/* B/devices */
};

/* What a guest config asks for. */
struct ctl_cfg {
	XLU_Config *cfg;
	const char *name;
	XLU_ConfigList *vmsg;
	int nr;
	bool has_vmsg;
};

static int ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line on stderr; returns exit status 1. */
static int ctl_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vmsgctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int ctl_usage_err(const char *what)
{
	fprintf(stderr, "vmsgctl: %s\nTry 'vmsgctl --help' for more information.\n",
		what);
	return 2;
}

void vmsgctl_xen_usage(FILE *f)
{
	fprintf(f,
		"Xen (writes xenstore; vmsgd --bus xen serves the guests):\n"
		"       vmsgctl create [-b DOMID] CFG [XL-ARGS]...\n"
		"       vmsgctl attach [-b DOMID] DOMAIN SPEC\n"
		"       vmsgctl detach DOMAIN DEVNUM\n"
		"       vmsgctl list DOMAIN\n"
		"\n"
		"  create runs 'xl create -p CFG XL-ARGS', gives the guest a\n"
		"  vmsg bus with the devices of CFG's vmsg = [ \"SPEC\", ... ]\n"
		"  list, and unpauses it. DOMAIN is a domain name or id.\n"
		"  -b DOMID is the domain running vmsgd (default 0), used when\n"
		"  a bus is created.\n");
}

static bool ctl_is_backend_opt(const char *arg)
{
	return !strcmp(arg, "-b") || !strcmp(arg, "--backend-domid");
}

bool vmsgctl_xen_wants(int argc, char **argv)
{
	int args = argc - 1;

	if (argc < 1)
		return false;
	if (!strcmp(argv[0], "create"))
		return true;
	if (argc > 1 && ctl_is_backend_opt(argv[1]))
		return true;
	return (!strcmp(argv[0], "attach") && args == 2) ||
	       (!strcmp(argv[0], "detach") && args == 2) ||
	       (!strcmp(argv[0], "list") && args == 1);
}

/* --- xenstore ------------------------------------------------------------- */

static int ctl_open(struct ctl *c)
{
	c->xs = xs_open(0);
	if (!c->xs)
		return ctl_err("cannot reach xenstore: %s (run this in dom0 as root, with xenstored running)",
			       strerror(errno));
	return 0;
}

static char *ctl_read(struct ctl *c, xs_transaction_t t, const char *dir,
		      const char *key)
{
	char path[VMSG_XS_PATH_MAX];
	unsigned int len;

	if (vmsg_xs_join(path, sizeof(path), dir, key)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return xs_read(c->xs, t, path, &len);
}

static int ctl_write(struct ctl *c, xs_transaction_t t, const char *dir,
		     const char *key, const char *val)
{
	char path[VMSG_XS_PATH_MAX];

	if (vmsg_xs_join(path, sizeof(path), dir, key))
		return -ENAMETOOLONG;
	if (!xs_write(c->xs, t, path, val, strlen(val))) {
		fprintf(stderr, "vmsgctl: writing %s: %s\n", path,
			strerror(errno));
		return -errno;
	}
	return 0;
}

/* mkdir, then permissions, before anything is written below it. */
static int ctl_mkdir(struct ctl *c, xs_transaction_t t, const char *path,
		     struct xs_permissions *perms, unsigned int nr)
{
	if (!xs_mkdir(c->xs, t, path) ||
	    !xs_set_permissions(c->xs, t, path, perms, nr)) {
		fprintf(stderr, "vmsgctl: creating %s: %s\n", path,
			strerror(errno));
		return -errno;
	}
	return 0;
}

typedef int (*ctl_txn_fn)(struct ctl *c, xs_transaction_t t, void *arg);

/* Run fn in a transaction, again from the start while xenstore says EAGAIN. */
static int ctl_transact(struct ctl *c, ctl_txn_fn fn, void *arg)
{
	xs_transaction_t t;
	int ret;

	for (;;) {
		t = xs_transaction_start(c->xs);
		if (t == XBT_NULL)
			return -errno;
		ret = fn(c, t, arg);
		if (ret) {
			xs_transaction_end(c->xs, t, true);
			return ret;
		}
		if (xs_transaction_end(c->xs, t, false))
			return 0;
		if (errno != EAGAIN)
			return -errno;
	}
}

/* /local/domain/<d>/name, or NULL */
static char *ctl_domain_name(struct ctl *c, uint16_t d)
{
	char path[VMSG_XS_PATH_MAX];
	unsigned int len;

	snprintf(path, sizeof(path), "/local/domain/%u/name", d);
	return xs_read(c->xs, XBT_NULL, path, &len);
}

static bool ctl_domain_exists(struct ctl *c, uint16_t d)
{
	char path[VMSG_XS_PATH_MAX], *v;
	unsigned int len;
	bool exists;

	snprintf(path, sizeof(path), "/local/domain/%u", d);
	v = xs_read(c->xs, XBT_NULL, path, &len);
	exists = v;
	free(v);
	return exists;
}

/* DOMAIN: the id of a domain xenstore knows, or a domain's name. */
static int ctl_resolve(struct ctl *c, const char *word)
{
	unsigned int nr = 0, i;
	bool found = false;
	char **doms, *name;
	uint16_t d;

	if (!vmsg_xs_parse_domid(word, &d)) {
		if (!ctl_domain_exists(c, d))
			return ctl_err("no domain %u in xenstore (see 'xl list')",
				       d);
		c->domid = d;
		return 0;
	}
	doms = xs_directory(c->xs, XBT_NULL, "/local/domain", &nr);
	for (i = 0; doms && i < nr && !found; i++) {
		if (vmsg_xs_parse_domid(doms[i], &d))
			continue;
		name = ctl_domain_name(c, d);
		found = name && !strcmp(name, word);
		free(name);
	}
	free(doms);
	if (!found)
		return ctl_err("no domain named '%s' (see 'xl list')", word);
	c->domid = d;
	return 0;
}

int vmsgctl_xen_domid(const char *word, unsigned int *domid)
{
	struct ctl c = { 0 };
	int ret;

	ret = ctl_open(&c);
	if (ret)
		return ret;
	ret = ctl_resolve(&c, word);
	if (!ret)
		*domid = c.domid;
	xs_close(c.xs);
	return ret;
}

/*
 * The paths of the guest's bus. If F exists, its backend-id says which
 * domain serves it (a -b naming another one is an error). Returns 1 if
 * the bus exists, 0 if not, or the exit status 1 after an error.
 */
static int ctl_find_bus(struct ctl *c)
{
	bool exists;
	uint16_t be;
	char *v;
	int ret;

	if (vmsg_xs_fe_path(c->fe, sizeof(c->fe), c->domid))
		return -1;
	v = ctl_read(c, XBT_NULL, c->fe, "backend-id");
	exists = v;
	ret = v ? vmsg_xs_parse_domid(v, &be) : 0;
	free(v);
	if (ret)
		return -ctl_err("%s/backend-id is not a domain id: fix or remove %s",
				c->fe, c->fe);
	if (exists && c->be_given && be != c->be)
		return -ctl_err("domain %u's vmsg bus is served by domain %u, not %u",
				c->domid, be, c->be);
	if (exists)
		c->be = be;
	if (vmsg_xs_be_path(c->bpath, sizeof(c->bpath), c->be, c->domid) ||
	    vmsg_xs_join(c->devices, sizeof(c->devices), c->bpath, "devices"))
		return -1;
	return exists;
}

/* --- device specs --------------------------------------------------------- */

static void ctl_types(char *buf, size_t len)
{
	size_t off = 0;
	unsigned int i;
	int n;

	buf[0] = '\0';
	for (i = 0; vmsg_dev_types[i] && off < len; i++) {
		n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
			     vmsg_dev_types[i]->type);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/*
 * Catch now what vmsgd would refuse later: the syntax, the device type,
 * and a host path that does not exist (checked only when the backend is
 * dom0, where vmsgctl runs). Device options are checked by vmsgd.
 */
static int ctl_check_spec(const struct ctl *c, const char *text, char *err,
			  size_t errlen)
{
	struct vmsg_spec spec;
	const char *path;
	struct stat st;
	char types[128];

	if (vmsg_spec_parse(&spec, text, err, errlen))
		return -EINVAL;
	if (!vmsg_dev_type_find(spec.type)) {
		ctl_types(types, sizeof(types));
		snprintf(err, errlen, "unknown device type '%s' (known: %s)",
			 spec.type, types);
		return -EINVAL;
	}
	path = vmsg_spec_get(&spec, "path");
	if (!path || c->be)
		return 0;
	if (stat(path, &st)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -EINVAL;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file or block device",
			 path);
		return -EINVAL;
	}
	return 0;
}

/* --- writing the bus ------------------------------------------------------ */

/* F: owned by the guest, readable by the backend. */
static int ctl_write_fe(struct ctl *c, xs_transaction_t t)
{
	struct xs_permissions perms[] = {
		{ .id = c->domid, .perms = XS_PERM_NONE },
		{ .id = c->be, .perms = XS_PERM_READ },
	};
	char be[8], state[4];

	snprintf(be, sizeof(be), "%u", c->be);
	snprintf(state, sizeof(state), "%d", XenbusStateInitialising);
	if (ctl_mkdir(c, t, c->fe, perms, 2) ||
	    ctl_write(c, t, c->fe, "backend", c->bpath) ||
	    ctl_write(c, t, c->fe, "backend-id", be) ||
	    ctl_write(c, t, c->fe, "state", state))
		return -EIO;
	return 0;
}

/* B: owned by the backend, readable by the guest; B/devices is not. */
static int ctl_write_be(struct ctl *c, xs_transaction_t t)
{
	struct xs_permissions perms[] = {
		{ .id = c->be, .perms = XS_PERM_NONE },
		{ .id = c->domid, .perms = XS_PERM_READ },
	};
	struct xs_permissions private[] = {
		{ .id = c->be, .perms = XS_PERM_NONE },
	};
	char fe[8], state[4];

	snprintf(fe, sizeof(fe), "%u", c->domid);
	snprintf(state, sizeof(state), "%d", XenbusStateInitialising);
	if (ctl_mkdir(c, t, c->bpath, perms, 2) ||
	    ctl_write(c, t, c->bpath, "frontend", c->fe) ||
	    ctl_write(c, t, c->bpath, "frontend-id", fe) ||
	    ctl_write(c, t, c->bpath, "online", "1") ||
	    ctl_write(c, t, c->bpath, "state", state) ||
	    ctl_mkdir(c, t, c->devices, private, 1))
		return -EIO;
	return 0;
}

static int ctl_write_dev(struct ctl *c, xs_transaction_t t, unsigned int n,
			 const char *spec)
{
	char key[16];

	snprintf(key, sizeof(key), "%u/spec", n);
	return ctl_write(c, t, c->devices, key, spec) ? -EIO : 0;
}

/* The lowest device number B/devices does not use, or -ENOSPC. */
static int ctl_free_devnum(struct ctl *c, xs_transaction_t t)
{
	bool used[VMSG_XS_MAX_DEVNUM + 1] = { false };
	unsigned int nr = 0, i;
	char **names;
	uint16_t n;

	names = xs_directory(c->xs, t, c->devices, &nr);
	for (i = 0; names && i < nr; i++)
		if (!vmsg_xs_parse_devnum(names[i], &n))
			used[n] = true;
	free(names);
	for (n = 1; n <= VMSG_XS_MAX_DEVNUM; n++)
		if (!used[n])
			return n;
	return -ENOSPC;
}

/* --- create --------------------------------------------------------------- */

static int ctl_create_txn(struct ctl *c, xs_transaction_t t, void *arg)
{
	struct ctl_cfg *cc = arg;
	int i;

	if (ctl_write_fe(c, t) || ctl_write_be(c, t))
		return -EIO;
	for (i = 0; i < cc->nr; i++)
		if (ctl_write_dev(c, t, (unsigned int)i + 1,
				  xlu_cfg_get_listitem(cc->vmsg, i)))
			return -EIO;
	return 0;
}

/*
 * xl appends "KEY=VALUE" arguments to the config before parsing it; do the
 * same, so that e.g. name="x" on the command line is the name we look up.
 * Returns 0 or an errno value (positive, as libxlutil's functions do).
 */
static int ctl_cfg_extra(struct ctl_cfg *cc, int argc, char **argv)
{
	size_t len = 0, off = 0;
	char *buf;
	int i, ret;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	buf = malloc(len + 1);
	if (!buf)
		return ENOMEM;
	for (i = 0; i < argc; i++) {
		if (argv[i][0] == '-' || !strchr(argv[i], '='))
			continue;
		off += (size_t)sprintf(buf + off, "%s\n", argv[i]);
	}
	ret = off ? xlu_cfg_readdata(cc->cfg, buf, (int)off) : 0;
	free(buf);
	return ret;
}

static int ctl_cfg_load(struct ctl_cfg *cc, const char *path, int argc,
			char **argv)
{
	int ret;

	cc->cfg = xlu_cfg_init(stderr, path);
	if (!cc->cfg)
		return ctl_err("out of memory");
	ret = xlu_cfg_readfile(cc->cfg, path);
	if (!ret)
		ret = ctl_cfg_extra(cc, argc, argv);
	if (ret)
		return ctl_err("%s: %s", path, strerror(ret));
	if (xlu_cfg_get_string(cc->cfg, "name", &cc->name, 0))
		return ctl_err("%s: no name = \"...\" (xl needs one)", path);
	ret = xlu_cfg_get_list(cc->cfg, "vmsg", &cc->vmsg, &cc->nr, 0);
	if (ret == ESRCH)
		return 0;
	if (ret)
		return ctl_err("%s: vmsg must be a list: vmsg = [ \"rng\", \"blk,path=/srv/disk.img\" ]",
			       path);
	cc->has_vmsg = true;
	return 0;
}

/* Every entry of the vmsg list, before any domain exists. */
static int ctl_cfg_check(const struct ctl *c, const struct ctl_cfg *cc,
			 const char *path)
{
	char err[VMSG_ERR_LEN];
	const char *spec;
	int i;

	if (cc->nr > VMSG_XS_MAX_DEVNUM)
		return ctl_err("%s: %d vmsg devices, at most %d; no domain was created",
			       path, cc->nr, VMSG_XS_MAX_DEVNUM);
	for (i = 0; i < cc->nr; i++) {
		spec = xlu_cfg_get_listitem(cc->vmsg, i);
		if (!spec)
			return ctl_err("%s: vmsg entry %d is not a string; no domain was created",
				       path, i + 1);
		err[0] = '\0';
		if (ctl_check_spec(c, spec, err, sizeof(err)))
			return ctl_err("%s: vmsg entry %d \"%s\": %s; no domain was created",
				       path, i + 1, spec, err);
	}
	return 0;
}

/* Not const: posix_spawnp() takes char *const argv[]. */
static char *ctl_xl(void)
{
	static char xl_default[] = "xl";
	char *xl = getenv("VMSG_XL");

	return xl && *xl ? xl : xl_default;
}

/* Run argv to completion; 0 if it exited 0. */
static int ctl_run(char **argv)
{
	int ret, status;
	pid_t pid;

	fflush(NULL);
	ret = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
	if (ret)
		return -ctl_err("running %s: %s (is xen-utils installed?)",
				argv[0], strerror(ret));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -ctl_err("waiting for %s: %s", argv[0],
					strerror(errno));
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	if (WIFEXITED(status))
		return -ctl_err("'%s %s' failed with exit status %d", argv[0],
				argv[1], WEXITSTATUS(status));
	return -ctl_err("'%s %s' was killed by signal %d", argv[0], argv[1],
			WTERMSIG(status));
}

static int ctl_xl_domid(char *verb, uint16_t domid)
{
	char id[8];
	char *argv[] = { ctl_xl(), verb, id, NULL };

	snprintf(id, sizeof(id), "%u", domid);
	return ctl_run(argv);
}

/* xl create -p CFG XL-ARGS... */
static int ctl_xl_create(char *cfg, int argc, char **argv)
{
	char **xargv = calloc((size_t)argc + 5, sizeof(*xargv));
	char create[] = "create", paused[] = "-p";
	int i, ret;

	if (!xargv)
		return -ctl_err("out of memory");
	xargv[0] = ctl_xl();
	xargv[1] = create;
	xargv[2] = paused;
	xargv[3] = cfg;
	for (i = 0; i < argc; i++)
		xargv[4 + i] = argv[i];
	ret = ctl_run(xargv);
	free(xargv);
	return ret;
}

/* The domain exists, paused: give it its bus, then let it run. */
static int ctl_create_bus(struct ctl *c, struct ctl_cfg *cc)
{
	char unpause[] = "unpause", destroy[] = "destroy";
	int ret;

	if (ctl_resolve(c, cc->name))
		return 1;
	if (ctl_find_bus(c) < 0)
		goto err_destroy;
	ret = ctl_transact(c, ctl_create_txn, cc);
	if (ret) {
		ctl_err("writing the vmsg bus of domain %u: %s", c->domid,
			strerror(-ret));
		goto err_destroy;
	}
	if (ctl_xl_domid(unpause, c->domid))
		return ctl_err("domain %u stays paused: run 'xl unpause %u' or 'xl destroy %u'",
			       c->domid, c->domid, c->domid);
	printf("domain %s (id %u): vmsg bus with %d device(s), backend domain %u\n",
	       cc->name, c->domid, cc->nr, c->be);
	return 0;

err_destroy:
	fprintf(stderr, "vmsgctl: destroying domain %u\n", c->domid);
	ctl_xl_domid(destroy, c->domid);
	return 1;
}

/* Leading "-b DOMID"; returns how many arguments it took, or -1. */
static int ctl_backend_opt(struct ctl *c, int argc, char **argv)
{
	if (argc < 1 || !ctl_is_backend_opt(argv[0]))
		return 0;
	if (argc < 2 || vmsg_xs_parse_domid(argv[1], &c->be)) {
		ctl_usage_err("-b needs a domain id (0..32751)");
		return -1;
	}
	c->be_given = true;
	return 2;
}

static int ctl_create(struct ctl *c, int argc, char **argv)
{
	struct ctl_cfg cc = { 0 };
	char *path;
	int ret;

	if (argc < 1)
		return ctl_usage_err("create needs a config file");
	path = argv[0];
	ret = ctl_cfg_load(&cc, path, argc - 1, argv + 1);
	if (!ret && !cc.has_vmsg)
		fprintf(stderr, "vmsgctl: %s has no vmsg list; creating the domain with an empty vmsg bus\n",
			path);
	if (!ret)
		ret = ctl_cfg_check(c, &cc, path);
	if (!ret)
		ret = ctl_open(c);
	if (!ret)
		ret = ctl_xl_create(path, argc - 1, argv + 1) ? 1 : 0;
	if (!ret)
		ret = ctl_create_bus(c, &cc);
	if (cc.cfg)
		xlu_cfg_destroy(cc.cfg);
	return ret;
}

/* --- attach, detach, list ------------------------------------------------- */

struct ctl_attach {
	const char *spec;
	bool new_bus;
	int dev_num;
};

static int ctl_attach_txn(struct ctl *c, xs_transaction_t t, void *arg)
{
	struct ctl_attach *a = arg;
	int n;

	if (a->new_bus && (ctl_write_fe(c, t) || ctl_write_be(c, t)))
		return -EIO;
	n = ctl_free_devnum(c, t);
	if (n < 0)
		return n;
	a->dev_num = n;
	return ctl_write_dev(c, t, (unsigned int)n, a->spec);
}

static int ctl_attach(struct ctl *c, int argc, char **argv)
{
	struct ctl_attach a = { .spec = argv[1] };
	char err[VMSG_ERR_LEN] = "";
	int ret;

	if (ctl_open(c) || ctl_resolve(c, argv[0]))
		return 1;
	ret = ctl_find_bus(c);
	if (ret < 0)
		return 1;
	a.new_bus = !ret;
	if (ctl_check_spec(c, a.spec, err, sizeof(err)))
		return ctl_err("%s: %s", a.spec, err);
	ret = ctl_transact(c, ctl_attach_txn, &a);
	if (ret == -ENOSPC)
		return ctl_err("domain %u has %d vmsg devices already",
			       c->domid, VMSG_XS_MAX_DEVNUM);
	if (ret)
		return ctl_err("attaching to domain %u: %s", c->domid,
			       strerror(-ret));
	printf("%d\n", a.dev_num);
	return 0;
}

static int ctl_detach_txn(struct ctl *c, xs_transaction_t t, void *arg)
{
	char path[VMSG_XS_PATH_MAX];
	const char *num = arg;
	char *spec;

	if (vmsg_xs_join(path, sizeof(path), c->devices, num))
		return -ENAMETOOLONG;
	spec = ctl_read(c, t, path, "spec");
	if (!spec)
		return -ENODEV;
	free(spec);
	return xs_rm(c->xs, t, path) ? 0 : -errno;
}

static int ctl_detach(struct ctl *c, int argc, char **argv)
{
	char num[8];
	uint16_t n;
	int ret;

	if (vmsg_xs_parse_devnum(argv[1], &n))
		return ctl_usage_err("DEVNUM must be a device number 1..255");
	if (ctl_open(c) || ctl_resolve(c, argv[0]))
		return 1;
	ret = ctl_find_bus(c);
	if (ret < 0)
		return 1;
	if (!ret)
		return ctl_err("domain %u has no vmsg bus", c->domid);
	snprintf(num, sizeof(num), "%u", n);
	ret = ctl_transact(c, ctl_detach_txn, num);
	if (ret == -ENODEV)
		return ctl_err("domain %u has no vmsg device %u (see 'vmsgctl list %u')",
			       c->domid, n, c->domid);
	if (ret)
		return ctl_err("detaching device %u of domain %u: %s", n,
			       c->domid, strerror(-ret));
	return 0;
}

/*
 * The bus of DOMAIN and which device numbers B/devices lists. 0, or the
 * exit status 1 after saying why not.
 */
static int ctl_listed(struct ctl *c, const char *domain,
		      bool listed[VMSG_XS_MAX_DEVNUM + 1])
{
	unsigned int nr = 0, i;
	char **names;
	uint16_t n;
	int ret;

	if (ctl_open(c) || ctl_resolve(c, domain))
		return 1;
	ret = ctl_find_bus(c);
	if (ret < 0)
		return 1;
	if (!ret)
		return ctl_err("domain %u has no vmsg bus", c->domid);
	names = xs_directory(c->xs, XBT_NULL, c->devices, &nr);
	for (i = 0; names && i < nr; i++)
		if (!vmsg_xs_parse_devnum(names[i], &n))
			listed[n] = true;
	free(names);
	return 0;
}

static char *ctl_spec(struct ctl *c, uint16_t n)
{
	char key[16];

	snprintf(key, sizeof(key), "%u/spec", n);
	return ctl_read(c, XBT_NULL, c->devices, key);
}

static int ctl_list(struct ctl *c, int argc, char **argv)
{
	bool listed[VMSG_XS_MAX_DEVNUM + 1] = { false };
	char *spec;
	uint16_t n;

	if (ctl_listed(c, argv[0], listed))
		return 1;
	for (n = 1; n <= VMSG_XS_MAX_DEVNUM; n++) {
		if (!listed[n])
			continue;
		spec = ctl_spec(c, n);
		printf("%u %s\n", n, spec ? spec : "(no spec)");
		free(spec);
	}
	return 0;
}

int vmsgctl_xen_console(const char *domain, unsigned int *domid,
			unsigned int *devnum)
{
	bool listed[VMSG_XS_MAX_DEVNUM + 1] = { false };
	struct ctl c = { 0 };
	bool found = false;
	char *spec;
	uint16_t n;
	int ret;

	ret = ctl_listed(&c, domain, listed);
	for (n = 1; !ret && !found && n <= VMSG_XS_MAX_DEVNUM; n++) {
		if (!listed[n])
			continue;
		spec = ctl_spec(&c, n);
		found = spec && !strncmp(spec, "console", 7) &&
			(spec[7] == ',' || !spec[7]);
		free(spec);
		*devnum = n;
	}
	if (!ret && !found)
		ret = ctl_err("domain %u has no vmsg console device (see 'vmsgctl list %s')",
			      c.domid, domain);
	*domid = c.domid;
	if (c.xs)
		xs_close(c.xs);
	return ret;
}

int vmsgctl_xen(int argc, char **argv)
{
	struct ctl c = { 0 };
	const char *verb;
	int skip, ret;

	if (argc < 1)
		return ctl_usage_err("no request");
	verb = argv[0];
	skip = ctl_backend_opt(&c, argc - 1, argv + 1);
	if (skip < 0)
		return 2;
	argc -= 1 + skip;
	argv += 1 + skip;
	if (!strcmp(verb, "create"))
		ret = ctl_create(&c, argc, argv);
	else if (!strcmp(verb, "attach") && argc == 2)
		ret = ctl_attach(&c, argc, argv);
	else if (!strcmp(verb, "detach") && argc == 2 && !skip)
		ret = ctl_detach(&c, argc, argv);
	else if (!strcmp(verb, "list") && argc == 1 && !skip)
		ret = ctl_list(&c, argc, argv);
	else
		ret = ctl_usage_err("bad Xen request (see 'vmsgctl --help')");
	if (c.xs)
		xs_close(c.xs);
	return ret;
}
