"""`uv run bench`: what authentication costs per request, measured against baselines."""
