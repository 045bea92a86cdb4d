// Reading rollout logs: `pararl inspect` queries and exports, and the self-contained HTML report.
