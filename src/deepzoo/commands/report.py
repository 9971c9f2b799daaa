"""``deepzoo report RUN``: write the run's (or a tuning study's) self-contained HTML report again."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="write a run's or a tuning study's HTML report (report.html) again")
    p.add_argument("run", metavar="RUN", help="run folder or name under --runs-dir; a study folder or name too")
    p.add_argument("--runs-dir", default="runs", help="where names are looked up (default runs/)")
    p.add_argument("--output", metavar="FILE", help="where to write the page (default RUN/report.html)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..report import STUDY_SETTINGS, write_run_report, write_study_report
    from ..run import resolve_run_dir

    if args.output and Path(args.output).is_dir():
        raise ConfigError(f"--output {args.output}: is a folder; name the HTML file to write")
    study = next((d for d in (Path(args.run), Path(args.runs_dir) / args.run) if (d / STUDY_SETTINGS).is_file()), None)
    if study is not None:
        path = write_study_report(study, args.output)
    else:
        path = write_run_report(resolve_run_dir(args.run, args.runs_dir), output=args.output)
    print(f"report: {path}")
    return 0
