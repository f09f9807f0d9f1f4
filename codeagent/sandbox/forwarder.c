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
 * A watchdog beside it checks the socket every few seconds: when the gateway is gone (the
 * socket refuses connections or has vanished: the action that served it was killed), it kills
 * COMMAND and its process group, so the sandbox ends with the action rather than running on,
 * unwatched, until its wall-clock limit.
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

static int connect_gateway(const char *path) {
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
        close(fd);
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
            int gateway = connect_gateway(gateway_path);
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
#define WATCH_MISSES 2 /* checks in a row that find no gateway before COMMAND is killed */

/* Whether the gateway is gone: its socket refuses connections or is no longer there. Any other
   failure (out of file descriptors, a full accept queue) says nothing about the gateway. */
static int gateway_gone(const char *path) {
    int fd = connect_gateway(path);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    return errno == ECONNREFUSED || errno == ENOENT || errno == ENOTDIR;
}

/* Check the gateway until it is gone, then kill COMMAND (process `command`) and its process group. */
static void watch(const char *gateway_path, pid_t command) {
    int misses = 0;
    while (misses < WATCH_MISSES) {
        sleep(WATCH_INTERVAL_S);
        if (getppid() != command) _exit(0); /* COMMAND ended: nothing left to watch */
        misses = gateway_gone(gateway_path) ? misses + 1 : 0;
    }
    fprintf(stderr, "codeagent-forward: the gateway at %s is gone; stopping the sandbox\n", gateway_path);
    kill(command, SIGKILL);
    if (getpgid(command) == command) kill(-command, SIGKILL); /* this watchdog and the relays with it */
    _exit(0);
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
    /* COMMAND leads a process group of its own (it does already under the container's init), so
       the watchdog can kill all of it and nothing else. */
    setpgid(0, 0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("codeagent-forward: fork");
        return 2;
    }
    if (pid == 0) {
        serve(listener, argv[2]);
        _exit(0);
    }
    pid_t command = getpid();
    pid_t watchdog = fork();
    if (watchdog == 0) {
        close(listener);
        watch(argv[2], command);
    }
    close(listener);
    execvp(argv[4], argv + 4);
    fprintf(stderr, "codeagent-forward: cannot run %s: %s\n", argv[4], strerror(errno));
    return 127;
}
