/*
 * libjhsim-preload: /dev/jailhouse and the simulated sysfs of a jhsim lab, for an
 * unmodified program loaded with LD_PRELOAD (Docs/real-tool.md).
 *
 * Claimed paths: /dev/jailhouse, /sys/devices/jailhouse and below, and
 * /sys/devices/system/cpu and below. Everything else goes to libc untouched. A program
 * that never names a claimed path pays one relaxed atomic load per read/write/close and
 * a prefix test per path: no thread, no allocation, no child, no system call.
 *
 * Every request (an ioctl, a sysfs write, a sysfs snapshot, the console) runs
 * `jhsim _preload` as a child over a socketpair; the child takes the lab's lock, replays
 * the lab, serves the request (asking back for each copy_from_user of the caller's
 * memory) and saves. The protocol is described in Sources/JHLab/PreloadServer.swift.
 *
 * State: the descriptor table, the fake directory streams and one cached sysfs snapshot
 * (valid while lab.json is the same file), all behind one mutex.
 */
#undef _FORTIFY_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jhsim_preload.h"

_Static_assert(sizeof(struct stat) == sizeof(struct stat64), "stat64 is stat on LP64");

extern char **environ;

/* Only the interposed functions (EXPORT) are visible outside the library. */
#pragma GCC visibility push(hidden)

#define EXPORT __attribute__((visibility("default")))

/* The largest single copy_from_user served: the driver's bound on one image plus a
 * page (PreloadServer.maxRead). */
#define MAX_READ ((1UL << 28) + 4096)

/* ---- the next definitions of the interposed functions ------------------------------ */

#define REAL(name, type)                                                     \
	static type real_##name(void)                                        \
	{                                                                    \
		static type fn;                                              \
		type f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);             \
		if (!f) {                                                    \
			f = (type)dlsym(RTLD_NEXT, #name);                   \
			__atomic_store_n(&fn, f, __ATOMIC_RELEASE);          \
		}                                                            \
		return f;                                                    \
	}

typedef int (*open_t)(const char *, int, ...);
typedef int (*openat_t)(int, const char *, int, ...);
typedef int (*open2_t)(const char *, int);
typedef int (*openat2_t)(int, const char *, int);
typedef int (*close_t)(int);
typedef ssize_t (*read_t)(int, void *, size_t);
typedef ssize_t (*write_t)(int, const void *, size_t);
typedef int (*ioctl_t)(int, unsigned long, ...);
typedef int (*dup_t)(int);
typedef int (*dup2_t)(int, int);
typedef int (*dup3_t)(int, int, int);
typedef int (*fcntl_t)(int, int, ...);
typedef int (*stat_t)(const char *, struct stat *);
typedef int (*stat64_t)(const char *, struct stat64 *);
typedef int (*fstat64_t)(int, struct stat64 *);
typedef int (*fstatat64_t)(int, const char *, struct stat64 *, int);
typedef int (*xstat64_t)(int, const char *, struct stat64 *);
typedef int (*fxstat64_t)(int, int, struct stat64 *);
typedef int (*fxstatat64_t)(int, int, const char *, struct stat64 *, int);
typedef int (*fstat_t)(int, struct stat *);
typedef int (*fstatat_t)(int, const char *, struct stat *, int);
typedef int (*xstat_t)(int, const char *, struct stat *);
typedef int (*fxstat_t)(int, int, struct stat *);
typedef int (*fxstatat_t)(int, int, const char *, struct stat *, int);
typedef int (*statx_t)(int, const char *, int, unsigned int, struct statx *);
typedef int (*access_t)(const char *, int);
typedef int (*faccessat_t)(int, const char *, int, int);
typedef FILE *(*fopen_t)(const char *, const char *);
typedef int (*fclose_t)(FILE *);
typedef DIR *(*opendir_t)(const char *);
typedef DIR *(*fdopendir_t)(int);
typedef struct dirent *(*readdir_t)(DIR *);
typedef struct dirent64 *(*readdir64_t)(DIR *);
typedef int (*closedir_t)(DIR *);
typedef int (*dirfd_t)(DIR *);
typedef void (*rewinddir_t)(DIR *);
typedef long (*telldir_t)(DIR *);
typedef void (*seekdir_t)(DIR *, long);
typedef int (*scandir_t)(const char *, struct dirent ***, int (*)(const struct dirent *),
			 int (*)(const struct dirent **, const struct dirent **));
typedef int (*scandir64_t)(const char *, struct dirent64 ***, int (*)(const struct dirent64 *),
			   int (*)(const struct dirent64 **, const struct dirent64 **));

REAL(open, open_t)
REAL(open64, open_t)
REAL(openat, openat_t)
REAL(openat64, openat_t)
REAL(__open_2, open2_t)
REAL(__open64_2, open2_t)
REAL(__openat_2, openat2_t)
REAL(__openat64_2, openat2_t)
REAL(close, close_t)
REAL(read, read_t)
REAL(write, write_t)
REAL(ioctl, ioctl_t)
REAL(dup, dup_t)
REAL(dup2, dup2_t)
REAL(dup3, dup3_t)
REAL(fcntl, fcntl_t)
REAL(fcntl64, fcntl_t)
REAL(stat, stat_t)
REAL(stat64, stat64_t)
REAL(lstat, stat_t)
REAL(lstat64, stat64_t)
REAL(fstat, fstat_t)
REAL(fstat64, fstat64_t)
REAL(fstatat, fstatat_t)
REAL(fstatat64, fstatat64_t)
REAL(__xstat, xstat_t)
REAL(__xstat64, xstat64_t)
REAL(__lxstat, xstat_t)
REAL(__lxstat64, xstat64_t)
REAL(__fxstat, fxstat_t)
REAL(__fxstat64, fxstat64_t)
REAL(__fxstatat, fxstatat_t)
REAL(__fxstatat64, fxstatat64_t)
REAL(statx, statx_t)
REAL(access, access_t)
REAL(faccessat, faccessat_t)
REAL(fopen, fopen_t)
REAL(fopen64, fopen_t)
REAL(fclose, fclose_t)
REAL(opendir, opendir_t)
REAL(fdopendir, fdopendir_t)
REAL(readdir, readdir_t)
REAL(readdir64, readdir64_t)
REAL(closedir, closedir_t)
REAL(dirfd, dirfd_t)
REAL(rewinddir, rewinddir_t)
REAL(telldir, telldir_t)
REAL(seekdir, seekdir_t)
REAL(scandir, scandir_t)
REAL(scandir64, scandir64_t)

/* ---- paths ----------------------------------------------------------------------------- */

enum claim { C_NONE, C_DEV, C_SYS_JH, C_SYS_CPU };

static const char DEV_PATH[] = "/dev/jailhouse";
static const char JH_ROOT[] = "/sys/devices/jailhouse";
static const char CPU_ROOT[] = "/sys/devices/system/cpu";

/* Lexically normalises an absolute path (//, ., ..) into out; 0 if it is not absolute
 * or too long. */
