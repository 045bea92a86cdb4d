import Testing
@testable import ParaRLSampling
