//! Transparent huge pages for the large buffers tensorize allocates.
//!
//! Most Linux systems run THP in `madvise` mode: a process gets 2 MiB pages only where it asks
//! for them. With 4 KiB pages a pass over a 32 MiB tensor walks 8192 pages, four times what the
//! TLB holds, and every pass of an iterative method pays those page walks again (CP-ALS in f32
//! at 200³ ran about 10% slower on the same data; see docs/performance.md). NumPy asks for huge
//! pages on every array of 4 MiB or more; tensorize does the same for the buffers it allocates
//! itself (tensors it builds, reads or returns, and its workspaces). A `Vec` handed in by the
//! caller keeps the pages it already has.

/// Allocations from this many bytes on are advised (NumPy's threshold).
const MIN_BYTES: usize = 4 << 20;

/// Asks the kernel to back the spare capacity of `buf` with huge pages. Call it right after a
/// fresh allocation, before the memory is written: pages already touched keep their size.
/// Only whole pages inside the buffer are advised; the advice changes no data and a refusal
/// (e.g. a kernel without THP) is harmless, so the result is ignored.
pub(crate) fn advise<T>(buf: &mut Vec<T>) {
    let spare = buf.spare_capacity_mut();
    let bytes = std::mem::size_of_val(spare);
    if bytes < MIN_BYTES {
        return;
    }
    advise_range(spare.as_mut_ptr() as usize, bytes);
}

#[cfg(target_os = "linux")]
fn advise_range(start: usize, bytes: usize) {
    use std::sync::OnceLock;
    static PAGE: OnceLock<usize> = OnceLock::new();
    // SAFETY: sysconf only reads a system constant.
    let page = *PAGE.get_or_init(|| match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        p if p > 0 => p as usize,
        _ => 4096,
    });
    let first = start.next_multiple_of(page);
    let end = (start + bytes) / page * page;
    if end > first {
        // SAFETY: `first..end` lies inside one live allocation owned by the caller's `Vec`
        // (whole pages only, so no neighbouring allocation is affected); MADV_HUGEPAGE only
        // changes how future page faults are served and never the memory's contents.
        unsafe {
            libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_range(_start: usize, _bytes: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advised_buffers_keep_their_contents_and_capacity() {
        let n = (MIN_BYTES / 8) * 3 + 123;
        let mut v: Vec<f64> = Vec::with_capacity(n);
        v.extend((0..1000).map(|i| i as f64));
        let (ptr, cap) = (v.as_ptr(), v.capacity());
        advise(&mut v);
        v.extend((1000..n).map(|i| i as f64));
        assert_eq!(v.as_ptr(), ptr);
        assert_eq!(v.capacity(), cap);
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as f64));
    }

    #[test]
    fn small_and_empty_buffers_are_left_alone() {
        let mut empty: Vec<f32> = Vec::new();
        advise(&mut empty);
        let mut small: Vec<f32> = Vec::with_capacity(16);
        advise(&mut small);
        small.push(1.0);
        assert_eq!(small, [1.0]);
    }
}
