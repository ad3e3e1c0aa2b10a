/* torc.worker._spawn: start a job's process without waiting for it to exec.
 *
 * glibc's posix_spawn (what os.posix_spawn calls) clones with CLONE_VM | CLONE_VFORK: the
 * calling thread sleeps until the child has opened its stdio files, left the session and
 * exec'd. A worker is one Python thread, so while each new job waits for a core, the jobs
 * that have ended wait to be reaped, and a busy worker leaves cores idle (the benchmarks
 * page has the figures). Here the child shares the worker's memory (CLONE_VM, no page tables copied)
 * but not its sleep (no CLONE_VFORK): spawn() returns once the child exists.
 *
 * What makes that safe:
 * - The child reads only its own block (argv, environment, paths, its stack: one mapping,
 *   with an inaccessible guard page under the stack). The Child object owns it: it unmaps
 *   it only once the child can no longer touch it (reaped, exited, or exec'd, which kcmp
 *   tells); a Child dropped earlier leaves its block on a list swept at each spawn.
 * - Every signal is blocked across clone(), so no handler of the worker can run in the
 *   child; the child resets caught signals to SIG_DFL before restoring the worker's mask, as
 *   glibc's posix_spawn child does (glibc's own two internal signals are left at their
 *   defaults, as fork and exec leave them, where posix_spawn would leave them ignored).
 *   SIGPIPE and SIGXFSZ, which Python ignores for itself, go back to their defaults too.
 * - The child makes raw system calls, never glibc's wrappers: a wrapper that fails sets
 *   errno, and the child shares the worker thread's errno (same memory, same TLS).
 * - A step that fails (a stdio file that cannot be opened, exec) is written into the block
 *   with its errno and the child exits 127; the worker reads it after reaping (failure()).
 * - Descriptors from 3 up are closed before exec (close_range): a job inherits only its
 *   stdio, whatever the worker had open without O_CLOEXEC.
 *
 * Linux on x86-64 and AArch64 only (the system call instruction); elsewhere the module does
 * not build and torc.worker.process falls back to os.posix_spawn.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>  /* first, as Python asks; its pyconfig.h defines _GNU_SOURCE */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436  /* the same number on x86-64 and AArch64 */
#endif
#define KCMP_VM 1            /* linux/kcmp.h */

#if !defined(__linux__) || !(defined(__x86_64__) || defined(__aarch64__))
#error "torc.worker._spawn: Linux on x86-64 or AArch64 only"
#endif

#include "_spawn_child.h"

/* ----- the block's memory: [guard page][child stack][Block, arrays, strings] */

typedef struct {
    void *base;     /* the mapping */
    size_t length;
    pid_t pid;      /* the child that reads it (0: none yet) */
} Mapping;

/* Whether the child of ``m`` can no longer touch the block: it was reaped, it exited, or it
 * exec'd (its memory is no longer ours). Unsure means no. */
static int
block_unused(const Mapping *m)
{
    if (m->pid <= 0)
        return 1;
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)m->pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0)
        return errno == ECHILD;        /* reaped already */
    if (info.si_pid == m->pid)
        return 1;                      /* a zombie: it runs no more */
    return syscall(SYS_kcmp, (long)getpid(), (long)m->pid, KCMP_VM, 0L, 0L) > 0;
}

/* Mappings of the usual size, unused, kept for the next spawns: a mapping, its guard page
 * and its first touches cost a busy worker a few percent of its jobs per second when each
 * spawn made and unmapped its own (munmap also interrupts every CPU the mm runs on). */
#define POOL_ARGS 65536  /* room for arguments and environment in a pooled mapping */
#define POOL_SIZE 64
static void *pool[POOL_SIZE];
static size_t n_pool, pooled_length;

static void
unmap(void *base, size_t length)
{
    if (length == pooled_length && n_pool < POOL_SIZE)
        pool[n_pool++] = base;
    else
        munmap(base, length);
}

/* Blocks whose Child went before its child could be shown not to need them. */
static Mapping *orphans;
static size_t n_orphans, orphans_room;

static void
sweep_orphans(void)
{
    size_t kept = 0;
    for (size_t i = 0; i < n_orphans; i++) {
        if (block_unused(&orphans[i]))
            unmap(orphans[i].base, orphans[i].length);
        else
            orphans[kept++] = orphans[i];
    }
    n_orphans = kept;
}

static void
release_block(Mapping m)
{
    if (m.base == NULL)
        return;
    if (block_unused(&m)) {
        unmap(m.base, m.length);
        return;
    }
    if (n_orphans == orphans_room) {
        size_t room = orphans_room ? 2 * orphans_room : 16;
        Mapping *grown = realloc(orphans, room * sizeof(Mapping));
        if (grown == NULL)
            return;  /* left mapped for ever: a leak, never a use after free */
        orphans = grown;
        orphans_room = room;
    }
    orphans[n_orphans++] = m;
}

