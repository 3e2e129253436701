//! 128-bit SIMD registers: four f32 lanes, and the integer lanes of the 1x1 product (eight i16,
//! four i32). Wasm SIMD128 in the browser (`+simd128`, see `.cargo/config.toml`), SSE2 natively
//! on x86-64, plain arrays elsewhere, all three giving the same bits. Just what the kernels
//! need, each operation one instruction or a few.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;
    use std::mem::MaybeUninit;

    pub(super) type Raw = v128;
    pub(super) type Int = v128;

    pub(super) fn from_array(a: [f32; 4]) -> Raw {
        f32x4(a[0], a[1], a[2], a[3])
    }
    pub(super) fn to_array(v: Raw) -> [f32; 4] {
        [
            f32x4_extract_lane::<0>(v),
            f32x4_extract_lane::<1>(v),
            f32x4_extract_lane::<2>(v),
            f32x4_extract_lane::<3>(v),
        ]
    }
    pub(super) fn mul_add(acc: Raw, a: Raw, b: Raw) -> Raw {
        f32x4_add(acc, f32x4_mul(a, b))
    }
    pub(super) fn clamp6(v: Raw) -> Raw {
        f32x4_pmax(f32x4_splat(0.0), f32x4_pmin(f32x4_splat(6.0), v))
    }
    pub(super) fn load(a: &[f32; 4]) -> Raw {
        // SAFETY: `a` is four readable f32; v128.load has no alignment requirement.
        unsafe { v128_load(a.as_ptr().cast()) }
    }
    pub(super) fn store(v: Raw, a: &mut [f32; 4]) {
        // SAFETY: `a` is four writable f32; v128.store has no alignment requirement.
        unsafe { v128_store(a.as_mut_ptr().cast(), v) }
    }
    pub(super) fn write(v: Raw, a: &mut [MaybeUninit<f32>; 4]) {
        // SAFETY: `a` is four writable f32 slots.
        unsafe { v128_store(a.as_mut_ptr().cast(), v) }
    }
    pub(super) fn mul(a: Raw, b: Raw) -> Raw {
        f32x4_mul(a, b)
    }
    pub(super) fn add(a: Raw, b: Raw) -> Raw {
        f32x4_add(a, b)
    }
    pub(super) fn max_abs(acc: Raw, v: Raw) -> Raw {
        f32x4_max(acc, f32x4_abs(v))
    }
    pub(super) fn round(v: Raw) -> Int {
        i32x4_trunc_sat_f32x4(f32x4_nearest(v))
    }
    pub(super) fn to_f32(v: Int) -> Raw {
        f32x4_convert_i32x4(v)
    }
    pub(super) fn zero_int() -> Int {
        i32x4_splat(0)
    }
    pub(super) fn dot_add(acc: Int, a: Int, b: Int) -> Int {
        i32x4_add(acc, i32x4_dot_i16x8(a, b))
    }
    pub(super) fn narrow(lo: Int, hi: Int) -> Int {
        i16x8_narrow_i32x4(lo, hi)
    }
    pub(super) fn zip(a: Int, b: Int) -> [Int; 2] {
        [
            i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(a, b),
            i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(a, b),
        ]
    }
    pub(super) fn load_i16(a: &[i16; 8]) -> Int {
        // SAFETY: `a` is eight readable i16; v128.load has no alignment requirement.
        unsafe { v128_load(a.as_ptr().cast()) }
    }
    pub(super) fn store_i16(v: Int, a: &mut [i16; 8]) {
        // SAFETY: `a` is eight writable i16.
        unsafe { v128_store(a.as_mut_ptr().cast(), v) }
    }
    pub(super) fn splat_pair(a: &[i16; 2]) -> Int {
        // SAFETY: `a` is four readable bytes; no alignment requirement.
        unsafe { v128_load32_splat(a.as_ptr().cast()) }
    }
    pub(super) fn transpose([a, b, c, d]: [Raw; 4]) -> [Raw; 4] {
        let (ab_lo, ab_hi) = (
            i32x4_shuffle::<0, 4, 1, 5>(a, b),
            i32x4_shuffle::<2, 6, 3, 7>(a, b),
        );
        let (cd_lo, cd_hi) = (
            i32x4_shuffle::<0, 4, 1, 5>(c, d),
            i32x4_shuffle::<2, 6, 3, 7>(c, d),
        );
        [
            i64x2_shuffle::<0, 2>(ab_lo, cd_lo),
            i64x2_shuffle::<1, 3>(ab_lo, cd_lo),
            i64x2_shuffle::<0, 2>(ab_hi, cd_hi),
            i64x2_shuffle::<1, 3>(ab_hi, cd_hi),
        ]
    }
}