static int normalize(const char *in, char *out)
{
	size_t n = 0;
	const char *p = in;

	if (!in || in[0] != '/')
		return 0;
	while (*p) {
		const char *s;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		s = p;
		while (*p && *p != '/')
			p++;
		len = (size_t)(p - s);
		if (len == 1 && s[0] == '.')
			continue;
		if (len == 2 && s[0] == '.' && s[1] == '.') {
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
			continue;
		}
		if (n + 1 + len + 1 > PATH_MAX)
			return 0;
		out[n++] = '/';
		memcpy(out + n, s, len);
		n += len;
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = 0;
	return 1;
}

static int under(const char *p, const char *root)
{
	size_t n = strlen(root);

	return strncmp(p, root, n) == 0 && (p[n] == 0 || p[n] == '/');
}

static enum claim classify(const char *normalized)
{
	if (strcmp(normalized, DEV_PATH) == 0)
		return C_DEV;
	if (under(normalized, JH_ROOT))
		return C_SYS_JH;
	if (under(normalized, CPU_ROOT))
		return C_SYS_CPU;
	return C_NONE;
}

/* Cheap test before any work: could this absolute path be claimed? */
static int maybe_claimed(const char *path)
{
	const char *p = path;

	if (!p || p[0] != '/')
		return 0;
	while (*p == '/' || (p[0] == '.' && p[1] == '/'))
		p++;
	return strncmp(p, "dev", 3) == 0 || strncmp(p, "sys", 3) == 0;
}

/* ---- global state, behind one mutex ----------------------------------------------------- */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

enum kind { K_DEV = 1, K_FILE, K_DIR };

struct simfd {
	int fd;
	enum kind kind;
	char *path;
	int acc;       /* O_RDONLY, O_WRONLY or O_RDWR as opened */
	int readable;  /* the attribute has a show method */
	int writable;  /* ... and a store method */
	int rerr;      /* what its show method failed with */
	int console;   /* the device's console was loaded */
	dev_t dev;
	ino_t ino;
};

static struct simfd *g_fds;
static size_t g_nfds, g_capfds;
static int g_nfds_atomic; /* g_nfds, readable without the lock for the fast path */

struct fdir {
	uint64_t magic;
	int fd;
	char *path;
	char **names;
	unsigned char *types;
	size_t n, pos;
	struct dirent ent;
};
#define FDIR_MAGIC 0x6a6873696d646972ULL

static struct fdir **g_dirs;
static size_t g_ndirs, g_capdirs;
static int g_ndirs_atomic;

struct node {
	char *path;
	char type; /* 'd' directory, 'u' directory not loaded yet, 'f' attribute */
	char r, w;
	int err;
	size_t len;
	char *data;
};

static struct node *g_nodes;
static size_t g_nnodes, g_capnodes;
static struct stat g_labid;
static char g_labpath[PATH_MAX];
static int g_have_labid;

static int fast_nfds(void)
{
	return __atomic_load_n(&g_nfds_atomic, __ATOMIC_RELAXED);
}

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h | 1;
}

/* ---- the descriptor table (g_lock held) --------------------------------------------------- */

static struct simfd *fd_find_locked(int fd)
{
	struct stat st;
	size_t i;

	for (i = 0; i < g_nfds; i++) {
		if (g_fds[i].fd != fd)
			continue;
		/* The number may have been closed behind our back (fclose inside libc) and
		 * reused: the same open file has the same inode. */
		if (real_fstat()(fd, &st) == 0 && st.st_dev == g_fds[i].dev && st.st_ino == g_fds[i].ino)
			return &g_fds[i];
		free(g_fds[i].path);
		g_fds[i] = g_fds[--g_nfds];
		__atomic_store_n(&g_nfds_atomic, (int)g_nfds, __ATOMIC_RELAXED);
		return NULL;
	}
	return NULL;
}

static void fd_forget_locked(int fd)
{
	size_t i;

	for (i = 0; i < g_nfds; i++) {
		if (g_fds[i].fd == fd) {
			free(g_fds[i].path);
			g_fds[i] = g_fds[--g_nfds];
			__atomic_store_n(&g_nfds_atomic, (int)g_nfds, __ATOMIC_RELAXED);
			return;
		}
	}
}

static int fd_add_locked(const struct simfd *e)
{
	struct simfd *n;

	fd_forget_locked(e->fd);
	if (g_nfds == g_capfds) {
		size_t cap = g_capfds ? g_capfds * 2 : 8;

		n = realloc(g_fds, cap * sizeof(*n));
		if (!n)
			return -1;
		g_fds = n;
		g_capfds = cap;
	}
	g_fds[g_nfds] = *e;
	g_fds[g_nfds].path = strdup(e->path);
	if (!g_fds[g_nfds].path)
		return -1;
	g_nfds++;
	__atomic_store_n(&g_nfds_atomic, (int)g_nfds, __ATOMIC_RELAXED);
	return 0;
}

/* A copy of the entry for fd (path duplicated), or 0 if fd is not simulated. */
static int fd_lookup(int fd, struct simfd *out)
{
	struct simfd *e;
	int found = 0;

	if (fast_nfds() == 0)
		return 0;
	pthread_mutex_lock(&g_lock);
	e = fd_find_locked(fd);
	if (e) {
		*out = *e;
		out->path = strdup(e->path);
		found = out->path != NULL;
	}
	pthread_mutex_unlock(&g_lock);
	return found;
}

/* Registers newfd as another descriptor of oldfd's file (dup, dup2, F_DUPFD). */
static void fd_duplicated(int oldfd, int newfd)
{
	struct simfd *e;
	struct simfd copy;

	if (fast_nfds() == 0 || newfd < 0)
		return;
	pthread_mutex_lock(&g_lock);
	e = fd_find_locked(oldfd);
	if (e && oldfd != newfd) {
		copy = *e;
		copy.fd = newfd;
		fd_add_locked(&copy);
	} else if (!e) {
		fd_forget_locked(newfd);
	}
	pthread_mutex_unlock(&g_lock);
}

/* ---- talking to jhsim ------------------------------------------------------------------- */

static void say(const char *msg)
{
	real_write()(2, msg, strlen(msg));
}

static int lab_dir(char *out)
{
	const char *env = getenv("JHSIM_LAB");
	char cwd[PATH_MAX];

	if (env && env[0] == '/')
		return snprintf(out, PATH_MAX, "%s", env) < PATH_MAX;
	if (!getcwd(cwd, sizeof(cwd)))
		return 0;
	return snprintf(out, PATH_MAX, "%s/%s", cwd, env && *env ? env : ".jhsim") < PATH_MAX;
}

