"""`uv run loadtest`: the system under a realistic mixed workload (locust), with faults
injected mid-run and checkers of what they must not lose (docs/loadtest.md)."""
