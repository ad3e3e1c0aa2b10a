"""Action trigger types (Torc's), and which of them a worker claims from its main loop."""

WORKER_TRIGGERS = ("on_worker_start", "on_worker_complete")
JOB_TRIGGERS = ("on_jobs_ready", "on_jobs_complete")
# What a worker claims from its main loop; worker-lifecycle actions it claims at start and end.
MAIN_LOOP_TRIGGERS = ("on_workflow_start", "on_workflow_complete", *JOB_TRIGGERS)
TRIGGERS = (*MAIN_LOOP_TRIGGERS, *WORKER_TRIGGERS)
