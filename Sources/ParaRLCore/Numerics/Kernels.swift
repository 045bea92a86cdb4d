// The run-time choice of the element-wise kernels (Sources/CKernels): AVX-512 or AVX2+FMA C kernels where the CPU has
// them, else the portable Swift code of the first releases. PARARL_ISA=portable|avx2|avx512 lowers the choice.
import CKernels

public enum Kernels {
    /// The instruction set in use.
    public static var isa: String { String(cString: pk_isa_name(pk_isa())) }
    /// True when the C vector kernels run (AVX2 or AVX-512), false on the portable path.
    @inline(__always)
    static var vectorised: Bool { pk_isa() > 0 }
}
