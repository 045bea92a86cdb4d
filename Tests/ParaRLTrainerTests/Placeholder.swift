import Testing
@testable import ParaRLTrainer
