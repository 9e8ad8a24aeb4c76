"""Helpers every layer uses: where kit keeps things, masking secrets, versions, running a coroutine.

Standard library only: the recorder imports these inside version environments and users' suites.
"""
