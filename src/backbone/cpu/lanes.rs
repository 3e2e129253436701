//! Four f32 lanes in one 128-bit SIMD register: wasm SIMD128 in the browser (`+simd128`, see
//! `.cargo/config.toml`), SSE natively on x86-64, a plain array elsewhere. Just what the
//! depthwise kernel needs, each operation one instruction.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    pub(super) type Raw = v128;

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

    pub(super) type Raw = __m128;

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

#[cfg(not(any(
    all(target_arch = "wasm32", target_feature = "simd128"),
    all(target_arch = "x86_64", not(target_family = "wasm"))
)))]
mod imp {
    pub(super) type Raw = [f32; 4];

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
    pub(super) fn transpose(rows: [Raw; 4]) -> [Raw; 4] {
        std::array::from_fn(|i| std::array::from_fn(|j| rows[j][i]))
    }
}

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

    /// The 4 × 4 transpose: lane `j` of output `i` is lane `i` of input `j` (shuffles only).
    pub(crate) fn transpose(rows: [Self; 4]) -> [Self; 4] {
        imp::transpose(rows.map(|r| r.0)).map(Self)
    }
}
