#ifndef CPREFETCH_H
#define CPREFETCH_H

/// Asks the CPU to start loading the cache line at `address` for writing, without waiting for it.
/// Swift has no prefetch of its own; a hint never faults, whatever the address.
static inline void cprefetch(const void *address) { __builtin_prefetch(address, 1, 3); }

#endif
