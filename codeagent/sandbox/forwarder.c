/*
 * codeagent-forward: the sandbox's one way out.
 *
 *   codeagent-forward PORT SOCKET -- COMMAND [ARG...]
 *
 * Listens on 127.0.0.1:PORT, relays every connection to the unix socket SOCKET (the
 * action's gateway, bind-mounted into the sandbox), and runs COMMAND. The sandbox has no
 * network (network_mode none), so this is how the agent's CLI reaches the model API
 * (its base URL is http://127.0.0.1:PORT) and package managers reach registries
 * (HTTPS_PROXY=http://127.0.0.1:PORT); the gateway decides what passes.
 *
 * It is the container's first process (its init): it runs COMMAND as its child, reaps every
 * process that ends, passes SIGTERM, SIGINT and SIGHUP on to COMMAND, and ends with COMMAND's
 * status. Every few seconds it checks the socket: when the gateway is gone (the socket refuses
 * connections or has vanished: the action that served it was killed), it kills every process of
 * the sandbox and ends, so the sandbox ends with the action rather than running on, unwatched,
 * until its wall-clock limit. The agent runs as the same user, yet cannot stop this: a namespace's
 * init gets no SIGKILL or SIGSTOP from inside it, and it is not dumpable, so the agent cannot
 * ptrace it or write its memory either; a check that cannot tell (the agent lowered this process's
 * limits with prlimit(2)) is not taken for a gateway that is there. (Not started as init, as in
 * tests, it kills COMMAND's process group instead.)
 *
 * Built static, so it runs in any sandbox image (the default one, a devcontainer's, a
 * custom one). It holds no secret: everything it relays is checked on the other side.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <unistd.h>

static int write_all(int fd, const char *data, ssize_t size) {
    while (size > 0) {
        ssize_t sent = write(fd, data, (size_t)size);
        if (sent < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        data += sent;
        size -= sent;
    }
    return 0;
}

/* Copy both ways until both sides closed; a side that ends is half-closed on the other. */
static void relay(int client, int gateway) {
    struct pollfd fds[2] = {{client, POLLIN, 0}, {gateway, POLLIN, 0}};
    int peer[2] = {gateway, client};
    int open_sides = 2;
    char buffer[65536];
    while (open_sides > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t got = read(fds[i].fd, buffer, sizeof buffer);
            if (got > 0 && write_all(peer[i], buffer, got) == 0) continue;
            if (got < 0 && errno == EINTR) continue;
            shutdown(peer[i], SHUT_WR);
            fds[i].fd = -1;
            open_sides--;
        }
    }
}

/* A connection to the gateway's socket (``flags``: SOCK_NONBLOCK or 0), or -1 with errno saying why not. */
static int connect_gateway(const char *path, int flags) {
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | flags, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
        int why = errno;
        close(fd);
        errno = why;
        return -1;
    }
    return fd;
}

