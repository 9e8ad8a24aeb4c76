"""kit's pytest recorder: what ran on which event loop, written as JSON Lines events.

Standard library and pytest only (SQLAlchemy's events are used when SQLAlchemy is importable): it runs
inside users' suites and kit's version environments. ``pytest -p kit.plugin`` loads it.
"""