#[cfg(all(target_arch = "x86_64", not(target_family = "wasm")))]
mod imp {
    use core::arch::x86_64::*;
    use std::mem::MaybeUninit;

    pub(super) type Raw = __m128;
    pub(super) type Int = __m128i;

    pub(super) fn from_array(a: [f32; 4]) -> Raw {
        // SAFETY: SSE is part of the x86-64 baseline; `a` is four readable f32.
        unsafe { _mm_loadu_ps(a.as_ptr()) }
    }
    pub(super) fn to_array(v: Raw) -> [f32; 4] {
        let mut a = [0.0; 4];
        // SAFETY: as above; `a` is four writable f32.
        unsafe { _mm_storeu_ps(a.as_mut_ptr(), v) };
        a
    }
    pub(super) fn mul_add(acc: Raw, a: Raw, b: Raw) -> Raw {
        // SAFETY: SSE is part of the x86-64 baseline.
        unsafe { _mm_add_ps(acc, _mm_mul_ps(a, b)) }
    }
    pub(super) fn clamp6(v: Raw) -> Raw {
        // SAFETY: as above.
        unsafe { _mm_max_ps(_mm_setzero_ps(), _mm_min_ps(_mm_set1_ps(6.0), v)) }
    }
    pub(super) fn load(a: &[f32; 4]) -> Raw {
        from_array(*a)
    }
    pub(super) fn store(v: Raw, a: &mut [f32; 4]) {
        *a = to_array(v);
    }
    pub(super) fn write(v: Raw, a: &mut [MaybeUninit<f32>; 4]) {
        // SAFETY: SSE is baseline; `a` is four writable f32 slots.
        unsafe { _mm_storeu_ps(a.as_mut_ptr().cast(), v) }
    }
    // SAFETY (all below): SSE2 is part of the x86-64 baseline; the loads and stores are
    // unaligned ones of exactly the bytes of their array.
    pub(super) fn mul(a: Raw, b: Raw) -> Raw {
        unsafe { _mm_mul_ps(a, b) }
    }
    pub(super) fn add(a: Raw, b: Raw) -> Raw {
        unsafe { _mm_add_ps(a, b) }
    }
    pub(super) fn max_abs(acc: Raw, v: Raw) -> Raw {
        unsafe { _mm_max_ps(acc, _mm_andnot_ps(_mm_set1_ps(-0.0), v)) }
    }
    pub(super) fn round(v: Raw) -> Int {
        // Rounds to nearest, ties to even (the default rounding mode), as wasm's `nearest`.
        unsafe { _mm_cvtps_epi32(v) }
    }
    pub(super) fn to_f32(v: Int) -> Raw {
        unsafe { _mm_cvtepi32_ps(v) }
    }
    pub(super) fn zero_int() -> Int {
        unsafe { _mm_setzero_si128() }
    }
    pub(super) fn dot_add(acc: Int, a: Int, b: Int) -> Int {
        unsafe { _mm_add_epi32(acc, _mm_madd_epi16(a, b)) }
    }
    pub(super) fn narrow(lo: Int, hi: Int) -> Int {
        unsafe { _mm_packs_epi32(lo, hi) }
    }
    pub(super) fn zip(a: Int, b: Int) -> [Int; 2] {
        unsafe { [_mm_unpacklo_epi16(a, b), _mm_unpackhi_epi16(a, b)] }
    }
    pub(super) fn load_i16(a: &[i16; 8]) -> Int {
        unsafe { _mm_loadu_si128(a.as_ptr().cast()) }
    }
    pub(super) fn store_i16(v: Int, a: &mut [i16; 8]) {
        unsafe { _mm_storeu_si128(a.as_mut_ptr().cast(), v) }
    }
    pub(super) fn splat_pair(a: &[i16; 2]) -> Int {
        // Lane 0 (the low half) is a[0].
        unsafe { _mm_set1_epi32(i32::from(a[0] as u16) | (i32::from(a[1]) << 16)) }
    }
    pub(super) fn transpose([a, b, c, d]: [Raw; 4]) -> [Raw; 4] {
        // SAFETY: SSE is part of the x86-64 baseline.
        unsafe {
            let (ab_lo, ab_hi) = (_mm_unpacklo_ps(a, b), _mm_unpackhi_ps(a, b));
            let (cd_lo, cd_hi) = (_mm_unpacklo_ps(c, d), _mm_unpackhi_ps(c, d));
            [
                _mm_movelh_ps(ab_lo, cd_lo),
                _mm_movehl_ps(cd_lo, ab_lo),
                _mm_movelh_ps(ab_hi, cd_hi),
                _mm_movehl_ps(cd_hi, ab_hi),
            ]
        }
    }
}

