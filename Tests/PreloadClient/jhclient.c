/*
 * A small client of /dev/jailhouse and its sysfs, written for jhsim's tests of
 * libjhsim-preload (Tests/jhsimTests/PreloadTests.swift). It makes the six ioctls and
 * reads the sysfs tree with the same libc calls as the real tool: open/ioctl/close,
 * scandir with alphasort, open/fstat/read. The test compiles it with the system C
 * compiler; it is never built by SwiftPM and never committed as a binary.
 *
 *   jhclient enable FILE | disable | create FILE | start CELL | destroy CELL
 *   jhclient load CELL {FILE | -s STRING} [-a ADDRESS] ... | shutdown CELL
 *   jhclient list                   cell list, in the real tool's columns
 *   jhclient walk DIR               every file below DIR with its mode and content
 *   jhclient raw REQUEST ARG        one ioctl with raw numbers (hex or decimal)
 *   jhclient unmapped               CELL_CREATE whose config pointer is unmapped
 *   jhclient write PATH VALUE       one write(2) to a sysfs attribute (admin hotplug)
 *   jhclient plain DIR              file work outside Jailhouse, then the thread count
 *
 * Errors print as "NAME: strerror" with exit status 1, like the real tool.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* driver/jailhouse.h, x86-64: _IOW(0, n, struct) and _IO(0, 1). */
#define REQ_ENABLE 0x40080000UL
#define REQ_DISABLE 0x00000001UL
#define REQ_CREATE 0x40100002UL
#define REQ_LOAD 0x40300003UL
#define REQ_START 0x40280004UL
#define REQ_DESTROY 0x40280005UL

struct cell_ref { int32_t id; uint32_t pad; char name[32]; };
struct create_arg { uint64_t address; uint32_t size; uint32_t pad; };
struct image { uint64_t source; uint64_t size; uint64_t target; uint64_t pad; };
struct load_arg { struct cell_ref cell; uint32_t count; uint32_t pad; struct image images[]; };

static void *slurp(const char *path, size_t *size)
{
	struct stat st;
	void *buf;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		fprintf(stderr, "opening %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if (fstat(fd, &st) < 0 || !(buf = malloc(st.st_size ? (size_t)st.st_size : 1))) {
		perror("fstat");
		exit(1);
	}
	n = read(fd, buf, (size_t)st.st_size);
	if (n < 0) {
		fprintf(stderr, "reading %s: %s\n", path, strerror(errno));
		exit(1);
	}
	close(fd);
	*size = (size_t)n;
	return buf;
}

static int device(void)
{
	int fd = open("/dev/jailhouse", O_RDWR);

	if (fd < 0) {
		perror("opening /dev/jailhouse");
		exit(1);
	}
	return fd;
}

static int issue(const char *name, unsigned long request, void *arg)
{
	int fd = device();
	int rc = ioctl(fd, request, arg);

	if (rc != 0)
		perror(name);
	close(fd);
	return rc ? 1 : 0;
}

static void cell_ref(struct cell_ref *c, const char *arg)
{
	char *end;
	long long v;

	memset(c, 0, sizeof(*c));
	errno = 0;
	v = strtoll(arg, &end, 0);
	if (errno == 0 && *end == 0 && (int32_t)v >= 0) {
		c->id = (int32_t)v;
	} else {
		c->id = -1;
		strncpy(c->name, arg, sizeof(c->name) - 1);
	}
}

/* One sysfs attribute as the real tool reads it: open, fstat, read st_size bytes. */
static char *attribute(const char *path)
{
	size_t n;
	char *s = slurp(path, &n);

	s = realloc(s, n + 1);
	s[n] = 0;
	if (n > 0 && s[n - 1] == '\n')
		s[n - 1] = 0;
	return s;
}

static int not_dot(const struct dirent *d) { return d->d_name[0] != '.'; }

static int list(void)
{
	struct dirent **names;
	int i, n = scandir("/sys/devices/jailhouse/cells/", &names, not_dot, alphasort);

	if (n < 0) {
		if (errno == ENOENT)
			return 0;
		perror("scandir");
		return 1;
	}
	if (n > 0)
		printf("%-8s%-24s%-18s%-24s%-24s\n", "ID", "Name", "State", "Assigned CPUs", "Failed CPUs");
	for (i = 0; i < n; i++) {
		char path[512];
		char *f[4];
		const char *files[4] = { "name", "state", "cpus_assigned_list", "cpus_failed_list" };
		int k;

		for (k = 0; k < 4; k++) {
			snprintf(path, sizeof(path), "/sys/devices/jailhouse/cells/%s/%s", names[i]->d_name, files[k]);
			f[k] = attribute(path);
		}
		printf("%-8d%-24s%-18s%-24s%-24s\n", (int)strtoul(names[i]->d_name, NULL, 10), f[0], f[1], f[2], f[3]);
		for (k = 0; k < 4; k++)
			free(f[k]);
		free(names[i]);
	}
	free(names);
	return 0;
}