/* ----- the Child object: the pid and the block it owns */

typedef struct {
    PyObject_HEAD
    pid_t pid;
    Block *block;
    Mapping mapping;
} Child;

static void
Child_dealloc(Child *self)
{
    release_block(self->mapping);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
Child_failure(Child *self, PyObject *Py_UNUSED(ignored))
{
    if (self->block == NULL || self->block->error == 0)
        Py_RETURN_NONE;
    int step = self->block->step;
    return Py_BuildValue("(is)", self->block->error,
                         step_names[step > STEP_EXEC || step < 0 ? 0 : step]);
}

static PyObject *
Child_get_pid(Child *self, void *Py_UNUSED(closure))
{
    return PyLong_FromLong(self->pid);
}

static PyObject *
Child_get_guard(Child *self, void *Py_UNUSED(closure))
{
    return PyLong_FromVoidPtr(self->mapping.base);
}

static PyMethodDef Child_methods[] = {
    {"failure", (PyCFunction)Child_failure, METH_NOARGS,
     "After the child was reaped: None, or (errno, step) for the step that kept it from "
     "exec'ing (signals, session, stdin, stdout, stderr, cwd, exec)."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Child_getset[] = {
    {"pid", (getter)Child_get_pid, NULL, "The child's process id.", NULL},
    {"guard", (getter)Child_get_guard, NULL,
     "The address of the inaccessible page under the child's stack.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject ChildType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "torc.worker._spawn.Child",
    .tp_doc = "A spawned process: keep it until the process is reaped.",
    .tp_basicsize = sizeof(Child),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)Child_dealloc,
    .tp_methods = Child_methods,
    .tp_getset = Child_getset,
};

/* ----- gathering the arguments into one block */

typedef struct {
    const char *data;
    Py_ssize_t size;
} Str;

typedef struct {
    PyObject *keep;  /* a list of the bytes objects made from non-ASCII text */
    Py_ssize_t total;
} Gather;

/* ``obj`` (str, bytes or path-like) as bytes without a NUL; an ASCII str is read in place. */
static int
as_str(Gather *g, PyObject *obj, Str *out)
{
    if (PyUnicode_CheckExact(obj) && PyUnicode_READY(obj) == 0 && PyUnicode_IS_ASCII(obj)) {
        out->data = (const char *)PyUnicode_1BYTE_DATA(obj);
        out->size = PyUnicode_GET_LENGTH(obj);
        if (memchr(out->data, 0, out->size) != NULL) {
            PyErr_SetString(PyExc_ValueError, "embedded null byte");
            return -1;
        }
    } else {
        PyObject *bytes = NULL;
        if (!PyUnicode_FSConverter(obj, &bytes))  /* refuses NUL, like os.posix_spawn */
            return -1;
        int failed = PyList_Append(g->keep, bytes);
        Py_DECREF(bytes);  /* the list holds it */
        if (failed)
            return -1;
        out->data = PyBytes_AS_STRING(bytes);
        out->size = PyBytes_GET_SIZE(bytes);
    }
    g->total += out->size + 1;
    return 0;
}

static char *
put(char **cursor, const Str *s)
{
    char *start = *cursor;
    memcpy(start, s->data, s->size);
    start[s->size] = '\0';
    *cursor += s->size + 1;
    return start;
}

static const char *
put_optional(char **cursor, const Str *s, int present)
{
    return present ? put(cursor, s) : NULL;
}

PyDoc_STRVAR(spawn_doc,
"spawn(path, argv, env, stdin, stdout, stderr, cwd, mode) -> Child\n\n"
"Start ``path`` with ``argv`` and ``env`` (a dict) in a session of its own, stdin, stdout and\n"
"stderr opened from those paths (``stderr`` None: joined to stdout; files created with\n"
"``mode``), in ``cwd`` (None: this process's). Returns once the child exists, not once it\n"
"has exec'd; a step that fails then makes it exit 127 (see Child.failure). Raises OSError\n"
"when no process could be made, ValueError for text no process can take.");

static PyObject *
spawn(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *path_o, *argv_o, *env_o, *stdin_o, *stdout_o, *stderr_o, *cwd_o;
    int mode;
    if (!PyArg_ParseTuple(args, "OOO!OOOOi:spawn", &path_o, &argv_o, &PyDict_Type, &env_o,
                          &stdin_o, &stdout_o, &stderr_o, &cwd_o, &mode))
        return NULL;
    PyObject *argv_seq = PySequence_Fast(argv_o, "argv must be a sequence");
    if (argv_seq == NULL)
        return NULL;
    Py_ssize_t argc = PySequence_Fast_GET_SIZE(argv_seq), envc = PyDict_GET_SIZE(env_o);
    if (argc < 1) {
        Py_DECREF(argv_seq);
        PyErr_SetString(PyExc_ValueError, "argv must not be empty");
        return NULL;
    }
    Gather g = {PyList_New(0), 0};
    Str *strs = PyMem_Malloc(sizeof(Str) * (argc + 2 * envc + 5));
    Child *child = NULL;
    if (g.keep == NULL || strs == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    /* 0 path, 1 stdin, 2 stdout, 3 stderr, 4 cwd, then argv, then env keys and values */
    int has_err = stderr_o != Py_None, has_cwd = cwd_o != Py_None;
    if (as_str(&g, path_o, &strs[0]) || as_str(&g, stdin_o, &strs[1])
        || as_str(&g, stdout_o, &strs[2]) || (has_err && as_str(&g, stderr_o, &strs[3]))
        || (has_cwd && as_str(&g, cwd_o, &strs[4])))
        goto done;
    for (Py_ssize_t i = 0; i < argc; i++)
        if (as_str(&g, PySequence_Fast_GET_ITEM(argv_seq, i), &strs[5 + i]))
            goto done;
    Py_ssize_t pos = 0, i = 0;
    PyObject *key, *value;
    Str *env = strs + 5 + argc;
    while (PyDict_Next(env_o, &pos, &key, &value)) {
        if (as_str(&g, key, &env[2 * i]) || as_str(&g, value, &env[2 * i + 1]))
            goto done;
        if (env[2 * i].size == 0 || memchr(env[2 * i].data, '=', env[2 * i].size)) {
            PyErr_SetString(PyExc_ValueError, "illegal environment variable name");
            goto done;
        }
        i++;
    }
    if (n_orphans)
        sweep_orphans();
    /* One mapping: a guard page, the child's stack (growing down towards the guard), then
     * Block, the pointer arrays and the strings; of the usual size (from the pool) when they
     * fit. */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t arrays = sizeof(char *) * (argc + 1 + envc + 1);
    size_t head = (sizeof(Block) + arrays + g.total + 15) & ~(size_t)15;
    pooled_length = (page + CHILD_STACK + POOL_ARGS + page - 1) & ~(page - 1);
    size_t length = head <= POOL_ARGS ? pooled_length
                                      : (page + CHILD_STACK + head + page - 1) & ~(page - 1);
    char *base;
    if (length == pooled_length && n_pool > 0) {
        base = pool[--n_pool];
    } else {
        base = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base == MAP_FAILED) {
            PyErr_NoMemory();
            goto done;
        }
        if (mprotect(base, page, PROT_NONE) < 0) {
            munmap(base, length);
            PyErr_SetFromErrno(PyExc_OSError);
            goto done;
        }
    }
    Block *b = (Block *)(base + page + CHILD_STACK);
    memset(b, 0, sizeof(Block));
    b->argv = (char **)(b + 1);
    b->envp = b->argv + argc + 1;
    char *cursor = (char *)(b->envp + envc + 1);
    b->path = put(&cursor, &strs[0]);
    b->stdin_path = put(&cursor, &strs[1]);
    b->stdout_path = put(&cursor, &strs[2]);
    b->stderr_path = put_optional(&cursor, &strs[3], has_err);
    b->cwd = put_optional(&cursor, &strs[4], has_cwd);
    for (Py_ssize_t k = 0; k < argc; k++)
        b->argv[k] = put(&cursor, &strs[5 + k]);
    b->argv[argc] = NULL;
    for (Py_ssize_t k = 0; k < envc; k++) {  /* "key=value" */
        char *start = cursor;
        put(&cursor, &env[2 * k]);
        cursor[-1] = '=';
        put(&cursor, &env[2 * k + 1]);
        b->envp[k] = start;
    }
    b->envp[envc] = NULL;
    b->mode = mode;

    child = PyObject_New(Child, &ChildType);
    if (child == NULL) {
        unmap(base, length);
        goto done;
    }
    child->block = b;
    child->mapping = (Mapping){base, length, 0};
    sigset_t all, mask;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &mask);
    memcpy(&b->mask, &mask, KERNEL_SIGSET);
    pid_t pid = clone(child_main, (char *)b, CLONE_VM | SIGCHLD, b);  /* stack top: b */
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &mask, NULL);
    if (pid < 0) {
        Py_CLEAR(child);  /* unmaps the block: no child reads it (its pid is 0) */
        errno = clone_errno;
        PyErr_SetFromErrno(PyExc_OSError);
        goto done;
    }
    child->pid = pid;
    child->mapping.pid = pid;
done:
    Py_DECREF(argv_seq);
    Py_XDECREF(g.keep);
    PyMem_Free(strs);
    return (PyObject *)child;
}

static PyMethodDef methods[] = {
    {"spawn", spawn, METH_VARARGS, spawn_doc},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "torc.worker._spawn",
    .m_doc = "Start job processes without waiting for them to exec (see the C file).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__spawn(void)
{
    if (PyType_Ready(&ChildType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&ChildType);
    if (PyModule_AddObject(m, "Child", (PyObject *)&ChildType) < 0) {
        Py_DECREF(&ChildType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
