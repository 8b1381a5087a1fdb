//! Memory: the system allocator, set up for loading ([`tune`]), and the freed memory of the
//! server's start given back.
//!
//! No transparent-huge-page advice on large blocks (there was, until measured): where THP is
//! `madvise` with `defrag = madvise` (Debian's default), advised memory is compacted on the
//! fault path when free memory is fragmented, and the kernel's time went up several-fold
//! (20 million points: `aggregate` 6.1-6.4 s without the advice, 11.2 s with it, system time
//! 2.4 s vs 9-10 s; 2 million: median 0.82 s vs 1.14 s; Berlin alike). Measured again with
//! glibc's own advice (`glibc.malloc.hugetlb=1`): 2M points a little faster, 20M points
//! 2.16 → 3.71 s, 62 % of the CPU zeroing huge pages (in a VM whose host takes back free guest
//! memory, a fresh huge page is fresh host memory).

/// Sets up glibc's allocator for loading, before any thread allocates.
///
/// Blocks below 32 MiB (glibc's ceiling) come from the heap, where freed memory is used again,
/// instead of fresh mappings: loading frees much it used (a block of the address file, the
/// decoded boundary file, the index build's counts) just before it needs as much again, and
/// every fresh page costs a fault, zeroing and, at exit, freeing (about 1.7 µs a page on these
/// machines). glibc raises its threshold to this on its own, but only after the first large
/// block is freed, and only for blocks freed later. Measured (alternating runs, `perf stat`):
/// 2M points × 5,000 areas, task-clock 605 → 564 ms, wall 0.339 → 0.321 s, page faults
/// 72.8k → 63.6k, peak RSS 224 → 232 MB; Berlin 303 → 295 ms; 20M points 1.85 → 1.73 s. A
/// fixed low threshold (128 KiB) was slower (86.8k faults).
///
/// `aggregate` and `check` (`one_arena`) also keep every thread in the one main arena: a thread
/// arena grows by one `mprotect` per page as small blocks pile up (4,100 calls in the 2M job,
/// nearly all from one loading thread), each taking the address space's lock that the other
/// core's page faults need (`rwsem_down_write_slowpath` in the profile). The main arena grows
/// by `brk` (150 calls). Measured: 2M points 304.7 → 299.3 ms (faults 63.6k → 58.0k), 20M
/// points 1.85 → 1.68 s, Berlin equal with 24 MB less RSS; `check` on Berlin 0.42 → 0.39 s
/// (RSS 252 → 200 MB). Their loaders allocate per chunk and per feature, not per value. Not
/// for the other commands: the reports' layout allocates per node on all cores, and one arena
/// made the 542 Berlin Steckbriefe 3.9 → 5.7 s; the server keeps glibc's arenas for its
/// request threads.
pub fn tune(one_arena: bool) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets parameters of glibc's allocator; no allocation is affected.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        if one_arena {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = one_arena;
}

/// Gives the memory that loading used and freed back to the system (glibc keeps freed blocks
/// for reuse, and a server's RSS would stay at the start's peak: the decoded files, the
/// chunks of the point columns, the index build). Called once the server is ready and once
/// the Gebietsstände are computed; takes a few milliseconds.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns unused pages of glibc's heaps to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}
