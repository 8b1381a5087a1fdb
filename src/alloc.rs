//! Memory: the system allocator, with the freed memory of the start given back.
//!
//! No transparent-huge-page advice on large blocks (there was, until measured): where THP is
//! `madvise` with `defrag = madvise` (Debian's default), advised memory is compacted on the
//! fault path when free memory is fragmented, and the kernel's time went up several-fold
//! (20 million points: `aggregate` 6.1-6.4 s without the advice, 11.2 s with it, system time
//! 2.4 s vs 9-10 s; 2 million: median 0.82 s vs 1.14 s; Berlin alike).

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