/// Plain arrays, for other targets; compiled for the tests too, which hold the SIMD versions to
/// its bits.
#[cfg(any(
    test,
    not(any(
        all(target_arch = "wasm32", target_feature = "simd128"),
        all(target_arch = "x86_64", not(target_family = "wasm"))
    ))
))]
// In the tests' build the trivial conversions go unused: they compare the operations.
#[cfg_attr(test, allow(dead_code))]
mod portable {
    pub(super) type Raw = [f32; 4];
    /// Eight i16 or four i32, as the operation says.
    pub(super) type Int = [i32; 4];

    pub(super) fn from_array(a: [f32; 4]) -> Raw {
        a
    }
    pub(super) fn to_array(v: Raw) -> [f32; 4] {
        v
    }
    pub(super) fn mul_add(acc: Raw, a: Raw, b: Raw) -> Raw {
        std::array::from_fn(|l| acc[l] + a[l] * b[l])
    }
    pub(super) fn clamp6(v: Raw) -> Raw {
        v.map(super::super::clamp6)
    }
    pub(super) fn load(a: &[f32; 4]) -> Raw {
        *a
    }
    pub(super) fn store(v: Raw, a: &mut [f32; 4]) {
        *a = v;
    }
    pub(super) fn write(v: Raw, a: &mut [std::mem::MaybeUninit<f32>; 4]) {
        for (d, v) in a.iter_mut().zip(v) {
            d.write(v);
        }
    }
    pub(super) fn mul(a: Raw, b: Raw) -> Raw {
        std::array::from_fn(|l| a[l] * b[l])
    }
    pub(super) fn add(a: Raw, b: Raw) -> Raw {
        std::array::from_fn(|l| a[l] + b[l])
    }
    pub(super) fn max_abs(acc: Raw, v: Raw) -> Raw {
        std::array::from_fn(|l| acc[l].max(v[l].abs()))
    }
    pub(super) fn round(v: Raw) -> Int {
        v.map(|x| x.round_ties_even() as i32)
    }
    pub(super) fn to_f32(v: Int) -> Raw {
        v.map(|x| x as f32)
    }
    pub(super) fn zero_int() -> Int {
        [0; 4]
    }
    fn halves(v: Int) -> [i16; 8] {
        std::array::from_fn(|i| (v[i / 2] >> (16 * (i % 2))) as i16)
    }
    fn join(h: [i16; 8]) -> Int {
        std::array::from_fn(|l| (h[2 * l] as u16 as i32) | (i32::from(h[2 * l + 1]) << 16))
    }
    pub(super) fn dot_add(acc: Int, a: Int, b: Int) -> Int {
        let (a, b) = (halves(a), halves(b));
        std::array::from_fn(|l| {
            let pair = i32::from(a[2 * l]) * i32::from(b[2 * l])
                + i32::from(a[2 * l + 1]) * i32::from(b[2 * l + 1]);
            acc[l].wrapping_add(pair)
        })
    }
    pub(super) fn narrow(lo: Int, hi: Int) -> Int {
        join(std::array::from_fn(|i| {
            [lo, hi][i / 4][i % 4].clamp(-32768, 32767) as i16
        }))
    }
    pub(super) fn zip(a: Int, b: Int) -> [Int; 2] {
        let (a, b) = (halves(a), halves(b));
        [0, 4].map(|at| join(std::array::from_fn(|i| [a, b][i % 2][at + i / 2])))
    }
    pub(super) fn load_i16(a: &[i16; 8]) -> Int {
        join(*a)
    }
    pub(super) fn store_i16(v: Int, a: &mut [i16; 8]) {
        *a = halves(v);
    }
    pub(super) fn splat_pair(a: &[i16; 2]) -> Int {
        join(std::array::from_fn(|i| a[i % 2]))
    }
    pub(super) fn transpose(rows: [Raw; 4]) -> [Raw; 4] {
        std::array::from_fn(|i| std::array::from_fn(|j| rows[j][i]))
    }
}