static int listen_loopback(int port) {
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons((unsigned short)port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int yes = 1;
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0 || listen(fd, 128) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Accept forever; each connection is relayed by a child of its own. */
static void serve(int listener, const char *gateway_path) {
    signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
    for (;;) {
        int client = accept(listener, NULL, NULL);
        if (client < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            _exit(1);
        }
        /* A relay passes each piece on as it comes: without this, Nagle holds a streamed answer's
           next small write until the client's delayed ACK of the last one (~40 ms). */
        int yes = 1;
        setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
        pid_t pid = fork();
        if (pid == 0) {
            close(listener);
            int gateway = connect_gateway(gateway_path, 0);
            if (gateway < 0) {
                static const char refused[] =
                    "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 36\r\nConnection: close\r\n\r\n"
                    "codeagent: the gateway is not there\n";
                write_all(client, refused, (ssize_t)(sizeof refused - 1));
                _exit(1);
            }
            relay(client, gateway);
            _exit(0);
        }
        close(client);
    }
}

#define WATCH_INTERVAL_S 3
#define WATCH_MISSES 2 /* checks in a row that find no gateway before the sandbox is killed */

#define GATEWAY_THERE 0
#define GATEWAY_GONE 1 /* its socket refuses connections or is no longer there: the action was killed */
#define GATEWAY_UNKNOWN 2 /* the check itself failed (no file descriptor, no memory) */
#define UNKNOWN_MISSES 10 /* checks in a row that cannot tell before the sandbox is killed anyway */

/* Whether the gateway is there. A check that cannot tell is not taken for "there": the agent, as the
   same user, can lower this process's limits with prlimit(2) (RLIMIT_NOFILE 0: no socket at all). */
static int gateway_state(const char *path) {
    /* Non-blocking: a listener whose backlog the agent filled would hold a blocking connect, and this
       init with it (nothing reaped, nothing passed on, the gateway never found gone). */
    int fd = connect_gateway(path, SOCK_NONBLOCK);
    if (fd >= 0) {
        close(fd);
        return GATEWAY_THERE;
    }
    if (errno == EAGAIN) return GATEWAY_THERE; /* a full backlog: a listener is there */
    return (errno == ECONNREFUSED || errno == ENOENT || errno == ENOTDIR) ? GATEWAY_GONE : GATEWAY_UNKNOWN;
}

/* Kill what runs in the sandbox: every process of it when this is its init, else COMMAND's group. */
static void kill_sandbox(pid_t command) {
    if (getpid() == 1) {
        kill(-1, SIGKILL); /* all but this init, in this PID namespace */
    } else {
        kill(-command, SIGKILL);
        kill(command, SIGKILL);
    }
}

/* Reap every child that ended; COMMAND's wait status in *status once it ended. */
static int reap(pid_t command, int *status) {
    int ended = 0, child_status;
    pid_t child;
    while ((child = waitpid(-1, &child_status, WNOHANG)) > 0) {
        if (child == command) {
            *status = child_status;
            ended = 1;
        }
    }
    return ended;
}

static double now_s(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* As init: take the watched signals as they come (reap, or pass on), and check the gateway every
   WATCH_INTERVAL_S whatever else happens meanwhile (a stream of SIGCHLDs does not put it off). */
static int supervise(const char *gateway_path, pid_t command, const sigset_t *watched) {
    int misses = 0, status = 0;
    double next_check = now_s() + WATCH_INTERVAL_S;
    for (;;) {
        double left = next_check - now_s();
        if (left < 0) left = 0;
        struct timespec wait = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
        siginfo_t info;
        int sig = sigtimedwait(watched, &info, &wait);
        if (sig == SIGCHLD && reap(command, &status)) {
            if (getpid() == 1) kill(-1, SIGKILL); /* what COMMAND left running ends with it */
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        if (sig > 0 && sig != SIGCHLD) kill(-command, sig); /* SIGTERM, SIGINT, SIGHUP: COMMAND's group */
        if (now_s() < next_check) continue;
        next_check = now_s() + WATCH_INTERVAL_S;
        int state = gateway_state(gateway_path);
        misses = state == GATEWAY_THERE ? 0 : misses + 1;
        if ((state == GATEWAY_GONE && misses >= WATCH_MISSES) || misses >= UNKNOWN_MISSES) {
            fprintf(stderr, "codeagent-forward: the gateway at %s is gone; stopping the sandbox\n", gateway_path);
            kill_sandbox(command);
            return 128 + SIGKILL;
        }
    }
}

/* A handler of its own for each watched signal: a namespace's init is sent no signal it leaves at its
   default, not even by the engine; blocked, they wait for sigtimedwait. */
static void noted(int sig) {
    (void)sig;
}

/* A child's signals as they were before: default handlers, nothing blocked. */
static void restore_signals(const sigset_t *before) {
    signal(SIGCHLD, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    sigprocmask(SIG_SETMASK, before, NULL);
}

int main(int argc, char **argv) {
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: %s PORT SOCKET -- COMMAND [ARG...]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    int listener = listen_loopback(port);
    if (port <= 0 || listener < 0) {
        fprintf(stderr, "codeagent-forward: cannot listen on 127.0.0.1:%s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    /* Not dumpable: a process of the same user cannot ptrace this one or touch its memory. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    sigset_t watched, before;
    sigemptyset(&watched);
    sigaddset(&watched, SIGCHLD);
    sigaddset(&watched, SIGTERM);
    sigaddset(&watched, SIGINT);
    sigaddset(&watched, SIGHUP);
    sigprocmask(SIG_BLOCK, &watched, &before); /* taken by sigtimedwait, never delivered */
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = noted;
    sigaction(SIGCHLD, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGHUP, &action, NULL); /* others (SIGQUIT, SIGUSR1) sent by the engine are dropped, as init's */
    pid_t server = fork();
    if (server < 0) {
        perror("codeagent-forward: fork");
        return 2;
    }
    if (server == 0) {
        restore_signals(&before);
        serve(listener, argv[2]);
        _exit(0);
    }
    pid_t command = fork();
    if (command < 0) {
        perror("codeagent-forward: fork");
        kill(server, SIGKILL);
        return 2;
    }
    if (command == 0) {
        /* COMMAND leads a process group of its own, which signals and the kill reach whole. */
        setpgid(0, 0);
        restore_signals(&before);
        close(listener);
        execvp(argv[4], argv + 4);
        fprintf(stderr, "codeagent-forward: cannot run %s: %s\n", argv[4], strerror(errno));
        _exit(127);
    }
    setpgid(command, command); /* also here: whichever of the two runs first */
    close(listener);
    int status = supervise(argv[2], command, &watched);
    kill(server, SIGKILL);
    return status;
}
