"""The conflict catalogue: data, not code. Each entry is a directory read by :mod:`kit.scenarios`."""
