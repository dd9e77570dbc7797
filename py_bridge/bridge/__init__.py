"""The worker's plumbing: state, shared memory, jobs, errors, stdio and devices (no model or data code)."""
