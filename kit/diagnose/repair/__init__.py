"""kit fix: mechanical repairs of a suite, proved by rerunning it."""
