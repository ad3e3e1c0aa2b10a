"""Slurm at the edge, used by all three tiers: its commands (``commands``), the batch script
a ``schedule_nodes`` action submits (``batch``), and submitting one (``schedule``)."""

from torc.slurm.batch import batch_script
from torc.slurm.commands import (
    FINAL_STATES,
    JobInfo,
    SlurmError,
    job_end_time,
    sbatch,
    scancel,
    sinfo,
    squeue,
)
from torc.slurm.schedule import schedule_nodes

__all__ = ["FINAL_STATES", "JobInfo", "SlurmError", "batch_script", "job_end_time", "sbatch",
           "scancel", "schedule_nodes", "sinfo", "squeue"]
