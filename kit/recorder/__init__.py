"""kit's pytest recorder: what ran on which event loop, written as JSON Lines events.

Standard library and pytest only (SQLAlchemy's events are used when SQLAlchemy is importable): it runs
inside users' suites and kit's version environments. ``pytest -p kit.plugin`` loads it.

One concept per module: :mod:`~kit.recorder.plugin` (the pytest hooks and the session's state),
:mod:`~kit.recorder.events` (the event format, shared with the readers), :mod:`~kit.recorder.loops` (loop
labels, the ``run_until_complete`` patch), :mod:`~kit.recorder.sqla` (SQLAlchemy pool and session listeners),
:mod:`~kit.recorder.hang` (the dump a timed-out run writes), :mod:`~kit.recorder.logs` (errors only logged),
:mod:`~kit.recorder.exceptions` (an exception as short text), :mod:`~kit.recorder.text` (masking, bounds),
:mod:`~kit.recorder.config` (pytest-asyncio options and versions). Plain hooks only, no hook wrappers: the
recorder runs on every pluggy that pytest 7 and later use.
"""
