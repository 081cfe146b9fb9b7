"""The back office's import job: check or import an uploaded file (``core/billing/import_runs``)."""

from __future__ import annotations

from datetime import timedelta

from recaudo.core.billing.import_runs import process_run
from recaudo.core.platform.jobs import Job, RetryPolicy

JOBS = [
    Job(
        "import_run",
        process_run,
        queue="default",
        # A failure that is not the file's (the database went away) is tried again for a while;
        # the run stays "queued" meanwhile and the page says so.
        retry=RetryPolicy(
            first=timedelta(seconds=5), cap=timedelta(minutes=1), give_up_after=timedelta(hours=1)
        ),
        time_limit=timedelta(minutes=30),
    )
]