/* 0 if the lab exists (lab.json is there), else -1 with errno ENOENT. */
static int lab_exists(struct stat *st, char *dir)
{
	char file[PATH_MAX + 16];
	struct stat tmp;

	if (!lab_dir(dir)) {
		errno = ENOENT;
		return -1;
	}
	snprintf(file, sizeof(file), "%s/lab.json", dir);
	if (real_stat()(file, st ? st : &tmp) != 0) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

static int jhsim_binary(char *out)
{
	const char *env = getenv("JHSIM_BIN");
	Dl_info info;
	char *slash;

	if (env && *env)
		return snprintf(out, PATH_MAX, "%s", env) < PATH_MAX;
	if (!dladdr((void *)jhsim_binary, &info) || !info.dli_fname)
		return 0;
	if (snprintf(out, PATH_MAX, "%s", info.dli_fname) >= PATH_MAX)
		return 0;
	slash = strrchr(out, '/');
	if (!slash)
		return 0;
	return snprintf(slash + 1, (size_t)(PATH_MAX - (slash + 1 - out)), "jhsim") < PATH_MAX - (slash + 1 - out);
}

struct conn {
	int sock;
	pid_t pid;
};

static int send_all(int sock, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t k = send(sock, p, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int recv_all(int sock, void *buf, size_t n)
{
	char *p = buf;

	while (n > 0) {
		ssize_t k = recv(sock, p, n, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int recv_line(int sock, char *buf, size_t cap)
{
	size_t n = 0;

	while (n + 1 < cap) {
		char c;

		if (recv_all(sock, &c, 1) < 0)
			return -1;
		if (c == '\n') {
			buf[n] = 0;
			return 0;
		}
		buf[n++] = c;
	}
	return -1;
}

static int send_field(int sock, const char *key, const void *data, size_t len)
{
	char head[64];
	int n = snprintf(head, sizeof(head), "%s %zu\n", key, len);

	if (send_all(sock, head, (size_t)n) < 0)
		return -1;
	return len ? send_all(sock, data, len) : 0;
}

static int send_text(int sock, const char *key, const char *text)
{
	return send_field(sock, key, text, strlen(text));
}

/* Starts `jhsim _preload` on one end of a socketpair; the child's environment is ours
 * without LD_PRELOAD, its signals default and unblocked. */
static int conn_open(struct conn *c, const char *lab)
{
	char bin[PATH_MAX];
	char *argv[3];
	char **envp;
	size_t n = 0, i, k = 0;
	int sv[2];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int rc;

	if (!jhsim_binary(bin) || real_access()(bin, X_OK) != 0) {
		say("jhsim-preload: cannot find the jhsim binary next to libjhsim-preload.so; set JHSIM_BIN\n");
		errno = EIO;
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	while (environ && environ[n])
		n++;
	envp = calloc(n + 1, sizeof(*envp));
	if (!envp) {
		real_close()(sv[0]);
		real_close()(sv[1]);
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			envp[k++] = environ[i];
	envp[k] = NULL;
	argv[0] = bin;
	argv[1] = "_preload";
	argv[2] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&c->pid, bin, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(envp);
	real_close()(sv[1]);
	if (rc != 0) {
		real_close()(sv[0]);
		say("jhsim-preload: cannot start jhsim\n");
		errno = EIO;
		return -1;
	}
	c->sock = sv[0];
	if (send_text(c->sock, "lab", lab) < 0)
		return -1;
	return 0;
}

static void conn_close(struct conn *c)
{
	int status;

	real_close()(c->sock);
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
}

/* Reads a whole small file of /proc/self into a malloc'd buffer. */
static char *read_proc(const char *path, size_t *len)
{
	int fd = real_open()(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, n = 0;
	char *buf;

	*len = 0;
	if (fd < 0)
		return NULL;
	buf = malloc(cap);
	while (buf) {
		ssize_t k = real_read()(fd, buf + n, cap - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
		if (n == cap) {
			char *b = cap < (1 << 20) ? realloc(buf, cap * 2) : NULL;

			if (!b)
				break;
			buf = b;
			cap *= 2;
		}
	}
	real_close()(fd);
	*len = n;
	return buf;
}

/* Copies [addr, addr+count) of our own memory without touching it directly: a fault
 * there is an answer (EFAULT), never a crash. */
static int copy_own_memory(uint64_t addr, size_t count, char *out)
{
	size_t done = 0;
	int p[2];

	while (done < count) {
		struct iovec local = { out + done, count - done };
		struct iovec remote = { (void *)(uintptr_t)(addr + done), count - done };
		ssize_t k = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);

		if (k > 0) {
			done += (size_t)k;
			continue;
		}
		if (k < 0 && errno != ENOSYS && errno != EPERM)
			return -1;
		break;
	}
	if (done == count)
		return 0;
	/* No process_vm_readv here: a pipe copies through the kernel, which reports an
	 * unmapped source as EFAULT. */
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	while (done < count) {
		size_t n = count - done < 4096 ? count - done : 4096;
		ssize_t k = real_write()(p[1], (const void *)(uintptr_t)(addr + done), n);

		if (k <= 0 || real_read()(p[0], out + done, (size_t)k) != k)
			break;
		done += (size_t)k;
	}
	real_close()(p[0]);
	real_close()(p[1]);
	return done == count ? 0 : -1;
}

struct answer {
	long long ret;
	int err;
	char *payload;
	size_t len;
};

/* Waits for `done`, serving `read` requests (copy_from_user) on the way. */
static int conn_answer(struct conn *c, struct answer *a)
{
	char line[256];

	memset(a, 0, sizeof(*a));
	for (;;) {
		unsigned long long addr;
		size_t count, len;

		if (recv_line(c->sock, line, sizeof(line)) < 0)
			break;
		if (sscanf(line, "read %llu %zu", &addr, &count) == 2) {
			char *buf = count <= MAX_READ ? malloc(count ? count : 1) : NULL;
			char head[64];
			int ok = buf && copy_own_memory(addr, count, buf) == 0;
			int n = ok ? snprintf(head, sizeof(head), "ok %zu\n", count) : snprintf(head, sizeof(head), "fault 0\n");

			if (send_all(c->sock, head, (size_t)n) < 0 || (ok && send_all(c->sock, buf, count) < 0)) {
				free(buf);
				break;
			}
			free(buf);
			continue;
		}
		if (sscanf(line, "done %lld %d %zu", &a->ret, &a->err, &len) == 3) {
			a->payload = malloc(len + 1);
			if (!a->payload || recv_all(c->sock, a->payload, len) < 0)
				break;
			a->payload[len] = 0;
			a->len = len;
			return 0;
		}
		break;
	}
	free(a->payload);
	a->payload = NULL;
	say("jhsim-preload: jhsim ended without answering\n");
	a->ret = -1;
	a->err = EIO;
	return -1;
}

/* Sends the program's argv and process name, and JHSIM_FAULT. */
static int send_identity(int sock)
{
	size_t n;
	char *argv = read_proc("/proc/self/cmdline", &n);
	char *comm;
	int rc = send_field(sock, "argv", argv ? argv : "", argv ? n : 0);

	free(argv);
	comm = read_proc("/proc/self/comm", &n);
	if (comm && n > 0 && comm[n - 1] == '\n')
		n--;
	if (rc == 0)
		rc = send_field(sock, "comm", comm ? comm : "", comm ? n : 0);
	free(comm);
	if (rc == 0 && getenv("JHSIM_FAULT"))
		rc = send_text(sock, "faults", getenv("JHSIM_FAULT"));
	return rc;
}

/* One request: fields already chosen by the caller through `fill`. */
static int request(const char *op, int (*fill)(int, void *), void *ctx, struct answer *a)
{
	char lab[PATH_MAX];
	struct conn c;
	int saved;

	memset(a, 0, sizeof(*a));
	if (lab_exists(NULL, lab) < 0) {
		a->ret = -1;
		a->err = ENOENT;
		return -1;
	}
	if (conn_open(&c, lab) < 0) {
		a->ret = -1;
		a->err = errno ? errno : EIO;
		return -1;
	}
	if (send_text(c.sock, "op", op) < 0 || (fill && fill(c.sock, ctx) < 0) || send_all(c.sock, "end 0\n", 6) < 0) {
		conn_close(&c);
		say("jhsim-preload: jhsim ended without answering\n");
		a->ret = -1;
		a->err = EIO;
		return -1;
	}
	conn_answer(&c, a);
	saved = a->err;
	conn_close(&c);
	a->err = saved;
	return a->ret < 0 ? -1 : 0;
}

/* ---- the sysfs snapshot (g_lock held) --------------------------------------------------- */

static void nodes_clear_locked(void)
{
	size_t i;

	for (i = 0; i < g_nnodes; i++) {
		free(g_nodes[i].path);
		free(g_nodes[i].data);
	}
	g_nnodes = 0;
	g_have_labid = 0;
}

static int node_cmp(const void *a, const void *b)
{
	return strcmp(((const struct node *)a)->path, ((const struct node *)b)->path);
}

/* The first node whose path is >= key. */
static size_t node_lower(const char *key)
{
	size_t lo = 0, hi = g_nnodes;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(g_nodes[mid].path, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct node *node_find(const char *path)
{
	size_t i = node_lower(path);

	return i < g_nnodes && strcmp(g_nodes[i].path, path) == 0 ? &g_nodes[i] : NULL;
}

static int node_put(struct node *n)
{
	struct node *old = node_find(n->path);

	if (old) {
		free(old->path);
		free(old->data);
		*old = *n;
		return 0;
	}
	if (g_nnodes == g_capnodes) {
		size_t cap = g_capnodes ? g_capnodes * 2 : 64;
		struct node *v = realloc(g_nodes, cap * sizeof(*v));

		if (!v)
			return -1;
		g_nodes = v;
		g_capnodes = cap;
	}
	g_nodes[g_nnodes++] = *n;
	return 0;
}

static int fill_path(int sock, void *ctx)
{
	return send_text(sock, "path", ctx);
}

/* Fetches the subtree at dir from the lab and merges it. */
static int fetch_locked(const char *dir)
{
	struct answer a;
	char *p, *end;
	int rc = 0;

	request("snapshot", fill_path, (void *)dir, &a);
	if (a.ret < 0) {
		free(a.payload);
		errno = a.err;
		return -1;
	}
	p = a.payload;
	end = a.payload + a.len;
	while (p < end && rc == 0) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		struct node n;

		if (!nl)
			break;
		*nl = 0;
		memset(&n, 0, sizeof(n));
		if ((p[0] == 'd' || p[0] == 'u') && p[1] == ' ') {
			n.type = p[0];
			n.path = strdup(p + 2);
			p = nl + 1;
		} else if (p[0] == 'f' && p[1] == ' ') {
			char mode[4];
			int err, off = 0;
			size_t len;

			if (sscanf(p + 2, "%3s %d %zu %n", mode, &err, &len, &off) != 3 || off == 0 ||
			    len > (size_t)(end - (nl + 1)))
				break;
			n.type = 'f';
			n.r = strchr(mode, 'r') != NULL;
			n.w = strchr(mode, 'w') != NULL;
			n.err = err;
			n.path = strdup(p + 2 + off);
			n.data = malloc(len + 1);
			if (n.data) {
				memcpy(n.data, nl + 1, len);
				n.data[len] = 0;
			}
			n.len = len;
			p = nl + 1 + len;
		} else {
			break;
		}
		if (!n.path || (n.type == 'f' && !n.data) || node_put(&n) < 0) {
			free(n.path);
			free(n.data);
			rc = -1;
		}
	}
	free(a.payload);
	qsort(g_nodes, g_nnodes, sizeof(*g_nodes), node_cmp);
	if (rc < 0)
		errno = ENOMEM;
	return rc;
}

/* Finds path in the snapshot, fetching what is missing. Returns the node (valid while
 * g_lock is held) or NULL with errno ENOENT, ENOTDIR or EIO. */
static struct node *sim_lookup_locked(const char *path, enum claim cls)
{
	const char *root = cls == C_SYS_JH ? JH_ROOT : CPU_ROOT;
	struct stat id;
	char lab[PATH_MAX];
	int tries;

	if (lab_exists(&id, lab) < 0) {
		nodes_clear_locked();
		errno = ENOENT;
		return NULL;
	}
	if (!g_have_labid || id.st_dev != g_labid.st_dev || id.st_ino != g_labid.st_ino ||
	    id.st_size != g_labid.st_size || id.st_mtim.tv_sec != g_labid.st_mtim.tv_sec ||
	    id.st_mtim.tv_nsec != g_labid.st_mtim.tv_nsec || strcmp(lab, g_labpath) != 0) {
		nodes_clear_locked();
		g_labid = id;
		snprintf(g_labpath, sizeof(g_labpath), "%s", lab);
		g_have_labid = 1;
	}
	for (tries = 0; tries < 8; tries++) {
		struct node *n = node_find(path);
		char up[PATH_MAX];
		char *slash;

		if (n && n->type != 'u')
			return n;
		if (n) {
			if (fetch_locked(path) < 0)
				return NULL;
			continue;
		}
		if (!node_find(root)) {
			if (fetch_locked(root) < 0)
				return NULL;
			continue;
		}
		snprintf(up, sizeof(up), "%s", path);
		for (;;) {
			struct node *a;

			slash = strrchr(up, '/');
			if (!slash || slash == up)
				break;
			*slash = 0;
			a = node_find(up);
			if (!a)
				continue;
			if (a->type == 'f') {
				errno = ENOTDIR;
				return NULL;
			}
			if (a->type == 'd') {
				errno = ENOENT;
				return NULL;
			}
			break; /* 'u': fetch it below */
		}
		if (!slash || slash == up || fetch_locked(up) < 0) {
			if (!slash || slash == up)
				errno = ENOENT;
			return NULL;
		}
	}
	errno = EIO;
	return NULL;
}

/* The names in a loaded directory (children only), malloc'd; types 'd' or 'f'. */
static int list_locked(const char *dir, char ***names, unsigned char **types, size_t *count)
{
	char prefix[PATH_MAX + 1];
	size_t plen, i, n = 0, cap = 16;

	snprintf(prefix, sizeof(prefix), "%s/", dir);
	plen = strlen(prefix);
	*names = malloc(cap * sizeof(char *));
	*types = malloc(cap);
	if (!*names || !*types)
		return -1;
	for (i = node_lower(prefix); i < g_nnodes && strncmp(g_nodes[i].path, prefix, plen) == 0; i++) {
		const char *rest = g_nodes[i].path + plen;

		if (strchr(rest, '/'))
			continue;
		if (n == cap) {
			char **nn = realloc(*names, cap * 2 * sizeof(char *));
			unsigned char *nt = nn ? realloc(*types, cap * 2) : NULL;

			if (nn)
				*names = nn;
			if (!nt)
				return -1;
			*types = nt;
			cap *= 2;
		}
		(*names)[n] = strdup(rest);
		(*types)[n] = g_nodes[i].type == 'f' ? DT_REG : DT_DIR;
		if (!(*names)[n])
			return -1;
		n++;
	}
	*count = n;
	return 0;
}

/* ---- stat ----------------------------------------------------------------------------- */

static void fill_stat(struct stat *st, const char *path, enum kind kind, int r, int w)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = (ino_t)fnv(path);
	st->st_uid = 0;
	st->st_gid = 0;
	st->st_blksize = 4096;
	if (kind == K_DEV) {
		st->st_dev = makedev(0, 5);
		st->st_mode = S_IFCHR | 0600;
		st->st_rdev = makedev(10, 124);
		st->st_nlink = 1;
	} else if (kind == K_DIR) {
		st->st_dev = makedev(0, 22);
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_dev = makedev(0, 22);
		st->st_mode = S_IFREG | (r ? 0444 : 0) | (w ? 0200 : 0);
		st->st_nlink = 1;
		st->st_size = 4096; /* what sysfs reports for every attribute */
	}
}

/* stat of a claimed path: 0, or -1 with errno. */
static int sim_stat(const char *path, enum claim cls, struct stat *st)
{
	struct node *n;
	int rc = 0;

	if (cls == C_DEV) {
		if (lab_exists(NULL, (char[PATH_MAX]){0}) < 0)
			return -1;
		fill_stat(st, path, K_DEV, 1, 1);
		return 0;
	}
	pthread_mutex_lock(&g_lock);
	n = sim_lookup_locked(path, cls);
	if (n)
		fill_stat(st, path, n->type == 'f' ? K_FILE : K_DIR, n->r, n->w);
	else
		rc = -1;
	pthread_mutex_unlock(&g_lock);
	return rc;
}

static void fd_stat(const struct simfd *e, struct stat *st)
{
	fill_stat(st, e->path, e->kind, e->readable, e->writable);
}

/* ---- opening ---------------------------------------------------------------------------- */

/* A real descriptor that stands for a simulated file: a memfd named after it, holding
 * content (so stdio's reads inside libc, which bypass this library, still see it),
 * reopened with the access mode asked for when that is not read-write. */
static int make_fd(const char *path, int flags, int keep_rdwr, const char *content, size_t len)
{
	char name[64], proc[64];
	int fd, acc = flags & O_ACCMODE;

	snprintf(name, sizeof(name), "jhsim:%s", strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (len > 0) {
		size_t done = 0;

		while (done < len) {
			ssize_t k = real_write()(fd, content + done, len - done);

			if (k <= 0) {
				real_close()(fd);
				errno = EIO;
				return -1;
			}
			done += (size_t)k;
		}
		lseek(fd, 0, SEEK_SET);
	}
	if (!keep_rdwr && acc != O_RDWR) {
		int again;

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		again = real_open()(proc, acc | O_CLOEXEC);
		if (again >= 0) {
			real_close()(fd);
			fd = again;
		}
	}
	if (!(flags & O_CLOEXEC))
		real_fcntl()(fd, F_SETFD, 0);
	if (flags & (O_NONBLOCK | O_APPEND))
		real_fcntl()(fd, F_SETFL, flags & (O_NONBLOCK | O_APPEND));
	return fd;
}

static int register_fd(int fd, const char *path, enum kind kind, int flags, int r, int w, int rerr)
{
	struct simfd e;
	struct stat st;
	int rc;

	memset(&e, 0, sizeof(e));
	e.fd = fd;
	e.kind = kind;
	e.path = (char *)path;
	e.acc = flags & O_ACCMODE;
	e.readable = r;
	e.writable = w;
	e.rerr = rerr;
	if (real_fstat()(fd, &st) == 0) {
		e.dev = st.st_dev;
		e.ino = st.st_ino;
	}
	pthread_mutex_lock(&g_lock);
	rc = fd_add_locked(&e);
	pthread_mutex_unlock(&g_lock);
	if (rc < 0) {
		real_close()(fd);
		errno = ENOMEM;
		return -1;
	}
	return fd;
}

/* open(2) of a claimed path. */
static int sim_open(const char *path, enum claim cls, int flags)
{
	int acc = flags & O_ACCMODE;
	struct node *n;
	int fd, r, w, err;
	char *content = NULL;
	size_t len = 0;

	if (cls == C_DEV) {
		/* No lab is a machine without the driver: no device node. */
		if (lab_exists(NULL, (char[PATH_MAX]){0}) < 0)
			return -1;
		if (flags & O_DIRECTORY) {
			errno = ENOTDIR;
			return -1;
		}
		fd = make_fd(path, flags, 1, NULL, 0);
		return fd < 0 ? -1 : register_fd(fd, path, K_DEV, flags, 1, 1, 0);
	}
	pthread_mutex_lock(&g_lock);
	n = sim_lookup_locked(path, cls);
	if (!n) {
		err = errno;
		if (err == ENOENT && (flags & O_CREAT)) {
			/* sysfs cannot create files: EACCES in an existing directory. */
			char parent[PATH_MAX];
			char *slash;
			struct node *p;

			snprintf(parent, sizeof(parent), "%s", path);
			slash = strrchr(parent, '/');
			if (slash && slash != parent) {
				*slash = 0;
				p = sim_lookup_locked(parent, cls);
				if (p && p->type != 'f')
					err = EACCES;
			}
		}
		pthread_mutex_unlock(&g_lock);
		errno = err;
		return -1;
	}
	if ((flags & O_CREAT) && (flags & O_EXCL)) {
		pthread_mutex_unlock(&g_lock);
		errno = EEXIST;
		return -1;
	}
	if (n->type != 'f') {
		pthread_mutex_unlock(&g_lock);
		if (acc != O_RDONLY) {
			errno = EISDIR;
			return -1;
		}
		fd = make_fd(path, flags, 0, NULL, 0);
		return fd < 0 ? -1 : register_fd(fd, path, K_DIR, flags, 1, 0, 0);
	}
	r = n->r;
	w = n->w;
	err = n->err;
	if ((flags & O_DIRECTORY) || (acc != O_WRONLY && !r) || (acc != O_RDONLY && !w)) {
		pthread_mutex_unlock(&g_lock);
		errno = (flags & O_DIRECTORY) ? ENOTDIR : EACCES;
		return -1;
	}
	if (acc != O_WRONLY && r && !err) {
		content = malloc(n->len + 1);
		if (content) {
			memcpy(content, n->data, n->len);
			len = n->len;
		}
	}
	pthread_mutex_unlock(&g_lock);
	fd = make_fd(path, flags, 0, content, len);
	free(content);
	return fd < 0 ? -1 : register_fd(fd, path, K_FILE, flags, r, w, err);
}

/* Resolves (dirfd, path) to a normalized claimed path; C_NONE when it is not one. */
static enum claim resolve(int dirfd, const char *path, char *out)
{
	struct simfd e;
	char joined[PATH_MAX * 2];
	enum claim cls;

	if (!path)
		return C_NONE;
	if (path[0] == '/') {
		if (!maybe_claimed(path) || !normalize(path, out))
			return C_NONE;
		return classify(out);
	}
	if (dirfd == AT_FDCWD || fast_nfds() == 0 || !fd_lookup(dirfd, &e))
		return C_NONE;
	cls = C_NONE;
	if (e.kind == K_DIR) {
		snprintf(joined, sizeof(joined), "%s/%s", e.path, path);
		if (normalize(joined, out))
			cls = classify(out);
	}
	free(e.path);
	return cls;
}

/* open of (dirfd, path) if it is claimed: *handled says whether it was. */
static int open_claimed(int dirfd, const char *path, int flags, int *handled)
{
	char p[PATH_MAX];
	enum claim cls = resolve(dirfd, path, p);

	*handled = cls != C_NONE;
	return *handled ? sim_open(p, cls, flags) : -1;
}

/* ---- the interposed functions --------------------------------------------------------- */

#define MODE_ARG(flags, mode)                                                \
	do {                                                                 \
		if ((flags) & (O_CREAT | __O_TMPFILE)) {                     \
			va_list ap;                                          \
			va_start(ap, flags);                                 \
			mode = va_arg(ap, mode_t);                           \
			va_end(ap);                                          \
		}                                                            \
	} while (0)

#define DEFINE_OPEN(name)                                                    \
	EXPORT int name(const char *path, int flags, ...)                    \
	{                                                                    \
		mode_t mode = 0;                                             \
		int h = 0, rc = -1;                                          \
		MODE_ARG(flags, mode);                                       \
		if (maybe_claimed(path))                                     \
			rc = open_claimed(AT_FDCWD, path, flags, &h);        \
		return h ? rc : real_##name()(path, flags, mode);            \
	}

#define DEFINE_OPENAT(name)                                                  \
	EXPORT int name(int dirfd, const char *path, int flags, ...)         \
	{                                                                    \
		mode_t mode = 0;                                             \
		int h = 0, rc = -1;                                          \
		MODE_ARG(flags, mode);                                       \
		if (maybe_claimed(path) || (dirfd != AT_FDCWD && fast_nfds())) \
			rc = open_claimed(dirfd, path, flags, &h);           \
		return h ? rc : real_##name()(dirfd, path, flags, mode);     \
	}

DEFINE_OPEN(open)
DEFINE_OPEN(open64)
DEFINE_OPENAT(openat)
DEFINE_OPENAT(openat64)

EXPORT int __open_2(const char *path, int flags)
{
	int h = 0, rc = -1;

	if (maybe_claimed(path))
		rc = open_claimed(AT_FDCWD, path, flags, &h);
	return h ? rc : real___open_2()(path, flags);
}

EXPORT int __open64_2(const char *path, int flags)
{
	int h = 0, rc = -1;

	if (maybe_claimed(path))
		rc = open_claimed(AT_FDCWD, path, flags, &h);
	return h ? rc : real___open64_2()(path, flags);
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	int h = 0, rc = -1;

	if (maybe_claimed(path) || (dirfd != AT_FDCWD && fast_nfds()))
		rc = open_claimed(dirfd, path, flags, &h);
	return h ? rc : real___openat_2()(dirfd, path, flags);
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	int h = 0, rc = -1;

	if (maybe_claimed(path) || (dirfd != AT_FDCWD && fast_nfds()))
		rc = open_claimed(dirfd, path, flags, &h);
	return h ? rc : real___openat64_2()(dirfd, path, flags);
}

static int fopen_flags(const char *mode)
{
	int flags;
	const char *m;

	switch (mode[0]) {
	case 'r': flags = O_RDONLY; break;
	case 'w': flags = O_WRONLY | O_CREAT | O_TRUNC; break;
	case 'a': flags = O_WRONLY | O_CREAT | O_APPEND; break;
	default: return -1;
	}
	for (m = mode + 1; *m && *m != ','; m++) {
		if (*m == '+')
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		else if (*m == 'e')
			flags |= O_CLOEXEC;
		else if (*m == 'x')
			flags |= O_EXCL;
	}
	return flags;
}

static FILE *fopen_common(const char *path, const char *mode, fopen_t real)
{
	char p[PATH_MAX];
	enum claim cls = resolve(AT_FDCWD, path, p);
	int flags, fd;
	FILE *f;

	if (cls == C_NONE)
		return real(path, mode);
	flags = mode ? fopen_flags(mode) : -1;
	if (flags < 0) {
		errno = EINVAL;
		return NULL;
	}
	fd = sim_open(p, cls, flags);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, mode);
	if (!f) {
		int e = errno;

		close(fd);
		errno = e;
	}
	return f;
}

EXPORT FILE *fopen(const char *path, const char *mode)
{
	if (!maybe_claimed(path))
		return real_fopen()(path, mode);
	return fopen_common(path, mode, real_fopen());
}

EXPORT FILE *fopen64(const char *path, const char *mode)
{
	if (!maybe_claimed(path))
		return real_fopen64()(path, mode);
	return fopen_common(path, mode, real_fopen64());
}

static ssize_t sim_write(const struct simfd *e, const void *buf, size_t n);
static int flush_sim(FILE *f);

/* Bytes that reached a write-only attribute's memfd without passing write() above
 * (stdio writes inside libc, e.g. a line-buffered shell echo) are sent as one write when
 * the program flushes, closes or replaces the descriptor. Returns 0 or -1 with errno. */
static int drain_bypassed(int fd)
{
	struct simfd e;
	struct stat st;
	char buf[4096], proc[64];
	ssize_t n = 0;
	int rfd, rc = 0;

	if (fast_nfds() == 0 || !fd_lookup(fd, &e))
		return 0;
	if (e.kind != K_FILE || e.acc != O_WRONLY || real_fstat()(fd, &st) != 0 || st.st_size == 0) {
		free(e.path);
		return 0;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	rfd = real_open()(proc, O_RDONLY | O_CLOEXEC);
	if (rfd >= 0) {
		n = pread(rfd, buf, sizeof(buf) - 1, 0);
		real_close()(rfd);
	}
	if (ftruncate(fd, 0) == 0)
		lseek(fd, 0, SEEK_SET);
	if (n > 0 && sim_write(&e, buf, (size_t)n) < 0)
		rc = -1;
	free(e.path);
	return rc;
}

EXPORT int close(int fd)
{
	int drained = drain_bypassed(fd);
	int e0 = errno;
	int rc = real_close()(fd);

	if (drained < 0 && rc == 0) {
		rc = -1;
		errno = e0;
	}

	if (fast_nfds()) {
		int e = errno;

		pthread_mutex_lock(&g_lock);
		fd_forget_locked(fd);
		pthread_mutex_unlock(&g_lock);
		errno = e;
	}
	return rc;
}

EXPORT int fclose(FILE *f)
{
	int fd = fast_nfds() && f ? fileno(f) : -1;
	int flushed = fd >= 0 ? flush_sim(f) : 0;
	int e0 = errno;
	int rc = real_fclose()(f);

	if (flushed < 0 && rc == 0) {
		rc = EOF;
		errno = e0;
	}

	if (fd >= 0) {
		int e = errno;

		pthread_mutex_lock(&g_lock);
		fd_forget_locked(fd);
		pthread_mutex_unlock(&g_lock);
		errno = e;
	}
	return rc;
}

EXPORT int dup(int fd)
{
	int n = real_dup()(fd);

	if (fast_nfds()) {
		int e = errno;

		fd_duplicated(fd, n);
		errno = e;
	}
	return n;
}

EXPORT int dup2(int fd, int fd2)
{
	int n;

	if (fd != fd2)
		drain_bypassed(fd2);
	n = real_dup2()(fd, fd2);

	if (fast_nfds()) {
		int e = errno;

		fd_duplicated(fd, n);
		errno = e;
	}
	return n;
}

EXPORT int dup3(int fd, int fd2, int flags)
{
	int n;

	if (fd != fd2)
		drain_bypassed(fd2);
	n = real_dup3()(fd, fd2, flags);

	if (fast_nfds()) {
		int e = errno;

		fd_duplicated(fd, n);
		errno = e;
	}
	return n;
}

static int fcntl_common(fcntl_t real, int fd, int cmd, va_list ap)
{
	void *arg = va_arg(ap, void *);
	int n = real(fd, cmd, arg);

	if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && fast_nfds()) {
		int e = errno;

		fd_duplicated(fd, n);
		errno = e;
	}
	return n;
}

EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	int rc;

	va_start(ap, cmd);
	rc = fcntl_common(real_fcntl(), fd, cmd, ap);
	va_end(ap);
	return rc;
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	int rc;

	va_start(ap, cmd);
	rc = fcntl_common(real_fcntl64(), fd, cmd, ap);
	va_end(ap);
	return rc;
}

static int fill_console(int sock, void *ctx)
{
	(void)sock;
	(void)ctx;
	return 0;
}

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	struct simfd e;

	if (fast_nfds() == 0 || !fd_lookup(fd, &e))
		return real_read()(fd, buf, n);
	free(e.path);
	if (e.kind == K_DIR) {
		errno = EISDIR;
		return -1;
	}
	if (e.kind == K_FILE && e.rerr) {
		errno = e.rerr;
		return -1;
	}
	if (e.kind == K_DEV && !e.console) {
		/* read() on the device is the hypervisor console, as `jhsim console` shows it. */
		struct answer a;
		struct simfd *live;

		request("console", fill_console, NULL, &a);
		if (a.ret < 0) {
			free(a.payload);
			errno = a.err;
			return -1;
		}
		pthread_mutex_lock(&g_lock);
		live = fd_find_locked(fd);
		if (live && !live->console) {
			live->console = 1;
			if (a.len && pwrite(fd, a.payload, a.len, 0) < 0)
				live->console = 0;
		}
		pthread_mutex_unlock(&g_lock);
		free(a.payload);
	}
	return real_read()(fd, buf, n);
}

struct write_ctx {
	const char *path;
	const void *buf;
	size_t n;
};

static int fill_write(int sock, void *ctx)
{
	struct write_ctx *w = ctx;

	if (send_text(sock, "path", w->path) < 0 || send_field(sock, "data", w->buf, w->n) < 0)
		return -1;
	return send_identity(sock);
}

/* write(2) to a sysfs attribute: its store method, logged in the lab. */
static ssize_t sim_write(const struct simfd *e, const void *buf, size_t n)
{
	struct write_ctx w = { e->path, buf, n };
	char copy[4096];
	struct answer a;

	if (e->kind == K_DIR || e->acc == O_RDONLY) {
		errno = EBADF;
		return -1;
	}
	if (e->kind == K_DEV) {
		errno = EINVAL; /* the driver has no write method */
		return -1;
	}
	if (n == 0)
		return 0;
	/* kernfs hands a store method at most a page minus its NUL. */
	if (n > sizeof(copy) - 1)
		n = sizeof(copy) - 1;
	if (copy_own_memory((uint64_t)(uintptr_t)buf, n, copy) < 0) {
		errno = EFAULT;
		return -1;
	}
	w.buf = copy;
	w.n = n;
	request("write", fill_write, &w, &a);
	free(a.payload);
	if (a.ret < 0) {
		errno = a.err;
		return -1;
	}
	return (ssize_t)n;
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	struct simfd e;
	ssize_t rc;

	if (fast_nfds() == 0 || !fd_lookup(fd, &e))
		return real_write()(fd, buf, n);
	rc = sim_write(&e, buf, n);
	free(e.path);
	return rc;
}

/* stdio writes inside libc bypass write() above: a shell's echo builtin (printf, then
 * fflush) reaches a simulated attribute this way. What already went to the memfd is
 * drained, then the stream's pending bytes are sent as one write, before libc would; a
 * failure sets the stream's error flag, so `ferror` and the shell's "write error" see it. */
static int flush_sim(FILE *f)
{
	struct simfd e;
	int rc = 0;

	if (!f || fast_nfds() == 0 || !fd_lookup(fileno(f), &e))
		return 0;
	if (e.kind == K_FILE) {
		if (drain_bypassed(e.fd) < 0)
			rc = -1;
		if (f->_IO_write_ptr > f->_IO_write_base) {
			size_t pending = (size_t)(f->_IO_write_ptr - f->_IO_write_base);

			if (rc == 0 && sim_write(&e, f->_IO_write_base, pending) < 0)
				rc = -1;
			f->_IO_write_ptr = f->_IO_write_base;
		}
		if (rc < 0)
			f->_flags |= 0x20; /* _IO_ERR_SEEN */
	}
	free(e.path);
	return rc;
}

EXPORT int fflush(FILE *f)
{
	static int (*real_fflush)(FILE *);
	int (*rf)(FILE *) = __atomic_load_n(&real_fflush, __ATOMIC_ACQUIRE);

	if (!rf) {
		rf = (int (*)(FILE *))dlsym(RTLD_NEXT, "fflush");
		__atomic_store_n(&real_fflush, rf, __ATOMIC_RELEASE);
	}
	if (flush_sim(f) < 0) {
		int e = errno;

		rf(f);
		errno = e;
		return EOF;
	}
	return rf(f);
}

struct ioctl_ctx {
	unsigned long request;
	uint64_t arg;
};

static int fill_ioctl(int sock, void *ctx)
{
	struct ioctl_ctx *c = ctx;
	char num[32];

	snprintf(num, sizeof(num), "%u", (unsigned int)c->request);
	if (send_text(sock, "request", num) < 0)
		return -1;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)c->arg);
	if (send_text(sock, "arg", num) < 0)
		return -1;
	return send_identity(sock);
}

EXPORT int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	struct simfd e;
	struct answer a;
	struct ioctl_ctx c;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fast_nfds() == 0 || !fd_lookup(fd, &e))
		return real_ioctl()(fd, req, arg);
	free(e.path);
	if (e.kind != K_DEV) {
		errno = ENOTTY;
		return -1;
	}
	c.request = req;
	c.arg = (uint64_t)(uintptr_t)arg;
	request("ioctl", fill_ioctl, &c, &a);
	free(a.payload);
	if (a.ret < 0) {
		errno = a.err;
		return -1;
	}
	return (int)a.ret;
}

/* ---- stat family ---------------------------------------------------------------------- */

static int stat_path(int dirfd, const char *path, struct stat *st, int *handled)
{
	char p[PATH_MAX];
	enum claim cls = resolve(dirfd, path, p);

	*handled = cls != C_NONE;
	return *handled ? sim_stat(p, cls, st) : 0;
}

static int stat_fd(int fd, struct stat *st, int *handled)
{
	struct simfd e;

	*handled = fast_nfds() && fd_lookup(fd, &e);
	if (!*handled)
		return 0;
	fd_stat(&e, st);
	free(e.path);
	return 0;
}

#define DEFINE_STAT(name, T)                                                 \
	EXPORT int name(const char *path, T *st)                   \
	{                                                                    \
		int h, rc;                                                   \
		if (!maybe_claimed(path))                                    \
			return real_##name()(path, st);                      \
		rc = stat_path(AT_FDCWD, path, (struct stat *)st, &h);      \
		return h ? rc : real_##name()(path, st);                     \
	}

DEFINE_STAT(stat, struct stat)
DEFINE_STAT(stat64, struct stat64)
DEFINE_STAT(lstat, struct stat)
DEFINE_STAT(lstat64, struct stat64)

#define DEFINE_FSTAT(name, T)                                                \
	EXPORT int name(int fd, T *st)                             \
	{                                                                    \
		int h, rc;                                                   \
		if (fast_nfds() == 0)                                        \
			return real_##name()(fd, st);                        \
		rc = stat_fd(fd, (struct stat *)st, &h);                    \
		return h ? rc : real_##name()(fd, st);                       \
	}

DEFINE_FSTAT(fstat, struct stat)
DEFINE_FSTAT(fstat64, struct stat64)

static int fstatat_common(int dirfd, const char *path, struct stat *st, int flags, int *h)
{
	if (path && path[0] == 0 && (flags & AT_EMPTY_PATH))
		return stat_fd(dirfd, st, h);
	*h = 0;
	if (!maybe_claimed(path) && (dirfd == AT_FDCWD || fast_nfds() == 0 || !path || path[0] == '/'))
		return 0;
	return stat_path(dirfd, path, st, h);
}

#define DEFINE_FSTATAT(name, T)                                              \
	EXPORT int name(int dirfd, const char *path, T *st, int flags) \
	{                                                                    \
		int h = 0, rc = 0;                                           \
		if (maybe_claimed(path) || fast_nfds())                      \
			rc = fstatat_common(dirfd, path, (struct stat *)st, flags, &h); \
		return h ? rc : real_##name()(dirfd, path, st, flags);       \
	}

DEFINE_FSTATAT(fstatat, struct stat)
DEFINE_FSTATAT(fstatat64, struct stat64)

#define DEFINE_XSTAT(name, T)                                                \
	EXPORT int name(int ver, const char *path, T *st)          \
	{                                                                    \
		int h, rc;                                                   \
		if (!maybe_claimed(path))                                    \
			return real_##name()(ver, path, st);                 \
		rc = stat_path(AT_FDCWD, path, (struct stat *)st, &h);      \
		return h ? rc : real_##name()(ver, path, st);                \
	}

DEFINE_XSTAT(__xstat, struct stat)
DEFINE_XSTAT(__xstat64, struct stat64)
DEFINE_XSTAT(__lxstat, struct stat)
DEFINE_XSTAT(__lxstat64, struct stat64)

#define DEFINE_FXSTAT(name, T)                                               \
	EXPORT int name(int ver, int fd, T *st)                    \
	{                                                                    \
		int h, rc;                                                   \
		if (fast_nfds() == 0)                                        \
			return real_##name()(ver, fd, st);                   \
		rc = stat_fd(fd, (struct stat *)st, &h);                    \
		return h ? rc : real_##name()(ver, fd, st);                  \
	}

DEFINE_FXSTAT(__fxstat, struct stat)
DEFINE_FXSTAT(__fxstat64, struct stat64)

#define DEFINE_FXSTATAT(name, T)                                             \
	EXPORT int name(int ver, int dirfd, const char *path, T *st, int flags) \
	{                                                                    \
		int h = 0, rc = 0;                                           \
		if (maybe_claimed(path) || fast_nfds())                      \
			rc = fstatat_common(dirfd, path, (struct stat *)st, flags, &h); \
		return h ? rc : real_##name()(ver, dirfd, path, st, flags);  \
	}

DEFINE_FXSTATAT(__fxstatat, struct stat)
DEFINE_FXSTATAT(__fxstatat64, struct stat64)

EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *sx)
{
	struct stat st;
	int h = 0, rc = 0;

	if (maybe_claimed(path) || fast_nfds())
		rc = fstatat_common(dirfd, path, &st, flags, &h);
	if (!h)
		return real_statx()(dirfd, path, flags, mask, sx);
	if (rc < 0)
		return rc;
	memset(sx, 0, sizeof(*sx));
	sx->stx_mask = STATX_BASIC_STATS;
	sx->stx_blksize = (uint32_t)st.st_blksize;
	sx->stx_nlink = (uint32_t)st.st_nlink;
	sx->stx_mode = (uint16_t)st.st_mode;
	sx->stx_ino = st.st_ino;
	sx->stx_size = (uint64_t)st.st_size;
	sx->stx_rdev_major = major(st.st_rdev);
	sx->stx_rdev_minor = minor(st.st_rdev);
	sx->stx_dev_major = major(st.st_dev);
	sx->stx_dev_minor = minor(st.st_dev);
	return 0;
}

/* access(2): the program is root in the simulated machine (reads and writes pass the
 * permission check; executing needs an x bit, which only directories have). */
static int access_common(int dirfd, const char *path, int mode, int *h)
{
	struct stat st;
	int rc = stat_path(dirfd, path, &st, h);

	if (!*h || rc < 0)
		return rc;
	if ((mode & X_OK) && !S_ISDIR(st.st_mode)) {
		errno = EACCES;
		return -1;
	}
	return 0;
}

EXPORT int access(const char *path, int mode)
{
	int h, rc;

	if (!maybe_claimed(path))
		return real_access()(path, mode);
	rc = access_common(AT_FDCWD, path, mode, &h);
	return h ? rc : real_access()(path, mode);
}

EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
	int h = 0, rc = 0;

	if (maybe_claimed(path) || (fast_nfds() && dirfd != AT_FDCWD))
		rc = access_common(dirfd, path, mode, &h);
	return h ? rc : real_faccessat()(dirfd, path, mode, flags);
}

/* ---- directories ---------------------------------------------------------------------- */

static struct fdir *dir_registered_locked(DIR *d)
{
	size_t i;

	for (i = 0; i < g_ndirs; i++)
		if ((DIR *)g_dirs[i] == d)
			return g_dirs[i];
	return NULL;
}

static void dir_free(struct fdir *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->names[i]);
	free(d->names);
	free(d->types);
	free(d->path);
	free(d);
}

