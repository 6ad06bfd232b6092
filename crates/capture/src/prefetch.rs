//! Software prefetch: asks the CPU to bring a cache line in before it is read, so that the
//! wait for memory overlaps other work. Used where the hardware prefetcher stops: at each
//! 4 KiB page boundary of a mapped capture.

/// Starts loading the cache line that holds `slice[at]` into every cache level, or nothing
/// when `at` is past the end. A hint: it never faults and changes nothing but timing.
#[inline(always)]
pub fn prefetch_at(slice: &[u8], at: usize) {
    if let Some(b) = slice.get(at) {
        prefetch_ptr(std::ptr::from_ref(b));
    }
}

/// Starts loading the cache line of `items[i]` (any element type), or nothing when `i` is past
/// the end: for per-flow or per-call state whose index is known a little before it is used.
#[inline(always)]
pub fn prefetch_item<T>(items: &[T], i: usize) {
    if let Some(x) = items.get(i) {
        prefetch_ptr(std::ptr::from_ref(x).cast());
    }
}

#[inline(always)]
fn prefetch_ptr(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 CPU has (it is in the baseline
    // target). A prefetch reads nothing the program sees and never faults, whatever the
    // address; here it is always the address of a slice element.
    // Exercised by `tests::prefetching_changes_nothing` and by every mapped read.
    #[allow(unsafe_code)]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetching_changes_nothing() {
        // Every index in range and past it: the bytes read back unchanged, nothing faults.
        let bytes: Vec<u8> = (0..=255).collect();
        let mut sum = 0u64;
        for i in 0..1000 {
            prefetch_at(&bytes, i);
            sum += u64::from(bytes[i % 256]);
        }
        assert_eq!(sum, (0..1000u64).map(|i| i % 256).sum::<u64>());
        let words: Vec<u64> = (0..100).collect();
        for i in 0..200 {
            prefetch_item(&words, i);
        }
        assert_eq!(words.iter().sum::<u64>(), 4950);
    }
}
