// Counts heap allocations of the jhsim process, for `jhsim bench`'s mallocsPerCycle.
#ifndef CMALLOCCOUNTER_H
#define CMALLOCCOUNTER_H

/// 1 when this build interposes malloc and counts, 0 when counting is compiled out
/// (sanitizer builds, non-glibc systems).
int jhsim_malloc_counting(void);

/// Allocation calls so far (malloc, calloc, realloc, posix_memalign, aligned_alloc,
/// memalign), from every thread. 0 when counting is compiled out.
unsigned long long jhsim_malloc_count(void);

#endif
