/* An LD_PRELOAD shim for tests: fsync() of a coordinator's WAL segment (a file whose name
 * starts with "wal-") waits while the file named by TORC_TEST_FSYNC_GATE exists, after
 * creating "<gate>.entered". The coordinator's write() has happened by then, so the test sees
 * the moment between a record being written and it being durable, which is otherwise a few
 * milliseconds wide. Other files (snapshots, parts) are fsync'ed as usual. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int (*real_fsync)(int);

static int is_wal_segment(int fd) {
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        return 0;
    path[n] = 0;
    const char *base = strrchr(path, '/');
    return base != NULL && strncmp(base + 1, "wal-", 4) == 0;
}

int fsync(int fd) {
    if (real_fsync == NULL)
        real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    const char *gate = getenv("TORC_TEST_FSYNC_GATE");
    if (gate != NULL && is_wal_segment(fd) && access(gate, F_OK) == 0) {
        char entered[4096];
        snprintf(entered, sizeof entered, "%s.entered", gate);
        int marker = open(entered, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (marker >= 0)
            close(marker);
        struct timespec pause = {0, 2000000};
        while (access(gate, F_OK) == 0)
            nanosleep(&pause, NULL);
    }
    return real_fsync(fd);
}
