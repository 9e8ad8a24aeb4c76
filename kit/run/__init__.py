"""Running things and keeping what ran: pytest subprocesses and forks, kernels, the records store.

Nothing is imported here: the fork server's child side runs ``python -m kit.run.forkserver`` inside
version environments, where only the standard library and pytest may be assumed.
"""
