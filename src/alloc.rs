//! The global allocator: the system's, asking Linux for transparent huge pages on large blocks.
//!
//! Loading fills hundreds of megabytes of fresh memory at once (file contents, point columns,
//! the grid index). With 4 KiB pages the kernel takes one fault per page and zeroes each on
//! its own; a fifth of `kleinraum aggregate`'s time on the benchmark city went there. With
//! `MADV_HUGEPAGE` on blocks of 4 MiB and more, a fault maps 2 MiB at once (where the system's
//! THP setting is `madvise` or `always`; with `never` the advice changes nothing). Small
//! allocations, the server's usual ones, are untouched.

use std::alloc::{GlobalAlloc, Layout, System};

/// See the module documentation.
pub struct HugePages;

/// Blocks from this size on are advised.
const LARGE: usize = 4 << 20;

#[cfg(target_os = "linux")]
fn advise(ptr: *mut u8, size: usize) {
    const PAGE: usize = 4096;
    if ptr.is_null() || size < LARGE {
        return;
    }
    // madvise wants a page-aligned start; the block's own pages only.
    let start = (ptr as usize).next_multiple_of(PAGE);
    let end = (ptr as usize + size) & !(PAGE - 1);
    if end > start {
        // SAFETY: the range lies inside a block the allocator just handed out; the advice
        // changes how its pages are backed, never their contents. Failure is harmless.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise(_ptr: *mut u8, _size: usize) {}

// SAFETY: every call is forwarded to `System` unchanged; `advise` only adds a hint.
unsafe impl GlobalAlloc for HugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on as is.
        let p = unsafe { System.alloc(layout) };
        advise(p, layout.size());
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        advise(p, layout.size());
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if new_size > layout.size() {
            advise(p, new_size);
        }
        p
    }
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
