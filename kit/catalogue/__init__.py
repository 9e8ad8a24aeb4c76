"""The conflict catalogue: entries as data (one directory each, read by :mod:`kit.catalogue.scenario`),
and the code that runs them (:mod:`~kit.catalogue.reproduce`), judges them (:mod:`~kit.catalogue.judge`)
and sweeps them across releases (:mod:`~kit.catalogue.matrix`, in the environments of
:mod:`~kit.catalogue.envs`, its cells stored and read back by :mod:`~kit.catalogue.cells`).

Nothing is imported here, so that reading an entry never pulls in the runner.
"""
