import Testing
@testable import ParaRLDistributed