/* The listing of a claimed directory with "." and ".." first. */
static struct fdir *dir_build(const char *path, enum claim cls)
{
	struct fdir *d = calloc(1, sizeof(*d));
	struct node *n;
	char **names = NULL;
	unsigned char *types = NULL;
	size_t count = 0, i;
	int err = 0;

	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&g_lock);
	n = sim_lookup_locked(path, cls);
	if (!n)
		err = errno;
	else if (n->type == 'f')
		err = ENOTDIR;
	else if (list_locked(path, &names, &types, &count) < 0)
		err = ENOMEM;
	pthread_mutex_unlock(&g_lock);
	d->magic = FDIR_MAGIC;
	d->fd = -1;
	d->path = strdup(path);
	d->names = calloc(count + 2, sizeof(char *));
	d->types = calloc(count + 2, 1);
	if (!err && (!d->path || !d->names || !d->types))
		err = ENOMEM;
	if (!err) {
		d->names[0] = strdup(".");
		d->names[1] = strdup("..");
		d->types[0] = d->types[1] = DT_DIR;
		for (i = 0; i < count; i++) {
			d->names[i + 2] = names[i];
			d->types[i + 2] = types[i];
			names[i] = NULL;
		}
		d->n = count + 2;
	}
	for (i = 0; names && i < count; i++)
		free(names[i]);
	free(names);
	free(types);
	if (err) {
		dir_free(d);
		errno = err;
		return NULL;
	}
	return d;
}