#[cfg(not(any(
    all(target_arch = "wasm32", target_feature = "simd128"),
    all(target_arch = "x86_64", not(target_family = "wasm"))
)))]
use portable as imp;

/// Four f32 lanes.
#[derive(Clone, Copy)]
pub(crate) struct F32x4(imp::Raw);

impl F32x4 {
    /// All lanes zero.
    pub(crate) fn zero() -> Self {
        Self::from_array([0.0; 4])
    }

    /// The lanes `a[0]..a[3]`.
    pub(crate) fn from_array(a: [f32; 4]) -> Self {
        Self(imp::from_array(a))
    }

    /// The four lanes.
    pub(crate) fn to_array(self) -> [f32; 4] {
        imp::to_array(self.0)
    }

    /// `self + a · b`, lane by lane (a multiply, then an add: no fused rounding).
    #[inline(always)]
    pub(crate) fn mul_add(self, a: Self, b: Self) -> Self {
        Self(imp::mul_add(self.0, a.0, b.0))
    }

    /// ReLU6 of each lane.
    pub(crate) fn clamp6(self) -> Self {
        Self(imp::clamp6(self.0))
    }

    /// The four floats of `a` (one load).
    pub(crate) fn load(a: &[f32; 4]) -> Self {
        Self(imp::load(a))
    }

    /// Writes the lanes to `a` (one store).
    pub(crate) fn store(self, a: &mut [f32; 4]) {
        imp::store(self.0, a);
    }

    /// Writes the lanes to the unset `a` (one store).
    pub(crate) fn write(self, a: &mut [std::mem::MaybeUninit<f32>; 4]) {
        imp::write(self.0, a);
    }

    /// The 4 × 4 transpose: lane `j` of output `i` is lane `i` of input `j` (shuffles only).
    pub(crate) fn transpose(rows: [Self; 4]) -> [Self; 4] {
        imp::transpose(rows.map(|r| r.0)).map(Self)
    }

    /// Every lane `v`.
    #[inline(always)]
    pub(crate) fn splat(v: f32) -> Self {
        Self::from_array([v; 4])
    }

    /// `self · b`, lane by lane.
    #[inline(always)]
    pub(crate) fn mul(self, b: Self) -> Self {
        Self(imp::mul(self.0, b.0))
    }

    /// `self + b`, lane by lane.
    #[inline(always)]
    pub(crate) fn add(self, b: Self) -> Self {
        Self(imp::add(self.0, b.0))
    }

    /// The larger of `self` and `|v|`, lane by lane.
    #[inline(always)]
    pub(crate) fn max_abs(self, v: Self) -> Self {
        Self(imp::max_abs(self.0, v.0))
    }

    /// Each lane rounded to the nearest integer, ties to even (in range: the callers scale
    /// into i16's).
    #[inline(always)]
    pub(crate) fn round(self) -> I32x4 {
        I32x4(imp::round(self.0))
    }
}

/// Four i32 lanes: the sums of the integer 1x1 product.
#[derive(Clone, Copy)]
pub(crate) struct I32x4(imp::Int);

impl I32x4 {
    /// All lanes zero.
    pub(crate) fn zero() -> Self {
        Self(imp::zero_int())
    }

    /// `self` plus, in lane `l`, `a[2l]·b[2l] + a[2l+1]·b[2l+1]`: eight multiply-adds in one
    /// instruction (`i32x4.dot_i16x8_s`, SSE2's `pmaddwd`).
    #[inline(always)]
    pub(crate) fn dot_add(self, a: I16x8, b: I16x8) -> Self {
        Self(imp::dot_add(self.0, a.0, b.0))
    }

    /// The lanes as f32.
    #[inline(always)]
    pub(crate) fn to_f32(self) -> F32x4 {
        F32x4(imp::to_f32(self.0))
    }
}

/// Eight i16 lanes: activation codes and weight pairs of the integer 1x1 product.
#[derive(Clone, Copy)]
pub(crate) struct I16x8(imp::Int);

