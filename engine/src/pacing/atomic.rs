//! The one place the pacing core gets its atomics from.
//!
//! Following crossbeam's habit, every atomic type of the lock-free core is imported from
//! here, so that building with `RUSTFLAGS="--cfg pacer_loom"` swaps in loom's model-checked
//! atomics without touching the rest of the code. Floats live in [`AtomicU64`] as their bit
//! patterns ([`f64::to_bits`]); there is no atomic float type in std or loom.

#[cfg(pacer_loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};
#[cfg(not(pacer_loom))]
pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};

pub(crate) use crossbeam_utils::CachePadded;

/// Applies `f` to the value of `atom` with a compare-and-swap loop until it sticks, and
/// returns `(old, new)`. `f` returning `None` leaves the value alone and returns
/// `(old, old)`. This is lock-free: a failed CAS means another thread's update succeeded.
///
/// `AcqRel` on success pairs with the `Acquire` loads of readers (the decision) so that what
/// a writer did before its update is visible to a reader that sees the update.
#[inline]
pub(crate) fn update_u64(atom: &AtomicU64, mut f: impl FnMut(u64) -> Option<u64>) -> (u64, u64) {
    let mut old = atom.load(Ordering::Acquire);
    loop {
        let Some(new) = f(old) else { return (old, old) };
        match atom.compare_exchange_weak(old, new, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return (old, new),
            Err(current) => old = current,
        }
    }
}

/// [`update_u64`] for a 32-bit atomic.
#[inline]
pub(crate) fn update_u32(atom: &AtomicU32, mut f: impl FnMut(u32) -> Option<u32>) -> (u32, u32) {
    let mut old = atom.load(Ordering::Acquire);
    loop {
        let Some(new) = f(old) else { return (old, old) };
        match atom.compare_exchange_weak(old, new, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return (old, new),
            Err(current) => old = current,
        }
    }
}

/// An `f64` kept in an [`AtomicU64`] as its bit pattern.
#[derive(Debug)]
pub(crate) struct AtomicF64(AtomicU64);

impl AtomicF64 {
    pub(crate) fn new(value: f64) -> AtomicF64 {
        AtomicF64(AtomicU64::new(value.to_bits()))
    }

    /// `Acquire` pairs with the `Release` of [`AtomicF64::store`].
    #[inline]
    pub(crate) fn load(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Acquire))
    }

    /// `Release` pairs with the `Acquire` of [`AtomicF64::load`].
    #[inline]
    pub(crate) fn store(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::Release);
    }
}