static DIR *dir_register(struct fdir *d)
{
	pthread_mutex_lock(&g_lock);
	if (g_ndirs == g_capdirs) {
		size_t cap = g_capdirs ? g_capdirs * 2 : 4;
		struct fdir **v = realloc(g_dirs, cap * sizeof(*v));

		if (!v) {
			pthread_mutex_unlock(&g_lock);
			dir_free(d);
			errno = ENOMEM;
			return NULL;
		}
		g_dirs = v;
		g_capdirs = cap;
	}
	g_dirs[g_ndirs++] = d;
	__atomic_store_n(&g_ndirs_atomic, (int)g_ndirs, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&g_lock);
	return (DIR *)d;
}

EXPORT DIR *opendir(const char *path)
{
	char p[PATH_MAX];
	enum claim cls;
	struct fdir *d;

	if (!maybe_claimed(path))
		return real_opendir()(path);
	cls = resolve(AT_FDCWD, path, p);
	if (cls == C_NONE)
		return real_opendir()(path);
	if (cls == C_DEV) {
		errno = lab_exists(NULL, (char[PATH_MAX]){0}) < 0 ? ENOENT : ENOTDIR;
		return NULL;
	}
	d = dir_build(p, cls);
	if (!d)
		return NULL;
	d->fd = sim_open(p, cls, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->fd < 0) {
		int e = errno;

		dir_free(d);
		errno = e;
		return NULL;
	}
	return dir_register(d);
}

