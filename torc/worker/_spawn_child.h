/* torc.worker._spawn's child side, included by _spawn.c: what runs in the cloned child
 * between clone() and execve(). It makes raw system calls only (the child shares the worker
 * thread's errno), reads only its Block, and reports a failed step there (see _spawn.c). */
#ifndef TORC_SPAWN_CHILD_H
#define TORC_SPAWN_CHILD_H

static inline long
raw6(long n, long a, long b, long c, long d, long e, long f)
{
#if defined(__x86_64__)
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
#else
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
#endif
}

#define RAW(n, a, b, c, d) raw6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define KERNEL_SIGSET 8     /* bytes: the kernel's sigset_t (64 signals) */
#define KERNEL_NSIG 64
#define CHILD_STACK 16384

/* Which step failed (failure()'s second item). */
enum { STEP_NONE, STEP_SIGNALS, STEP_SESSION, STEP_STDIN, STEP_STDOUT, STEP_STDERR,
       STEP_CWD, STEP_EXEC };
static const char *const step_names[] = {
    "", "signals", "session", "stdin", "stdout", "stderr", "cwd", "exec"};

typedef struct {
    volatile int error;   /* errno of the step that failed; 0 while none has */
    volatile int step;
    uint64_t mask;        /* the worker thread's signal mask, restored before exec */
    const char *path, *stdin_path, *stdout_path, *stderr_path, *cwd;  /* stderr NULL: 2>&1 */
    char **argv, **envp;
    int mode;
} Block;

static void
child_fail(Block *b, int step, long ret)
{
    b->step = step;
    b->error = (int)-ret;
    RAW(SYS_exit_group, 127, 0, 0, 0);
}

/* Open ``path`` onto descriptor ``target``. */
static void
child_open(Block *b, int step, const char *path, int flags, int target)
{
    long fd = RAW(SYS_openat, AT_FDCWD, path, flags, b->mode);
    if (fd < 0)
        child_fail(b, step, fd);
    if (fd != target) {
        long r = RAW(SYS_dup3, fd, target, 0, 0);
        if (r < 0)
            child_fail(b, step, r);
        RAW(SYS_close, fd, 0, 0, 0);
    }
}

static int
child_main(void *arg)
{
    Block *b = (Block *)arg;
    /* The kernel's struct sigaction: the handler comes first on every architecture. */
    unsigned long old[4], dfl[4] = {0, 0, 0, 0};
    for (int sig = 1; sig <= KERNEL_NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        if (RAW(SYS_rt_sigaction, sig, 0, old, KERNEL_SIGSET) < 0)
            continue;  /* signals glibc keeps for itself may refuse; none has our handler */
        /* SIGPIPE and SIGXFSZ: Python ignores them for itself; a job gets them at their
         * defaults, as subprocess.Popen (restore_signals) and Torc's runner give them. */
        int restore = sig == SIGPIPE || sig == SIGXFSZ;
        if (old[0] != (unsigned long)SIG_DFL && (restore || old[0] != (unsigned long)SIG_IGN)) {
            long r = RAW(SYS_rt_sigaction, sig, dfl, 0, KERNEL_SIGSET);
            if (r < 0)
                child_fail(b, STEP_SIGNALS, r);
        }
    }
    long r = RAW(SYS_setsid, 0, 0, 0, 0);
    if (r < 0)
        child_fail(b, STEP_SESSION, r);
    child_open(b, STEP_STDIN, b->stdin_path, O_RDONLY, 0);
    child_open(b, STEP_STDOUT, b->stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 1);
    if (b->stderr_path == NULL) {
        r = RAW(SYS_dup3, 1, 2, 0, 0);
        if (r < 0)
            child_fail(b, STEP_STDERR, r);
    } else {
        child_open(b, STEP_STDERR, b->stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 2);
    }
    if (b->cwd != NULL && (r = RAW(SYS_chdir, b->cwd, 0, 0, 0)) < 0)
        child_fail(b, STEP_CWD, r);
    if (RAW(SYS_close_range, 3, ~0U, 0, 0) < 0)  /* before Linux 5.9: one by one */
        for (long fd = 3; fd < 4096; fd++)
            RAW(SYS_close, fd, 0, 0, 0);
    RAW(SYS_rt_sigprocmask, SIG_SETMASK, &b->mask, 0, KERNEL_SIGSET);
    r = RAW(SYS_execve, b->path, b->argv, b->envp, 0);
    child_fail(b, STEP_EXEC, r);
    return 127;
}

#endif
