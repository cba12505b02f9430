// Counts heap allocations by defining the allocation entry points in the jhsim
// executable: the dynamic linker resolves every library's malloc (the Swift runtime's
// swift_slowAlloc, Foundation, Dispatch) to these, and they forward to glibc's own
// implementation (__libc_malloc and friends, exported by glibc for exactly this use).
// free is not defined: glibc's free releases what __libc_* returned.
//
// Linked only into the jhsim executable, never into test bundles. Compiled out under
// sanitizers, whose runtimes define malloc themselves.
#include "CMallocCounter.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#if defined(__has_feature)
#  if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#    define JHSIM_NO_MALLOC_COUNTER 1
#  endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || !defined(__GLIBC__) || !defined(__linux__)
#  define JHSIM_NO_MALLOC_COUNTER 1
#endif

#ifndef JHSIM_NO_MALLOC_COUNTER

static _Atomic unsigned long long allocation_calls;

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

static inline void count_one(void) {
    atomic_fetch_add_explicit(&allocation_calls, 1, memory_order_relaxed);
}

void *malloc(size_t size) {
    count_one();
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    count_one();
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    count_one();
    return __libc_realloc(pointer, size);
}

void *memalign(size_t alignment, size_t size) {
    count_one();
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    count_one();
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    // POSIX: a power of two that is a multiple of sizeof(void *).
    if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment % sizeof(void *) != 0) {
        return EINVAL;
    }
    count_one();
    void *p = __libc_memalign(alignment, size);
    if (p == NULL) {
        return ENOMEM;
    }
    *out = p;
    return 0;
}

int jhsim_malloc_counting(void) { return 1; }

unsigned long long jhsim_malloc_count(void) {
    return atomic_load_explicit(&allocation_calls, memory_order_relaxed);
}

#else

int jhsim_malloc_counting(void) { return 0; }

unsigned long long jhsim_malloc_count(void) { return 0; }

#endif
