"""Which GPU devices this worker has, and which each running job holds: a job that asks for
GPUs gets ``CUDA_VISIBLE_DEVICES``/``ROCR_VISIBLE_DEVICES`` naming devices no other running
job holds."""

from __future__ import annotations

import os
from collections.abc import Mapping


def detect_gpu_ids(num_gpus: int, given: str = "",
                   env: Mapping[str, str] | None = None) -> list[str]:
    """Device ids: ``--gpu-ids``, else Slurm's (``SLURM_JOB_GPUS``/``SLURM_STEP_GPUS``), else
    ``CUDA_VISIBLE_DEVICES``, else 0..num_gpus-1; at most ``num_gpus`` of them."""
    env = os.environ if env is None else env
    for text in (given, env.get("SLURM_STEP_GPUS", ""), env.get("SLURM_JOB_GPUS", ""),
                 env.get("CUDA_VISIBLE_DEVICES", "")):
        ids = [x.strip() for x in text.split(",") if x.strip()]
        if ids:
            return ids[:num_gpus] if num_gpus else ids
    return [str(i) for i in range(num_gpus)]


class GpuPool:
    """Free and held devices."""

    def __init__(self, ids: list[str]) -> None:
        self.free = list(ids)
        self.held: dict[int, list[str]] = {}

    def take(self, job_id: int, n: int) -> list[str] | None:
        """Devices for a job (None when it asks for none); the worker only starts a job whose
        GPUs fit, so there are always enough."""
        if n <= 0:
            return None
        if n > len(self.free):
            raise RuntimeError(f"job {job_id} needs {n} GPU(s), {len(self.free)} free")
        taken, self.free = self.free[:n], self.free[n:]
        self.held[job_id] = taken
        return taken

    def give_back(self, job_id: int) -> None:
        """A job ended: its devices are free again."""
        self.free.extend(self.held.pop(job_id, []))