impl I16x8 {
    /// All lanes zero.
    pub(crate) fn zero() -> Self {
        Self(imp::zero_int())
    }

    /// The lanes of `lo` then `hi`, each saturated to i16.
    #[inline(always)]
    pub(crate) fn narrow(lo: I32x4, hi: I32x4) -> Self {
        Self(imp::narrow(lo.0, hi.0))
    }

    /// `a` and `b` interleaved: `[a0, b0, a1, b1, a2, b2, a3, b3]`, then the same of lanes 4–7.
    #[inline(always)]
    pub(crate) fn zip(a: Self, b: Self) -> [Self; 2] {
        imp::zip(a.0, b.0).map(Self)
    }

    /// The pair `a` in each of the four lane pairs (one 32-bit load and splat).
    #[inline(always)]
    pub(crate) fn splat_pair(a: &[i16; 2]) -> Self {
        Self(imp::splat_pair(a))
    }

    /// The eight values of `a` (one load).
    #[inline(always)]
    pub(crate) fn load(a: &[i16; 8]) -> Self {
        Self(imp::load_i16(a))
    }

    /// Writes the lanes to `a` (one store).
    #[inline(always)]
    pub(crate) fn store(self, a: &mut [i16; 8]) {
        imp::store_i16(self.0, a);
    }
}

#[cfg(test)]
mod tests {
    use super::{imp, portable};

    /// The 128 bits of an integer register, as eight i16.
    fn bits(v: imp::Int) -> [i16; 8] {
        let mut a = [0; 8];
        imp::store_i16(v, &mut a);
        a
    }

    fn portable_bits(v: portable::Int) -> [i16; 8] {
        let mut a = [0; 8];
        portable::store_i16(v, &mut a);
        a
    }

    fn floats(v: imp::Raw) -> [u32; 4] {
        imp::to_array(v).map(f32::to_bits)
    }

    #[test]
    fn simd_lanes_give_the_portable_bits() {
        let mut seed = 0x2545_f491u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            seed >> 8
        };
        for _ in 0..2000 {
            // Halves (ties for rounding), negatives, and values past i16's range.
            let a: [f32; 4] = std::array::from_fn(|_| (next() % 160_001) as f32 * 0.5 - 40_000.0);
            let b: [f32; 4] = std::array::from_fn(|_| (next() % 2001) as f32 / 128.0 - 7.8);
            let p: [i16; 8] = std::array::from_fn(|_| next() as i16);
            let q: [i16; 8] = std::array::from_fn(|_| next() as i16);
            let (fa, fb) = (imp::from_array(a), imp::from_array(b));
            let (ip, iq) = (imp::load_i16(&p), imp::load_i16(&q));
            let (pp, pq) = (portable::load_i16(&p), portable::load_i16(&q));
            let f = |v: portable::Raw| v.map(f32::to_bits);
            assert_eq!(floats(imp::mul(fa, fb)), f(portable::mul(a, b)));
            assert_eq!(floats(imp::add(fa, fb)), f(portable::add(a, b)));
            assert_eq!(
                floats(imp::mul_add(fb, fa, fb)),
                f(portable::mul_add(b, a, b))
            );
            assert_eq!(floats(imp::max_abs(fb, fa)), f(portable::max_abs(b, a)));
            assert_eq!(floats(imp::clamp6(fb)), f(portable::clamp6(b)));
            let rows = [fa, fb, fa, fb];
            let want = portable::transpose([a, b, a, b]).map(f);
            assert_eq!(imp::transpose(rows).map(floats), want);
            assert_eq!(bits(imp::round(fa)), portable_bits(portable::round(a)));
            assert_eq!(floats(imp::to_f32(ip)), f(portable::to_f32(pp)));
            assert_eq!(
                bits(imp::dot_add(ip, ip, iq)),
                portable_bits(portable::dot_add(pp, pp, pq))
            );
            assert_eq!(
                bits(imp::narrow(ip, iq)),
                portable_bits(portable::narrow(pp, pq))
            );
            let (zi, zp) = (imp::zip(ip, iq), portable::zip(pp, pq));
            assert_eq!(zi.map(bits), zp.map(portable_bits));
            let pair = [p[0], p[1]];
            assert_eq!(
                bits(imp::splat_pair(&pair)),
                portable_bits(portable::splat_pair(&pair))
            );
        }
    }
}