EXPORT DIR *fdopendir(int fd)
{
	struct simfd e;
	struct fdir *d;

	if (fast_nfds() == 0 || !fd_lookup(fd, &e))
		return real_fdopendir()(fd);
	if (e.kind != K_DIR) {
		free(e.path);
		errno = ENOTDIR;
		return NULL;
	}
	d = dir_build(e.path, classify(e.path));
	free(e.path);
	if (!d)
		return NULL;
	d->fd = fd;
	return dir_register(d);
}

static struct dirent *dir_next(struct fdir *d)
{
	const char *name;
	char full[PATH_MAX * 2];

	if (d->pos >= d->n)
		return NULL;
	name = d->names[d->pos];
	memset(&d->ent, 0, sizeof(d->ent));
	snprintf(full, sizeof(full), "%s/%s", d->path, name);
	d->ent.d_ino = (ino_t)fnv(full);
	d->ent.d_off = (off_t)(d->pos + 1);
	d->ent.d_reclen = sizeof(d->ent);
	d->ent.d_type = d->types[d->pos];
	snprintf(d->ent.d_name, sizeof(d->ent.d_name), "%s", name);
	d->pos++;
	return &d->ent;
}

EXPORT struct dirent *readdir(DIR *dir)
{
	struct fdir *d;
	struct dirent *r = NULL;

	if (__atomic_load_n(&g_ndirs_atomic, __ATOMIC_RELAXED) == 0)
		return real_readdir()(dir);
	pthread_mutex_lock(&g_lock);
	d = dir_registered_locked(dir);
	if (d)
		r = dir_next(d);
	pthread_mutex_unlock(&g_lock);
	return d ? r : real_readdir()(dir);
}

