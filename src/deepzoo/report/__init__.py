"""Reports: one self-contained HTML page per run (``runs/<name>/report.html``), per tuning study, and for
several runs side by side (``deepzoo compare --html``).

A report reads only the files of a folder — never a dataset or a model — so ``run.training`` can write
one at the end of every run; it sits below ``run`` in the layer table for that reason.
"""

from .compare_page import write_compare_report
from .folder import STUDY_SETTINGS
from .run_page import REPORT, write_run_report
from .study_page import write_study_report

__all__ = ["REPORT", "STUDY_SETTINGS", "write_compare_report", "write_run_report", "write_study_report"]
