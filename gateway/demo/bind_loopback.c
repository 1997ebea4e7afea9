/*
 * LD_PRELOAD shim: rewrite wildcard bind() calls to the loopback address.
 *
 * Orthanc has no setting for its listen address and binds 0.0.0.0 (and
 * possibly ::).  Preloading this library makes every bind() to INADDR_ANY
 * bind 127.0.0.1 instead, and every bind() to in6addr_any bind ::1, so a
 * test or demo Orthanc is never reachable from another machine.
 *
 * Build: gcc -shared -fPIC -O2 -o bind_loopback.so bind_loopback.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    static bind_fn real_bind = NULL;
    if (real_bind == NULL) {
        real_bind = (bind_fn)dlsym(RTLD_NEXT, "bind");
    }
    if (addr != NULL && addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)addr;
        if (in4->sin_addr.s_addr == htonl(INADDR_ANY)) {
            struct sockaddr_in copy;
            memcpy(&copy, in4, sizeof(copy));
            copy.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            return real_bind(fd, (const struct sockaddr *)&copy, sizeof(copy));
        }
    }
    if (addr != NULL && addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        if (memcmp(&in6->sin6_addr, &in6addr_any, sizeof(struct in6_addr)) == 0) {
            struct sockaddr_in6 copy;
            memcpy(&copy, in6, sizeof(copy));
            copy.sin6_addr = in6addr_loopback;
            return real_bind(fd, (const struct sockaddr *)&copy, sizeof(copy));
        }
    }
    return real_bind(fd, addr, len);
}
