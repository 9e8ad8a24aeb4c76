"""``kit diagnose``: a user's own suite run with the recorder, each failure named from the evidence.

The public entry points are re-exported here; the parts live one concept per module.
"""

from kit.diagnose.classify import (UNKNOWN, Diagnosis, Finding, check_suite_path, classify, diagnose,
                                   example_suite, findings_frame, render_text, run_diagnosis, timeline)

__all__ = ["UNKNOWN", "Diagnosis", "Finding", "check_suite_path", "classify", "diagnose", "example_suite",
           "findings_frame", "render_text", "run_diagnosis", "timeline"]
