// The system-library targets link and answer: the MPI shim's handles and libpng's version.
import CMPIShim
import CPNG
import Testing

@Suite("System libraries")
struct SystemLibraryTests {
    @Test("the MPI shim exposes handles and the library reports its version before MPI_Init")
    func mpiShim() {
        var initialized: Int32 = -1
        #expect(MPI_Initialized(&initialized) == pararl_mpi_success())
        #expect(initialized == 0)
        var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_LIBRARY_VERSION_STRING))
        var length: Int32 = 0
        #expect(MPI_Get_library_version(&buffer, &length) == pararl_mpi_success())
        let version = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #expect(version.contains("Open MPI"))
        #expect(pararl_mpi_float() != pararl_mpi_double())
        #expect(pararl_mpi_sum() != pararl_mpi_max())
    }

    @Test("libpng links and is version 1.6 or later")
    func libpng() {
        #expect(png_access_version_number() >= 10600)
    }
}
