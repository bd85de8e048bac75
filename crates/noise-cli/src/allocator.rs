//! The process's allocator: the system's, asking Linux to back large blocks
//! with transparent huge pages.
//!
//! A backtest writes tens of megabytes front to back once (the equity
//! curve, the trade list, the bars as they load). In 4 KiB pages every
//! page's first write is a fault, about 3 µs on a virtual machine: a tenth
//! of a million-bar SMA-cross run. In 2 MiB pages there are 512 times
//! fewer. Small blocks are left alone (a huge page per small block would
//! waste memory); where the kernel offers no huge pages (`never`), the
//! advice is ignored and nothing changes.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks this large or larger are advised (two huge pages: a smaller block
/// rarely holds a whole aligned one).
const LARGE_BLOCK: usize = 4 << 20;
/// The size of a transparent huge page on x86-64 and arm64 with 4 KiB pages.
const HUGE_PAGE: usize = 2 << 20;

pub struct HugePagesForLargeBlocks;

// SAFETY: every call is the system allocator's with the caller's arguments;
// the advice only changes how the kernel backs pages, never their contents.
unsafe impl GlobalAlloc for HugePagesForLargeBlocks {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract, passed on unchanged.
        let block = unsafe { System.alloc(layout) };
        advise_if_large(block, layout.size());
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let block = unsafe { System.alloc_zeroed(layout) };
        advise_if_large(block, layout.size());
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: `block` came from `System` with `layout` (every path above).
        unsafe { System.dealloc(block, layout) }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; the caller upholds `realloc`'s contract.
        let moved = unsafe { System.realloc(block, layout, new_size) };
        advise_if_large(moved, new_size);
        moved
    }
}

/// Advises the huge pages wholly inside the block (the kernel can only back
/// aligned 2 MiB ranges with them; the block's ends stay in small pages).
fn advise_if_large(block: *mut u8, size: usize) {
    if block.is_null() || size < LARGE_BLOCK {
        return;
    }
    let start = (block as usize).next_multiple_of(HUGE_PAGE);
    let end = (block as usize + size) / HUGE_PAGE * HUGE_PAGE;
    if end > start {
        // SAFETY: [start, end) lies inside the block just allocated to us;
        // MADV_HUGEPAGE changes no contents. A failure (an older kernel, huge
        // pages off) only leaves the small pages, so its result is ignored.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}
