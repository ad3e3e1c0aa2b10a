"""Options shared by several programs: a worker's, used by ``torc-worker`` and by ``torc run``
(which passes them on to the worker it starts), so the client and the worker do not import
each other."""

from __future__ import annotations

import argparse

from torc.arguments import NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT

# Where workers write logs (jobs run where the worker was started), as Torc's default.
DEFAULT_OUTPUT_DIR = "output"


class _InGigabytes(argparse.Action):
    """``--memory-gb 16`` is ``--memory 16g`` (a positive number of GB)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        try:
            gigabytes = POSITIVE(values)
        except argparse.ArgumentTypeError as e:
            raise argparse.ArgumentError(self, str(e)) from None
        setattr(namespace, self.dest, f"{gigabytes:g}g")


def add_worker_arguments(p: argparse.ArgumentParser) -> None:
    """Options shared by ``torc-worker`` and ``torc run``."""
    p.add_argument("-o", "--output-dir", default=DEFAULT_OUTPUT_DIR,
                   help="where logs go: job stdio, the worker's log, resource data "
                   "(default: %(default)s); jobs run in the current directory")
    p.add_argument("--num-cpus", type=POSITIVE_INT,
                   help="CPUs to use (default: allocation or machine)")
    memory = p.add_mutually_exclusive_group()
    memory.add_argument("--memory",
                        help="memory to use, e.g. 16g (default: allocation or machine)")
    memory.add_argument("--memory-gb", dest="memory", metavar="GB",
                        action=_InGigabytes, help="memory to use in GB, as Torc's flag")
    p.add_argument("--num-gpus", type=NON_NEGATIVE_INT,
                   help="GPUs to use (default: allocation or 0)")
    p.add_argument("--max-parallel-jobs", type=NON_NEGATIVE_INT, default=0,
                   help="at most this many jobs at once (default: limited by resources)")
    p.add_argument("--idle-timeout", type=NON_NEGATIVE, default=None,
                   help="exit after this many seconds with nothing to run, when no job left "
                   "could run here (default: the workflow's "
                   "compute_node_wait_for_new_jobs_seconds, 90; 0: never)")
    p.add_argument("--scheduler", default="",
                   help="the Slurm scheduler whose allocation runs this worker: it takes only "
                   "jobs for it or for none (default: any job)")
    p.add_argument("--end-buffer", type=NON_NEGATIVE, default=None,
                   help="stop this many seconds before the Slurm allocation ends (default: "
                   "the workflow's compute_node_expiration_buffer_seconds, 60)")
