//! Bounds-checked fixed-size reads. Every access to wire bytes goes through
//! these, so a short buffer yields `None` instead of a panic.

/// `N` bytes at `at`, copied out so callers can index them with constants.
pub(super) fn arr<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arr_bounds() {
        let b = [1u8, 2, 3];
        assert_eq!(arr::<2>(&b, 1), Some([2, 3]));
        assert_eq!(arr::<2>(&b, 2), None);
        assert_eq!(arr::<1>(&b, usize::MAX), None);
        assert_eq!(arr::<0>(&b, 3), Some([]));
    }
}
