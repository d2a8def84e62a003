"""HiGHS, the LP and MIP solver the planner and the resilience min cuts use."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import highspy


def quiet_highs() -> highspy.Highs:
    """A HiGHS instance that writes nothing. HiGHS prints its banner on the process's standard
    output when an instance is made, before any option can be set: that would break the
    JSON a command prints, so the file descriptor itself is pointed at /dev/null meanwhile."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no standard output at all: nothing to keep clean
        saved = -1
    try:
        with Path(os.devnull).open("wb") as sink:
            if saved >= 0:
                os.dup2(sink.fileno(), 1)
            highs = highspy.Highs()  # type: ignore[no-untyped-call]
            highs.setOptionValue("output_flag", False)
    finally:
        if saved >= 0:
            os.dup2(saved, 1)
            os.close(saved)
    return highs
