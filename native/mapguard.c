/* Guarded file mappings: a file mapped read-only (a .zkey, a window file) may be truncated by
 * another process while its pages are in use, and touching a page past the new end raises
 * SIGBUS, which would end the interpreter. A range registered here is protected instead: the
 * process's SIGBUS handler maps zero pages over the faulting page and the rest of the range,
 * notes the range as hit, and returns, so the reader sees zeros; the caller asks
 * zk_guard_hit() afterwards and reports the file as changed. A fault outside every registered
 * range goes to the handler that was there before (Python's faulthandler, or the default). */
#if defined(__unix__) || defined(__APPLE__)
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ZK_GUARD_SLOTS 64

typedef struct {
    _Atomic uintptr_t lo, hi; /* [lo, hi), page-aligned hi; lo == hi: free */
    atomic_int hit;
    atomic_int used;
} zk_guard_slot;

static zk_guard_slot zk_guards[ZK_GUARD_SLOTS];
static struct sigaction zk_guard_prev;
static atomic_int zk_guard_state; /* 0: handler not installed, 1: installing, 2: installed */
static uintptr_t zk_guard_page;

static void zk_guard_handler(int sig, siginfo_t *si, void *uc) {
    uintptr_t a = (uintptr_t)si->si_addr;
    for (int i = 0; i < ZK_GUARD_SLOTS; i++) {
        uintptr_t lo = atomic_load(&zk_guards[i].lo), hi = atomic_load(&zk_guards[i].hi);
        if (lo <= a && a < hi) {
            uintptr_t from = a & ~(zk_guard_page - 1);
            void *p = mmap((void *)from, (size_t)(hi - from), PROT_READ,
                           MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p != MAP_FAILED) {
                atomic_store(&zk_guards[i].hit, 1);
                return; /* the faulting read runs again, on zeros */
            }
            break;
        }
    }
    if (zk_guard_prev.sa_flags & SA_SIGINFO) {
        if (zk_guard_prev.sa_sigaction != NULL) {
            zk_guard_prev.sa_sigaction(sig, si, uc);
            return;
        }
    } else if (zk_guard_prev.sa_handler != SIG_DFL && zk_guard_prev.sa_handler != SIG_IGN) {
        zk_guard_prev.sa_handler(sig);
        return;
    }
    signal(sig, SIG_DFL); /* the read faults again and the process ends, as unguarded */
}

static int zk_guard_install(void) {
    int expect = 0;
    if (atomic_compare_exchange_strong(&zk_guard_state, &expect, 1)) {
        long ps = sysconf(_SC_PAGESIZE);
        zk_guard_page = ps > 0 ? (uintptr_t)ps : 4096;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = zk_guard_handler;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGBUS, &sa, &zk_guard_prev) != 0) {
            atomic_store(&zk_guard_state, 0);
            return -1;
        }
        atomic_store(&zk_guard_state, 2);
    }
    while (atomic_load(&zk_guard_state) == 1) {}
    return atomic_load(&zk_guard_state) == 2 ? 0 : -1;
}

int zk_guard_add(const void *p, size_t len) {
    if (p == NULL || len == 0 || zk_guard_install() != 0) return -1;
    uintptr_t lo = (uintptr_t)p;
    uintptr_t hi = (lo + len + zk_guard_page - 1) & ~(zk_guard_page - 1);
    for (int i = 0; i < ZK_GUARD_SLOTS; i++) {
        int expect = 0;
        if (atomic_compare_exchange_strong(&zk_guards[i].used, &expect, 1)) {
            atomic_store(&zk_guards[i].hit, 0);
            atomic_store(&zk_guards[i].lo, lo);
            atomic_store(&zk_guards[i].hi, hi);
            return i;
        }
    }
    return -1; /* every slot taken: the range stays unguarded */
}

int zk_guard_hit(int slot) {
    if (slot < 0 || slot >= ZK_GUARD_SLOTS) return 0;
    return atomic_load(&zk_guards[slot].hit);
}

void zk_guard_remove(int slot) {
    if (slot < 0 || slot >= ZK_GUARD_SLOTS) return;
    atomic_store(&zk_guards[slot].hi, (uintptr_t)0);
    atomic_store(&zk_guards[slot].lo, (uintptr_t)0);
    atomic_store(&zk_guards[slot].used, 0);
}
#else
int zk_guard_add(const void *p, size_t len) {
    (void)p;
    (void)len;
    return -1;
}
int zk_guard_hit(int slot) {
    (void)slot;
    return 0;
}
void zk_guard_remove(int slot) { (void)slot; }
#endif
