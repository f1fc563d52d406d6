//! NumPy element types as MDS names and codes them: scalar column encodings
//! (`uint8` … `float64`) and `ndarray` elements.

/// A NumPy element type that MDS can store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dtype {
    /// `uint8`
    U8,
    /// `int8`
    I8,
    /// `uint16`
    U16,
    /// `int16`
    I16,
    /// `float16` (IEEE half precision)
    F16,
    /// `uint32`
    U32,
    /// `int32`
    I32,
    /// `float32`
    F32,
    /// `uint64`
    U64,
    /// `int64`
    I64,
    /// `float64`
    F64,
}

impl Dtype {
    /// Every type, in MDS code order.
    pub const ALL: [Dtype; 11] = [
        Dtype::U8,
        Dtype::I8,
        Dtype::U16,
        Dtype::I16,
        Dtype::F16,
        Dtype::U32,
        Dtype::I32,
        Dtype::F32,
        Dtype::U64,
        Dtype::I64,
        Dtype::F64,
    ];

    /// The NumPy name, e.g. `uint8`.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::U8 => "uint8",
            Dtype::I8 => "int8",
            Dtype::U16 => "uint16",
            Dtype::I16 => "int16",
            Dtype::F16 => "float16",
            Dtype::U32 => "uint32",
            Dtype::I32 => "int32",
            Dtype::F32 => "float32",
            Dtype::U64 => "uint64",
            Dtype::I64 => "int64",
            Dtype::F64 => "float64",
        }
    }

    /// The type with this NumPy name.
    pub fn from_name(name: &str) -> Option<Dtype> {
        Dtype::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The one-byte code of dynamic-dtype `ndarray` values.
    pub fn code(self) -> u8 {
        match self {
            Dtype::U8 => 8,
            Dtype::I8 => 9,
            Dtype::U16 => 16,
            Dtype::I16 => 17,
            Dtype::F16 => 18,
            Dtype::U32 => 32,
            Dtype::I32 => 33,
            Dtype::F32 => 34,
            Dtype::U64 => 64,
            Dtype::I64 => 65,
            Dtype::F64 => 66,
        }
    }

    /// The type with this `ndarray` code.
    pub fn from_code(code: u8) -> Option<Dtype> {
        Dtype::ALL.into_iter().find(|d| d.code() == code)
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::U8 | Dtype::I8 => 1,
            Dtype::U16 | Dtype::I16 | Dtype::F16 => 2,
            Dtype::U32 | Dtype::I32 | Dtype::F32 => 4,
            Dtype::U64 | Dtype::I64 | Dtype::F64 => 8,
        }
    }

    /// Whether this is a floating-point type.
    pub fn is_float(self) -> bool {
        matches!(self, Dtype::F16 | Dtype::F32 | Dtype::F64)
    }

    /// The inclusive integer range of an integer type (as i128).
    pub(crate) fn int_range(self) -> Option<(i128, i128)> {
        let range = match self {
            Dtype::U8 => (0, u8::MAX.into()),
            Dtype::I8 => (i8::MIN.into(), i8::MAX.into()),
            Dtype::U16 => (0, u16::MAX.into()),
            Dtype::I16 => (i16::MIN.into(), i16::MAX.into()),
            Dtype::U32 => (0, u32::MAX.into()),
            Dtype::I32 => (i32::MIN.into(), i32::MAX.into()),
            Dtype::U64 => (0, u64::MAX.into()),
            Dtype::I64 => (i64::MIN.into(), i64::MAX.into()),
            Dtype::F16 | Dtype::F32 | Dtype::F64 => return None,
        };
        Some(range)
    }
}

/// Converts to IEEE half precision, rounding to nearest even like NumPy.
pub(crate) fn f64_to_f16_bits(x: f64) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 48) & 0x8000) as u16;
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let man = bits & ((1u64 << 52) - 1);
    if exp == 0x7ff {
        return sign | 0x7c00 | if man != 0 { 0x200 } else { 0 };
    }
    let e = exp - 1023;
    if e > 15 {
        return sign | 0x7c00;
    }
    let round = |m: u64, rest: u64, half: u64| {
        if rest > half || (rest == half && m & 1 == 1) {
            m + 1
        } else {
            m
        }
    };
    if e >= -14 {
        let m = round(man >> 42, man & ((1 << 42) - 1), 1 << 41);
        // A mantissa carry moves into the exponent; past 30 it becomes infinity.
        return sign | ((((e + 15) as u64) << 10) + m) as u16;
    }
    if e < -25 {
        return sign;
    }
    // Subnormal half: count units of 2^-24.
    let full = man | (1 << 52);
    let shift = (28 - e) as u32;
    sign | round(full >> shift, full & ((1 << shift) - 1), 1 << (shift - 1)) as u16
}

/// Converts IEEE half precision bits to a double (exact).
pub(crate) fn f16_bits_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let man = f64::from(bits & 0x3ff);
    match exp {
        0 => sign * man * 2f64.powi(-24),
        31 if man == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        _ => sign * (1.0 + man / 1024.0) * 2f64.powi(exp - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_round_trip() {
        for d in Dtype::ALL {
            assert_eq!(Dtype::from_name(d.name()), Some(d));
            assert_eq!(Dtype::from_code(d.code()), Some(d));
        }
        assert_eq!(Dtype::from_name("bool"), None);
        assert_eq!(Dtype::from_code(7), None);
    }

    #[test]
    fn half_precision_matches_numpy() {
        // np.float16(x).view(np.uint16) for each x
        let cases = [
            (0.0, 0x0000),
            (-0.0, 0x8000),
            (1.0, 0x3c00),
            (-2.0, 0xc000),
            (0.1, 0x2e66),
            (65504.0, 0x7bff),
            (65519.0, 0x7bff),
            (65520.0, 0x7c00),
            (1e6, 0x7c00),
            (2f64.powi(-24), 0x0001),
            (2f64.powi(-25), 0x0000),
            (1.5 * 2f64.powi(-25), 0x0001),
            (2f64.powi(-14), 0x0400),
            (2f64.powi(-14) - 2f64.powi(-25), 0x0400),
            (1.0 + 2f64.powi(-11), 0x3c00),
            (1.0 + 3.0 * 2f64.powi(-11), 0x3c02),
            (f64::INFINITY, 0x7c00),
        ];
        for (x, bits) in cases {
            assert_eq!(f64_to_f16_bits(x), bits, "{x:e}");
        }
        assert!(f16_bits_to_f64(f64_to_f16_bits(f64::NAN)).is_nan());
        for bits in 0..=0xffffu16 {
            let x = f16_bits_to_f64(bits);
            if !x.is_nan() {
                assert_eq!(f64_to_f16_bits(x), bits, "{bits:#06x}");
            }
        }
    }
}
