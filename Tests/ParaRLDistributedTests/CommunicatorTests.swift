// The single-process communicator, launch detection and per-rank thread sizing (no MPI needed).
import Foundation
import Testing
@testable import ParaRLDistributed

@Suite("Communicator without MPI")
struct CommunicatorTests {
    @Test("the single-process communicator is rank 0 of 1: collectives are the identity, other roots are errors")
    func singleProcess() throws {
        let c = SingleProcessCommunicator()
        #expect(c.rank == 0 && c.size == 1 && c.isRoot)
        var f: [Float] = [1.5, -2, 3e-8]
        try c.allreduce(&f, .sum)
        try c.allreduce(&f, .mean)
        try c.broadcast(&f, root: 0)
        #expect(f == [1.5, -2, 3e-8])
        var d = Data([1, 2, 3])
        try c.broadcast(&d, root: 0)
        #expect(d == Data([1, 2, 3]))
        #expect(try c.gather(d, root: 0) == [d])
        #expect(try c.sum([2, 3]) == [2, 3])
        #expect(throws: CommunicatorError.invalidRoot(1, size: 1)) { try c.broadcast(&f, root: 1) }
        #expect(throws: CommunicatorError.invalidRoot(2, size: 1)) { _ = try c.gather(d, root: 2) }
        try f.withUnsafeMutableBufferPointer { try c.allreduce($0, .mean) }
        #expect(f == [1.5, -2, 3e-8])
    }

    @Test("an MPI launch is recognised from the launcher's variables; a plain process stays single-process")
    func launchDetection() throws {
        #expect(Communicators.isMPILaunch(environment: ["OMPI_COMM_WORLD_SIZE": "2"]))
        #expect(Communicators.isMPILaunch(environment: ["PMIX_RANK": "0"]))
        #expect(!Communicators.isMPILaunch(environment: ["PATH": "/usr/bin"]))
        let env = ProcessInfo.processInfo.environment
        if !Communicators.isMPILaunch(environment: env) {
            let c = try Communicators.make(environment: env)
            #expect(c is SingleProcessCommunicator)
            #expect(try Communicators.make(environment: env) === c)  // made once, then kept
        }
    }

    @Test("each rank's threads: --threads, else PARARL_THREADS, else node cores ÷ ranks on the node within its binding")
    func threadsPerRank() {
        #expect(Communicators.threadsPerRank(requested: 3, environment: ["PARARL_THREADS": "5"], nodeCores: 8, boundCores: 8) == 3)
        #expect(Communicators.threadsPerRank(requested: nil, environment: ["PARARL_THREADS": "5"], nodeCores: 8, boundCores: 8) == 5)
        let two = ["OMPI_COMM_WORLD_LOCAL_SIZE": "2"]
        #expect(Communicators.threadsPerRank(requested: nil, environment: two, nodeCores: 8, boundCores: 8) == 4)
        #expect(Communicators.threadsPerRank(requested: nil, environment: two, nodeCores: 8, boundCores: 1) == 1)  // bound to a core
        #expect(Communicators.threadsPerRank(requested: nil, environment: ["OMPI_COMM_WORLD_LOCAL_SIZE": "3"],
                                             nodeCores: 2, boundCores: 2) == 1)  // oversubscribed: never 0
        #expect(Communicators.threadsPerRank(requested: nil, environment: [:], nodeCores: 6, boundCores: 6) == 6)
        #expect(Communicators.affinityCores() >= 1)
    }
}
