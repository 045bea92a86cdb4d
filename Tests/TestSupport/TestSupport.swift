import ParaRLCore
