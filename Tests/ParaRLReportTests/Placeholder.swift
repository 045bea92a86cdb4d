import Testing
@testable import ParaRLReport