EXPORT struct dirent64 *readdir64(DIR *dir)
{
	struct fdir *d;
	struct dirent *r = NULL;

	_Static_assert(sizeof(struct dirent) == sizeof(struct dirent64), "dirent64 is dirent on LP64");
	if (__atomic_load_n(&g_ndirs_atomic, __ATOMIC_RELAXED) == 0)
		return real_readdir64()(dir);
	pthread_mutex_lock(&g_lock);
	d = dir_registered_locked(dir);
	if (d)
		r = dir_next(d);
	pthread_mutex_unlock(&g_lock);
	return d ? (struct dirent64 *)r : real_readdir64()(dir);
}

EXPORT int closedir(DIR *dir)
{
	struct fdir *d = NULL;
	size_t i;

	if (__atomic_load_n(&g_ndirs_atomic, __ATOMIC_RELAXED) == 0)
		return real_closedir()(dir);
	pthread_mutex_lock(&g_lock);
	for (i = 0; i < g_ndirs; i++) {
		if ((DIR *)g_dirs[i] == dir) {
			d = g_dirs[i];
			g_dirs[i] = g_dirs[--g_ndirs];
			__atomic_store_n(&g_ndirs_atomic, (int)g_ndirs, __ATOMIC_RELAXED);
			break;
		}
	}
	pthread_mutex_unlock(&g_lock);
	if (!d)
		return real_closedir()(dir);
	close(d->fd);
	dir_free(d);
	return 0;
}

