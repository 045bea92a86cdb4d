// IEEE binary16 (F16) and bfloat16 (BF16) bit patterns to and from Float, rounding to nearest even as
// PyTorch's `.half()` / `.bfloat16()` do; NaN stays NaN (quieted), overflow goes to ±inf.

/// Conversions between `Float` and the 16-bit float formats stored in checkpoints.
public enum HalfFloat {
    /// The F16 bit pattern nearest to `x` (ties to even); magnitudes ≥ 65520 become ±inf.
    public static func f16Bits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let magnitude = bits & 0x7FFF_FFFF
        if x.isNaN { return sign | 0x7E00 | UInt16(truncatingIfNeeded: (magnitude >> 13) & 0x01FF) }
        if magnitude >= 0x477F_F000 { return sign | 0x7C00 }  // ≥ 65520, the midpoint of 65504 and 2^16
        if magnitude < 0x3880_0000 {                            // below 2^-14: an F16 subnormal (or 0)
            // |x|·2^24 is exact; its nearest-even integer is the subnormal's mantissa (1024 is 2^-14, also right).
            let mantissa = (Float(bitPattern: magnitude) * 0x1p24).rounded(.toNearestOrEven)
            return sign | UInt16(mantissa)
        }
        // Rebias the exponent (127 → 15), then round away the low 13 mantissa bits to nearest even.
        let rebiased = magnitude - 0x3800_0000
        let rounded = (rebiased + 0x0FFF + ((rebiased >> 13) & 1)) >> 13
        return sign | UInt16(truncatingIfNeeded: rounded)
    }

    /// The Float an F16 bit pattern stands for (exact).
    public static func float(f16Bits h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x03FF)
        if exponent == 0 {
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13) }
        return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
    }

    /// The BF16 bit pattern nearest to `x` (ties to even); finite values past the BF16 range become ±inf.
    public static func bf16Bits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if x.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        return UInt16(truncatingIfNeeded: (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16)
    }

    /// The Float a BF16 bit pattern stands for (exact).
    public static func float(bf16Bits h: UInt16) -> Float {
        Float(bitPattern: UInt32(h) << 16)
    }
}
