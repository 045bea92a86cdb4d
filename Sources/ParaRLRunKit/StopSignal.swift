// Stopping a training command at a safe point: the first SIGINT or SIGTERM asks the loop to stop after the step
// it is in (which is then checkpointed, so nothing is lost and the run resumes from it); a second one ends the
// process at once (work since the last checkpoint is then lost, the folder stays resumable).
import Foundation
import ParaRLDistributed
#if canImport(Glibc)
import Glibc
#endif

public enum StopSignal {
    /// The signal that asked for the stop (0: none). Written by the handler, read by the loops between steps.
    nonisolated(unsafe) private static var requestedSignal: sig_atomic_t = 0

    /// Installs the handlers for SIGINT and SIGTERM (once per process, by the training commands).
    public static func install() {
        // A launcher may hand the process these signals blocked (the mask survives exec): unblock them here.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        sigaddset(&unblock, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { received in
                if StopSignal.requestedSignal != 0 {
                    let message = "\nsecond signal: stopping now (the run resumes from its last checkpoint)\n"
                    _ = message.withCString { write(2, $0, strlen($0)) }
                    _exit(128 + received)
                }
                StopSignal.requestedSignal = received
                let message = "\nstopping after this step (it is checkpointed; signal again to stop at once)\n"
                _ = message.withCString { write(2, $0, strlen($0)) }
            }
        }
    }

    /// Whether a stop was asked for (by a signal or `request`).
    public static var isRequested: Bool { requestedSignal != 0 }

    /// The signal that asked (SIGINT, SIGTERM), 0 when none.
    public static var signalNumber: Int32 { requestedSignal }

    /// Asks the loops to stop after their current step, as a signal does (tests; embedding code).
    public static func request(signal: Int32 = SIGINT) { requestedSignal = signal }

    /// Clears a request (tests; a process that trains again after a stop).
    public static func reset() { requestedSignal = 0 }

    /// Whether the loops stop after this step: a request on any rank counts, so every rank stops at the same step.
    public static func agreed(_ communicator: any Communicator) throws -> Bool {
        guard communicator.size > 1 else { return isRequested }
        var flag = [isRequested ? 1.0 : 0.0]
        try communicator.allreduce(&flag, .sum)
        return flag[0] > 0
    }
}

/// A training loop stopped at a safe point because a stop was asked for; its last step is checkpointed.
public struct StopRequested: Error, CustomStringConvertible, Equatable {
    public var step: Int
    public var checkpoint: URL?
    public var signal: Int32
    public init(step: Int, checkpoint: URL?, signal: Int32) { self.step = step; self.checkpoint = checkpoint; self.signal = signal }
    public var description: String {
        "stopped at step \(step) by \(signal == SIGTERM ? "SIGTERM" : "SIGINT")"
            + (checkpoint.map { ", checkpointed in \($0.path)" } ?? "")
    }
}