EXPORT int dirfd(DIR *dir)
{
	struct fdir *d;
	int fd = -1;

	if (__atomic_load_n(&g_ndirs_atomic, __ATOMIC_RELAXED) == 0)
		return real_dirfd()(dir);
	pthread_mutex_lock(&g_lock);
	d = dir_registered_locked(dir);
	if (d)
		fd = d->fd;
	pthread_mutex_unlock(&g_lock);
	return d ? fd : real_dirfd()(dir);
}

EXPORT void rewinddir(DIR *dir)
{
	struct fdir *d;

	if (__atomic_load_n(&g_ndirs_atomic, __ATOMIC_RELAXED) == 0) {
		real_rewinddir()(dir);
		return;
	}
	pthread_mutex_lock(&g_lock);
	d = dir_registered_locked(dir);
	if (d)
		d->pos = 0;
	pthread_mutex_unlock(&g_lock);
	if (!d)
		real_rewinddir()(dir);
}

EXPORT long telldir(DIR *dir)
{
	struct fdir *d;
	long pos = 0;

	if (__atomic_load_n(&g_ndirs_atomic, __ATOMIC_RELAXED) == 0)
		return real_telldir()(dir);
	pthread_mutex_lock(&g_lock);
	d = dir_registered_locked(dir);
	if (d)
		pos = (long)d->pos;
	pthread_mutex_unlock(&g_lock);
	return d ? pos : real_telldir()(dir);
}

EXPORT void seekdir(DIR *dir, long pos)
{
	struct fdir *d;

	if (__atomic_load_n(&g_ndirs_atomic, __ATOMIC_RELAXED) == 0) {
		real_seekdir()(dir, pos);
		return;
	}
	pthread_mutex_lock(&g_lock);
	d = dir_registered_locked(dir);
	if (d && pos >= 0)
		d->pos = (size_t)pos < d->n ? (size_t)pos : d->n;
	pthread_mutex_unlock(&g_lock);
	if (!d)
		real_seekdir()(dir, pos);
}

typedef int (*cmp_t)(const void *, const void *);

/* scandir(3) of a claimed directory: scandir inside libc opens and reads through
 * internal calls this library cannot see, so it is done here. */
static int sim_scandir(const char *path, enum claim cls, struct dirent ***out,
		       int (*filter)(const struct dirent *), cmp_t cmp)
{
	struct fdir *d = dir_build(path, cls);
	struct dirent **v;
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return -1;
	v = malloc((d->n + 1) * sizeof(*v));
	if (!v) {
		dir_free(d);
		errno = ENOMEM;
		return -1;
	}
	while ((e = dir_next(d)) != NULL) {
		struct dirent *copy;

		if (filter && !filter(e))
			continue;
		copy = malloc(sizeof(*copy));
		if (!copy) {
			while (n > 0)
				free(v[--n]);
			free(v);
			dir_free(d);
			errno = ENOMEM;
			return -1;
		}
		memcpy(copy, e, sizeof(*copy));
		v[n++] = copy;
	}
	dir_free(d);
	if (cmp && n > 1)
		qsort(v, n, sizeof(*v), cmp);
	*out = v;
	return (int)n;
}

EXPORT int scandir(const char *path, struct dirent ***out, int (*filter)(const struct dirent *),
		   int (*cmp)(const struct dirent **, const struct dirent **))
{
	char p[PATH_MAX];
	enum claim cls;

	if (!maybe_claimed(path))
		return real_scandir()(path, out, filter, cmp);
	cls = resolve(AT_FDCWD, path, p);
	if (cls == C_NONE)
		return real_scandir()(path, out, filter, cmp);
	if (cls == C_DEV) {
		errno = lab_exists(NULL, (char[PATH_MAX]){0}) < 0 ? ENOENT : ENOTDIR;
		return -1;
	}
	return sim_scandir(p, cls, out, filter, (cmp_t)cmp);
}

EXPORT int scandir64(const char *path, struct dirent64 ***out, int (*filter)(const struct dirent64 *),
		     int (*cmp)(const struct dirent64 **, const struct dirent64 **))
{
	char p[PATH_MAX];
	enum claim cls;

	if (!maybe_claimed(path))
		return real_scandir64()(path, out, filter, cmp);
	cls = resolve(AT_FDCWD, path, p);
	if (cls == C_NONE)
		return real_scandir64()(path, out, filter, cmp);
	if (cls == C_DEV) {
		errno = lab_exists(NULL, (char[PATH_MAX]){0}) < 0 ? ENOENT : ENOTDIR;
		return -1;
	}
	return sim_scandir(p, cls, (struct dirent ***)out, (int (*)(const struct dirent *))filter, (cmp_t)cmp);
}
