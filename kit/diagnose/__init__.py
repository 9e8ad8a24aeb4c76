"""``kit diagnose``: a user's own suite run with the recorder, each failure named from the evidence.

The public entry points are re-exported here; the parts live one concept per module: ``model`` (findings),
``evidence`` (what a run shows), ``rules`` and ``fallout`` (roots and their fallout), ``classify`` (the order
they are applied in), ``scan`` (the suite's source, shared with the upgrade ``advisor``), ``run`` (running,
recording), ``render``, ``html`` and ``timeline`` (presenting).
"""

from kit.diagnose.classify import classify
from kit.diagnose.model import UNKNOWN, Diagnosis, Finding
from kit.diagnose.render import findings_frame, render_text
from kit.diagnose.run import check_suite_path, diagnose, example_suite, run_diagnosis
from kit.diagnose.timeline import timeline

__all__ = ["UNKNOWN", "Diagnosis", "Finding", "check_suite_path", "classify", "diagnose", "example_suite",
           "findings_frame", "render_text", "run_diagnosis", "timeline"]
