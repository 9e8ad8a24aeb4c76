"""The database a run goes to: resolving the target, scratch databases, the embedded server, the probe."""