/* Depth first, names in byte order: "d PATH" or "f MODE PATH: content" or the errno. */
static void walk(const char *dir)
{
	struct dirent **names;
	int i, n = scandir(dir, &names, not_dot, alphasort);

	if (n < 0) {
		printf("%s: %s\n", dir, strerror(errno));
		return;
	}
	printf("d %s\n", dir);
	for (i = 0; i < n; i++) {
		char path[512];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (stat(path, &st) < 0) {
			printf("%s: stat: %s\n", path, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			walk(path);
		} else {
			char buf[8192];
			int fd = open(path, O_RDONLY);
			ssize_t k = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

			if (k < 0) {
				printf("f %o %s: %s\n", (unsigned)(st.st_mode & 0777), path, strerror(errno));
			} else {
				buf[k] = 0;
				printf("f %o %s: %s", (unsigned)(st.st_mode & 0777), path, buf);
			}
			if (fd >= 0)
				close(fd);
		}
		free(names[i]);
	}
	free(names);
}

static int load(int argc, char **argv, int shutdown)
{
	struct load_arg *arg = calloc(1, sizeof(*arg) + (size_t)argc * sizeof(struct image));
	int i = 1, n = 0;

	cell_ref(&arg->cell, argv[0]);
	while (!shutdown && i < argc) {
		size_t size;
		void *src;

		if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			src = strdup(argv[i + 1]);
			size = strlen(argv[i + 1]) + 1;
			i += 2;
		} else {
			src = slurp(argv[i], &size);
			i++;
		}
		arg->images[n].source = (uint64_t)(uintptr_t)src;
		arg->images[n].size = size;
		if (i + 1 < argc && strcmp(argv[i], "-a") == 0) {
			arg->images[n].target = strtoull(argv[i + 1], NULL, 0);
			i += 2;
		}
		n++;
	}
	arg->count = (uint32_t)n;
	return issue("JAILHOUSE_CELL_LOAD", REQ_LOAD, arg);
}

static int plain(const char *dir)
{
	char path[512], buf[64];
	struct stat st;
	DIR *d;
	struct dirent *e;
	int fd, rc, entries = 0, tasks = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/plain.txt", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	printf("write %zd\n", write(fd, "plain\n", 6));
	close(fd);
	f = fopen(path, "r");
	printf("fgets %s", fgets(buf, sizeof(buf), f) ? buf : "(null)\n");
	fclose(f);
	rc = stat(path, &st);
	printf("stat %d size %lld\n", rc, (long long)st.st_size);
	fd = open(path, O_RDONLY);
	rc = ioctl(fd, 0x1234, 0);
	printf("ioctl on a file %d %s\n", rc, strerror(errno));
	close(fd);
	rc = open("/nonexistent/x", O_RDONLY);
	printf("open missing %d %s\n", rc, strerror(errno));
	d = opendir(dir);
	while ((e = readdir(d)) != NULL)
		entries++;
	closedir(d);
	printf("entries %d\n", entries);
	d = opendir("/proc/self/task");
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			tasks++;
	closedir(d);
	printf("threads %d\n", tasks);
	return 0;
}

int main(int argc, char **argv)
{
	struct cell_ref ref;
	struct create_arg create;
	size_t size;

	if (argc < 2)
		return 2;
	if (strcmp(argv[1], "enable") == 0 && argc == 3)
		return issue("JAILHOUSE_ENABLE", REQ_ENABLE, slurp(argv[2], &size));
	if (strcmp(argv[1], "disable") == 0)
		return issue("JAILHOUSE_DISABLE", REQ_DISABLE, NULL);
	if (strcmp(argv[1], "create") == 0 && argc == 3) {
		create.address = (uint64_t)(uintptr_t)slurp(argv[2], &size);
		create.size = (uint32_t)size;
		create.pad = 0;
		return issue("JAILHOUSE_CELL_CREATE", REQ_CREATE, &create);
	}
	if ((strcmp(argv[1], "start") == 0 || strcmp(argv[1], "destroy") == 0) && argc == 3) {
		int start = strcmp(argv[1], "start") == 0;

		cell_ref(&ref, argv[2]);
		return issue(start ? "JAILHOUSE_CELL_START" : "JAILHOUSE_CELL_DESTROY", start ? REQ_START : REQ_DESTROY, &ref);
	}
	if (strcmp(argv[1], "load") == 0 && argc >= 4)
		return load(argc - 2, argv + 2, 0);
	if (strcmp(argv[1], "shutdown") == 0 && argc == 3)
		return load(1, argv + 2, 1);
	if (strcmp(argv[1], "list") == 0)
		return list();
	if (strcmp(argv[1], "walk") == 0 && argc == 3) {
		walk(argv[2]);
		return 0;
	}
	if (strcmp(argv[1], "raw") == 0 && argc == 4) {
		int fd = device();
		int rc = ioctl(fd, strtoul(argv[2], NULL, 0), (void *)(uintptr_t)strtoull(argv[3], NULL, 0));

		printf("rc %d errno %s\n", rc, rc ? strerror(errno) : "0");
		close(fd);
		return 0;
	}
	if (strcmp(argv[1], "unmapped") == 0) {
		void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		munmap(page, 4096);
		create.address = (uint64_t)(uintptr_t)page;
		create.size = 4096;
		create.pad = 0;
		return issue("JAILHOUSE_CELL_CREATE", REQ_CREATE, &create);
	}
	if (strcmp(argv[1], "write") == 0 && argc == 4) {
		int fd = open(argv[2], O_WRONLY);

		if (fd < 0 || write(fd, argv[3], strlen(argv[3])) < 0) {
			perror(argv[2]);
			return 1;
		}
		close(fd);
		return 0;
	}
	if (strcmp(argv[1], "plain") == 0 && argc == 3)
		return plain(argv[2]);
	return 2;
}
