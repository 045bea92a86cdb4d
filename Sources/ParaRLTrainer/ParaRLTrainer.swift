// ParaRL: trajectory-level RL of the parallel policy (DESIGN §3.5–3.7).
