/* Built and run by LgdevAbiTests: a run blocked in pread is interrupted by a signal (a handler
 * without SA_RESTART), must fail with EINTR, and the guest must be unharmed: an irq then a run
 * still reaches it. Prints one line per step; the test checks them. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void on_usr1(int sig) { (void)sig; }

static void *poke(void *arg)
{
    usleep(300 * 1000);
    pthread_kill(*(pthread_t *)arg, SIGUSR1);
    return NULL;
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART */
    sigaction(SIGUSR1, &sa, NULL);
    alarm(10); /* a run never interrupted: killed, if the server has not read the request yet */
    int fd = open(argv[1], O_RDWR);
    uint32_t init[5] = {0, 0x10000, 0x4000, 0x2000, 0};
    printf("initialize %zd\n", pwrite(fd, init, sizeof init, 0));
    pthread_t self = pthread_self(), t;
    pthread_create(&t, NULL, poke, &self);
    uint32_t addr = 0;
    ssize_t r = pread(fd, &addr, 4, 0);
    printf("run %zd %s\n", r, r < 0 ? strerror(errno) : "");
    pthread_join(t, NULL);
    uint32_t irq[2] = {2, 1};
    printf("irq %zd\n", pwrite(fd, irq, sizeof irq, 0));
    r = pread(fd, &addr, 4, 0);
    printf("run %zd 0x%x\n", r, addr);
    (void)argc;
    return 0;
}
