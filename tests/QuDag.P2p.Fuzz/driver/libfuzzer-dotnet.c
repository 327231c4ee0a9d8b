// libFuzzer driver for a SharpFuzz 2.x target (Fuzzer.LibFuzzer.Run), written for this repository after
// the protocol of Metalnem/libfuzzer-dotnet as SharpFuzz 2.3.0's client side speaks it (POSIX):
//
//   * one System V shared memory segment: [0, 64 KiB) the edge-hit map SharpFuzz's instrumentation
//     writes, [64 KiB, 64 KiB + 1 MiB) the current input;
//   * the target is started with __LIBFUZZER_SHM_ID (the shmid), __LIBFUZZER_CONTROL_PIPE_ID and
//     __LIBFUZZER_STATUS_PIPE_ID (file descriptor numbers of two anonymous pipes) in its environment;
//   * the target writes an int32 0 on the status pipe when it is ready; then, per input, the driver
//     writes the input's length as int32 on the control pipe, the target runs it and answers with an
//     int32 status on the status pipe: 0 ok, anything else a crash (the target printed the exception
//     and exits). End of file on the status pipe means the target died (stack overflow, FailFast, ...).
//
// The edge map is copied into libFuzzer's extra-counters section after each run, so libFuzzer sees the
// .NET code's coverage as its own. A crash aborts this process, and libFuzzer saves the input.
//
// Usage: libfuzzer-dotnet --target_path=PROGRAM [--target_arg=ARG ...] [libFuzzer flags] [corpus dirs]
// (libFuzzer ignores flags that start with "--").
// Build: clang -O2 -fsanitize=fuzzer libfuzzer-dotnet.c -o libfuzzer-dotnet

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAP_SIZE (1 << 16)
#define DATA_SIZE (1 << 20)
#define CONTROL_FD 198
#define STATUS_FD 199
#define MAX_TARGET_ARGS 32

__attribute__((used, section("__libfuzzer_extra_counters"))) static uint8_t extra_counters[MAP_SIZE];

static uint8_t seen[MAP_SIZE]; // every map entry any run of this session hit, for the closing report
static uint8_t *shared;
static int control_w = -1;
static int status_r = -1;
static pid_t target_pid;

static void die(const char *what) {
    fprintf(stderr, "libfuzzer-dotnet: %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
    exit(1);
}

static int write_all(int fd, const void *buffer, size_t size) {
    const uint8_t *p = buffer;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        size -= (size_t)n;
    }
    return 0;
}

static int read_all(int fd, void *buffer, size_t size) {
    uint8_t *p = buffer;
    while (size > 0) {
        ssize_t n = read(fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        size -= (size_t)n;
    }
    return 0;
}

// The target is gone or said it crashed: report and abort, so libFuzzer writes the crash input.
static void target_crashed(const char *why) {
    int wstatus = 0;
    fprintf(stderr, "==libfuzzer-dotnet== %s\n", why);
    if (target_pid > 0 && waitpid(target_pid, &wstatus, 0) == target_pid) {
        if (WIFEXITED(wstatus)) fprintf(stderr, "==libfuzzer-dotnet== target exited with code %d\n", WEXITSTATUS(wstatus));
        else if (WIFSIGNALED(wstatus)) fprintf(stderr, "==libfuzzer-dotnet== target killed by signal %d\n", WTERMSIG(wstatus));
    }
    target_pid = 0;
    abort();
}

static void report_edges(void) {
    size_t edges = 0;
    for (size_t i = 0; i < MAP_SIZE; i++) edges += seen[i] != 0;
    fprintf(stderr, "libfuzzer-dotnet: %zu distinct .NET edge-map entries hit in this session\n", edges);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *target_path = NULL;
    char *target_argv[MAX_TARGET_ARGS + 2];
    int target_argc = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = (*argv)[i];
        if (strncmp(a, "--target_path=", 14) == 0) target_path = a + 14;
        else if (strncmp(a, "--target_arg=", 13) == 0 && target_argc <= MAX_TARGET_ARGS) target_argv[target_argc++] = (char *)a + 13;
    }
    if (!target_path) { errno = 0; die("--target_path=PROGRAM is required"); }
    target_argv[0] = (char *)target_path;
    target_argv[target_argc] = NULL;

    int shmid = shmget(IPC_PRIVATE, MAP_SIZE + DATA_SIZE, IPC_CREAT | IPC_EXCL | 0600);
    if (shmid < 0) die("shmget");
    shared = shmat(shmid, NULL, 0);
    if (shared == (void *)-1) die("shmat");
    // Linux lets the target attach a segment already marked for removal; marking it now means no
    // segment is left behind however this process ends.
    shmctl(shmid, IPC_RMID, NULL);

    int control[2], status[2];
    if (pipe2(control, O_CLOEXEC) < 0 || pipe2(status, O_CLOEXEC) < 0) die("pipe2");
    signal(SIGPIPE, SIG_IGN); // a dead target shows up as a failed write, not as our death

    target_pid = fork();
    if (target_pid < 0) die("fork");
    if (target_pid == 0) {
        char id[32];
        // dup2 clears close-on-exec, so exactly these two pipe ends reach the target.
        if (dup2(control[0], CONTROL_FD) < 0 || dup2(status[1], STATUS_FD) < 0) { perror("libfuzzer-dotnet: dup2"); _exit(127); }
        snprintf(id, sizeof id, "%d", shmid);
        setenv("__LIBFUZZER_SHM_ID", id, 1);
        setenv("__LIBFUZZER_CONTROL_PIPE_ID", "198", 1);
        setenv("__LIBFUZZER_STATUS_PIPE_ID", "199", 1);
        signal(SIGPIPE, SIG_DFL);
        execvp(target_path, target_argv);
        perror("libfuzzer-dotnet: exec of the target");
        _exit(127); // not exit(): libFuzzer's handlers belong to the parent

    }
    close(control[0]);
    close(status[1]);
    control_w = control[1];
    status_r = status[0];

    int32_t ready;
    if (read_all(status_r, &ready, sizeof ready) < 0 || ready != 0) {
        errno = 0;
        die("the target did not start (is it a SharpFuzz LibFuzzer.Run program?)");
    }
    fprintf(stderr, "libfuzzer-dotnet: target %s (pid %d) is ready\n", target_path, (int)target_pid);
    atexit(report_edges);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > DATA_SIZE) size = DATA_SIZE; // fuzz.sh keeps -max_len far below this
    memset(shared, 0, MAP_SIZE);
    memcpy(shared + MAP_SIZE, data, size);
    int32_t length = (int32_t)size;
    if (write_all(control_w, &length, sizeof length) < 0) target_crashed("the target stopped reading inputs");
    int32_t status;
    if (read_all(status_r, &status, sizeof status) < 0) target_crashed("the target died while running this input");
    memcpy(extra_counters, shared, MAP_SIZE);
    for (size_t i = 0; i < MAP_SIZE; i++) seen[i] |= shared[i];
    if (status != 0) target_crashed("the target reported an uncaught exception (printed above)");
    return 0;
}
