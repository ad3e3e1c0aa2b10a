"""``torc hpc ...`` (cluster profiles) and ``torc slurm generate|schedule-nodes|sacct|
parse-logs``: Slurm without hand-written schedulers."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from torc import states as S
from torc.client import output
from torc.client.stub import TorcClient
from torc.errors import TorcError
from torc.options import DEFAULT_OUTPUT_DIR
from torc.slurm import plan as planner
from torc.slurm import profiles as P
from torc.slurm.discover import slurm_time_seconds
from torc.spec.units import parse_duration, parse_memory

PARTITION_COLUMNS = ["name", "cpus_per_node", "memory_mb", "max_walltime", "gpus_per_node",
                     "max_nodes", "shared", "requires_explicit_request", "description"]


def resolve_profile(name: str | None) -> P.Profile:
    """The named profile, else the detected one; a TorcError saying how to get one."""
    profiles = P.all_profiles()
    if name:
        if name not in profiles:
            raise TorcError(f"no HPC profile {name!r}; known: {', '.join(sorted(profiles))} "
                            "(torc hpc generate describes the cluster it runs on)")
        return profiles[name]
    found = P.detect()
    if found is None:
        raise TorcError("no HPC profile matches this cluster: give --profile NAME (torc hpc "
                        "list) or run torc hpc generate here")
    return found


def account_for(a: argparse.Namespace, profile: P.Profile) -> str:
    """``--account``, else the profile's ``default_account`` (Torc's config key)."""
    account = a.account or profile.default_account
    if not account:
        raise TorcError(f"--account is required (or default_account for profile "
                        f"{profile.name}: [client.hpc.profile_overrides.{profile.name}] in "
                        "a configuration file)")
    return str(account)


def _partition_rows(profile: P.Profile, parts: list[P.Partition]) -> list[dict[str, Any]]:
    return [{**{k: getattr(p, k) for k in PARTITION_COLUMNS if k != "max_walltime"},
             "max_walltime": p.max_walltime, "max_walltime_secs": p.max_walltime_secs,
             "profile": profile.name} for p in parts]


def cmd_hpc_list(c: Any, a: argparse.Namespace) -> None:
    detected = P.detect()
    rows = [{"name": p.name, "display_name": p.display_name, "partitions": len(p.partitions),
             "source": p.source, "detected": detected is not None and p.name == detected.name}
            for p in P.all_profiles().values()]
    output.rows(a.format, "HPC profiles", rows,
                ["name", "display_name", "partitions", "source", "detected"])


def cmd_hpc_detect(c: Any, a: argparse.Namespace) -> None:
    p = P.detect()
    if p is None:
        raise TorcError("no HPC profile matches this cluster (torc hpc generate makes one)")
    if a.format == "json":
        output.emit_json({"name": p.name, "display_name": p.display_name, "source": p.source})
    else:
        print(f"{p.name}: {p.display_name} ({p.source})")


def cmd_hpc_show(c: Any, a: argparse.Namespace) -> None:
    p = resolve_profile(a.name)
    if a.format == "json":
        output.emit_json({**p.to_json(), "source": p.source})
        return
    output.table(f"{p.display_name}: {p.description}", _partition_rows(p, p.partitions),
                 PARTITION_COLUMNS)


def cmd_hpc_partitions(c: Any, a: argparse.Namespace) -> None:
    p = resolve_profile(a.name)
    parts = [x for x in p.partitions if (not a.gpu or x.gpus_per_node)
             and (not a.cpu or not x.gpus_per_node) and (not a.shared or x.shared)]
    output.rows(a.format, f"partitions of {p.name}", _partition_rows(p, parts),
                PARTITION_COLUMNS)


def walltime_seconds(text: str) -> float:
    """A wall time as Slurm writes it (``4:00:00``, ``2-00:00:00``, ``90``) or in ISO 8601
    (``PT4H``), in seconds."""
    if text.strip().upper().startswith("P"):
        return parse_duration(text)
    return float(slurm_time_seconds(text))


def cmd_hpc_match(c: Any, a: argparse.Namespace) -> None:
    p = resolve_profile(a.profile)
    try:
        mem_mb = parse_memory(a.memory) // (1024 * 1024) if a.memory else 0
        secs = walltime_seconds(a.walltime) if a.walltime else 0.0
    except ValueError as e:
        raise TorcError(str(e)) from None
    parts = p.matching(a.num_cpus, mem_mb, secs, a.num_gpus)
    best = p.best_partition(a.num_cpus, mem_mb, secs, a.num_gpus)
    rows = [{**r, "best": best is not None and r["name"] == best.name}
            for r in _partition_rows(p, parts)]
    output.rows(a.format, f"partitions of {p.name} for {a.num_cpus} CPUs, {mem_mb} MiB, "
                f"{secs:g} s, {a.num_gpus} GPUs", rows, ["best", *PARTITION_COLUMNS])


def cmd_hpc_generate(c: Any, a: argparse.Namespace) -> None:
    from torc.slurm.discover import generate_profile
    p = generate_profile(a.name)
    path = None if a.no_save else P.save_profile(p)
    if a.format == "json":
        output.emit_json({**p.to_json(), "saved_to": str(path) if path else None})
        return
    output.table(f"{p.display_name}" + (f" (saved to {path})" if path else ""),
                 _partition_rows(p, p.partitions), PARTITION_COLUMNS)


def generate_spec(a: argparse.Namespace) -> tuple[dict[str, Any], planner.Plan]:
    """The spec with generated schedulers and actions (``torc slurm generate``)."""
    from torc.spec.load import load_file
    from torc.spec.params import expand_entry
    from torc.spec.validate import normalize
    raw = load_file(a.spec)
    norm = normalize(raw, str(a.spec))
    shared = raw.get("parameters") or {}
    names_of = [[e["name"] for e in expand_entry(j, shared, f"jobs[{i}]")]
                for i, j in enumerate(raw["jobs"])]
    profile = resolve_profile(a.profile)
    opts = planner.Options(account=account_for(a, profile),
                           single_allocation=a.single_allocation,
                           group_by=a.group_by, walltime_strategy=a.walltime_strategy,
                           walltime_multiplier=a.walltime_multiplier,
                           add_actions=not a.no_actions,
                           expiration_buffer=norm["settings"][
                               "compute_node_expiration_buffer_seconds"])
    plan = planner.make_plan(norm, profile, opts)
    spec = planner.apply_plan(raw, plan, names_of, force=a.force)
    normalize(json.loads(json.dumps(spec)), "generated spec")  # what we write must load
    return spec, plan


def cmd_slurm_generate(c: Any, a: argparse.Namespace) -> None:
    spec, plan = generate_spec(a)
    text = json.dumps(spec, indent=2) + "\n" if str(a.output or "").endswith(".json") else \
        yaml.safe_dump(json.loads(json.dumps(spec)), sort_keys=False)
    for w in plan.warnings:
        output.console.print(f"[yellow]warning:[/] {w}", highlight=False)
    if a.dry_run or not a.output:
        if a.format == "json":
            output.emit_json({"schedulers": plan.schedulers, "actions": plan.actions,
                              "warnings": plan.warnings, "spec": spec})
        else:
            print(text, end="")
        return
    Path(a.output).write_text(text)
    if a.format == "json":
        output.emit_json({"output": a.output, "schedulers": plan.schedulers,
                          "actions": plan.actions, "warnings": plan.warnings})
    else:
        rows = [{**s, "num_allocations": next((x["num_allocations"] for x in plan.actions
                                               if x["scheduler"] == s["name"]), None),
                 "jobs": sum(1 for v in plan.assignments.values() if v == s["name"])}
                for s in plan.schedulers]
        output.table(f"wrote {a.output}", rows, ["name", "partition", "nodes", "walltime",
                                                 "mem", "gres", "num_allocations", "jobs"])


def cmd_schedule_nodes(c: TorcClient, a: argparse.Namespace) -> None:
    from torc.client.allocations import schedule_now
    if a.scheduler_config_id is not None:  # Torc's: the scheduler by its number in the spec
        schedulers = c.workflow_spec(a.id).get("slurm_schedulers") or []
        if not 1 <= a.scheduler_config_id <= len(schedulers):
            raise TorcError(f"workflow {a.id} has no scheduler {a.scheduler_config_id} "
                            f"(it has {len(schedulers)})")
        a.scheduler = schedulers[a.scheduler_config_id - 1]["name"]
    if not a.scheduler:
        raise TorcError("give --scheduler NAME (or --scheduler-config-id N)")
    ids = schedule_now(c, a.id, a.scheduler, a.num_allocations, a.start_one_worker_per_node,
                       Path(a.output_dir).resolve(), max_parallel_jobs=a.max_parallel_jobs,
                       job_prefix=a.job_prefix)
    output.rows(a.format, f"allocations submitted for workflow {a.id}",
                [{"slurm_job_id": i, "scheduler": a.scheduler} for i in ids],
                ["slurm_job_id", "scheduler"])


def regeneration_options(c: TorcClient, wf_id: int, profile_name: str | None,
                         account: str | None, **flags: Any) -> tuple[P.Profile, planner.Options]:
    """The profile and planning options of ``slurm regenerate``: the account given, else (as
    Torc) the account of the workflow's own schedulers, else the profile's default."""
    from torc.client.allocations import scheduler_configs
    profile = resolve_profile(profile_name)
    if not account:
        account = next((str(s["account"]) for s in scheduler_configs(c, wf_id).values()
                        if s.get("account")), None)
    return profile, planner.Options(
        account=account_for(argparse.Namespace(account=account), profile), **flags)


def cmd_regenerate(c: TorcClient, a: argparse.Namespace) -> None:
    from torc.client.allocations import regeneration_plan, submit_regenerated
    profile, opts = regeneration_options(
        c, a.id, a.profile, a.account, single_allocation=a.single_allocation,
        group_by=a.group_by, walltime_strategy=a.walltime_strategy,
        walltime_multiplier=a.walltime_multiplier)
    try:
        include = {int(x) for x in (a.include_job_ids or "").split(",") if x.strip()}
    except ValueError:
        raise TorcError(f"--include-job-ids: {a.include_job_ids!r} is not a comma-separated "
                        "list of job ids") from None
    plan, ready = regeneration_plan(c, a.id, profile, opts, include)
    for w in plan.warnings:
        output.console.print(f"[yellow]warning:[/] {w}", highlight=False)
    if a.submit and not a.dry_run:
        rows = submit_regenerated(c, a.id, plan, ready, Path(a.output_dir).resolve())
        output.rows(a.format, f"allocations for workflow {a.id}'s remaining jobs", rows,
                    ["scheduler", "slurm_job_id", "note"])
        return
    rows = [{**s, "num_allocations": next(x["num_allocations"] for x in plan.actions
                                          if x["scheduler"] == s["name"]),
             "jobs": sum(1 for v in plan.assignments.values() if v == s["name"])}
            for s in plan.schedulers]
    output.rows(a.format, f"allocations workflow {a.id}'s remaining jobs need", rows,
                ["name", "partition", "nodes", "walltime", "mem", "num_allocations", "jobs"])


def cmd_sacct(c: TorcClient, a: argparse.Namespace) -> None:
    from torc.slurm.accounting import sacct
    allocs = c.list_allocations(a.id)
    names = {j.id: j.name for j in c.list_jobs(a.id)}
    rows = []
    for r in sacct(x.slurm_job_id for x in allocs):
        if a.all or r.get("workflow_id") == a.id:
            rows.append({"slurm_step": r["JobID"], "job_id": r.get("job_id"),
                         "job_name": names.get(r.get("job_id", 0)), "run_id": r.get("run_id"),
                         "attempt_id": r.get("attempt_id"), "state": r["State"],
                         "exit_code": r["ExitCode"], "max_rss_bytes": r["MaxRSSBytes"],
                         "max_rss": r["MaxRSS"] or None, "total_cpu": r["TotalCPU"],
                         "elapsed": r["Elapsed"], "nodes": r["NodeList"]})
    if a.save_json:
        path = Path(a.output_dir) / f"sacct_wf{a.id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows, indent=2) + "\n")
    output.rows(a.format, f"Slurm accounting of workflow {a.id}'s job steps", rows,
                ["slurm_step", "job_id", "job_name", "attempt_id", "state", "exit_code",
                 "max_rss", "total_cpu", "elapsed", "nodes"])


def cmd_parse_logs(c: TorcClient, a: argparse.Namespace) -> None:
    from torc.client.reports import OutputDirs
    from torc.slurm.accounting import scan
    workers = c.list_workers(a.id)
    dirs = OutputDirs(workers, a.output_dir)
    results = c.list_results(a.id, all_runs=True)
    worker_alloc = {w.id: w.slurm_job_id for w in workers}
    rows = []
    for alloc in c.list_allocations(a.id):
        sid = alloc.slurm_job_id
        ran = sorted({r.job_name for r in results if worker_alloc.get(r.worker_id) == sid
                      and r.status != S.COMPLETED})  # jobs there that did not complete
        # The allocation's workers said where they wrote (one place for an allocation).
        out_dir = dirs.of_worker(next((w.id for w in workers if w.slurm_job_id == sid), 0))
        logs = [out_dir / f"slurm_output_wf{a.id}_sl{sid}{suffix}" for suffix in (".o", ".e")]
        logs += sorted(out_dir.glob(f"job_runner_slurm_wf{a.id}_sl{sid}_*.log"))  # workers'
        for path in logs:
            for hit in scan(path):
                rows.append({"slurm_job_id": sid, "file": str(path), **hit,
                             "jobs": ", ".join(ran) or None})
        # srun and the job itself write into the job's own stderr (a step over its memory).
        for r in results:
            if worker_alloc.get(r.worker_id) != sid or r.status == S.COMPLETED:
                continue
            base = dirs.stdio(a.id, r)
            for path in (base.with_suffix(".e"), base.with_suffix(".o")):
                for hit in scan(path):
                    rows.append({"slurm_job_id": sid, "file": str(path), **hit,
                                 "jobs": r.job_name})
    output.rows(a.format, f"failure patterns in the Slurm output of workflow {a.id}", rows,
                ["slurm_job_id", "kind", "line", "text", "jobs", "file"])


def add_commands(sub: Any) -> None:
    """``torc hpc ...`` and ``torc slurm ...``."""
    hpc = sub.add_parser("hpc", help="HPC cluster profiles (partitions and their limits)")
    hsub = hpc.add_subparsers(dest="verb", required=True, metavar="VERB")
    hsub.add_parser("list", help="known profiles").set_defaults(func=cmd_hpc_list, local=True)
    hsub.add_parser("detect", help="the profile of this cluster").set_defaults(
        func=cmd_hpc_detect, local=True)
    s = hsub.add_parser("show", help="a profile and its partitions")
    s.add_argument("name", nargs="?")
    s.set_defaults(func=cmd_hpc_show, local=True)
    s = hsub.add_parser("partitions", help="partitions of a profile")
    s.add_argument("name", nargs="?")
    s.add_argument("--gpu", action="store_true", help="only GPU partitions")
    s.add_argument("--cpu", action="store_true", help="only CPU partitions")
    s.add_argument("--shared", action="store_true", help="only shared partitions")
    s.set_defaults(func=cmd_hpc_partitions, local=True)
    s = hsub.add_parser("match", help="partitions that fit a job")
    s.add_argument("--cpus", "--num-cpus", type=int, default=1, dest="num_cpus")
    s.add_argument("--memory", help="e.g. 16g")
    s.add_argument("--walltime", help="Slurm's time (4:00:00, 2-00:00:00) or ISO 8601 (PT4H)")
    s.add_argument("--gpus", "--num-gpus", type=int, default=0, dest="num_gpus")
    s.add_argument("--profile")
    s.set_defaults(func=cmd_hpc_match, local=True)
    s = hsub.add_parser("generate", help="describe this cluster from sinfo and save it")
    s.add_argument("--name", default="local", help="profile name (default: %(default)s)")
    s.add_argument("--no-save", action="store_true")
    s.set_defaults(func=cmd_hpc_generate, local=True)

    sl = sub.add_parser("slurm", help="Slurm schedulers, allocations and accounting")
    ssub = sl.add_subparsers(dest="verb", required=True, metavar="VERB")
    s = ssub.add_parser("generate", help="add Slurm schedulers and schedule_nodes actions to "
                                         "a spec (Torc's algorithm)")
    add_generate_arguments(s)
    s.add_argument("spec")
    s.add_argument("-o", "--output", help="write the spec here (default: print it)")
    s.add_argument("--dry-run", action="store_true", help="print, write nothing")
    s.set_defaults(func=cmd_slurm_generate, local=True)
    s = ssub.add_parser("schedule-nodes", help="submit allocations for a scheduler now")
    s.add_argument("id", type=int)
    s.add_argument("--scheduler", help="the scheduler's name")
    s.add_argument("--scheduler-config-id", type=int,
                   help="the scheduler by its number in the spec (Torc's)")
    s.add_argument("-n", "--num-allocations", "--num-hpc-jobs", dest="num_allocations",
                   type=int, default=1)
    s.add_argument("--start-one-worker-per-node", action="store_true")
    s.add_argument("-m", "--max-parallel-jobs", type=int, default=0,
                   help="at most this many jobs at once on each worker")
    s.add_argument("-j", "--job-prefix", default="", help="prefix of the Slurm job names")
    s.add_argument("--keep-submission-scripts", action="store_true",
                   help="Torc's flag: the scripts are always kept in <output-dir>/slurm_scripts")
    s.add_argument("-p", "--poll-interval", type=float,
                   help="Torc's flag: the coordinator follows the allocations itself")
    s.add_argument("-o", "--output-dir", "--output", dest="output_dir",
                   default=DEFAULT_OUTPUT_DIR)
    s.set_defaults(func=cmd_schedule_nodes)
    s = ssub.add_parser("regenerate", help="plan (and --submit) allocations for the jobs not "
                                           "done yet, e.g. after torc recover")
    s.add_argument("id", type=int)
    add_generate_arguments(s, for_spec=False)
    s.add_argument("--submit", action="store_true")
    s.add_argument("--dry-run", action="store_true", help="show the plan; submit nothing")
    s.add_argument("--include-job-ids", help="plan these jobs too, whatever their status "
                   "(comma-separated; e.g. failed ones before a recovery)")
    s.add_argument("-p", "--poll-interval", type=float,
                   help="Torc's flag: the coordinator follows the allocations itself")
    s.add_argument("-o", "--output-dir", default=DEFAULT_OUTPUT_DIR)
    s.set_defaults(func=cmd_regenerate)
    s = ssub.add_parser("sacct", help="each job's Slurm step as sacct recorded it")
    s.add_argument("id", type=int)
    s.add_argument("--all", action="store_true", help="also the allocations' other steps")
    s.add_argument("--save-json", action="store_true",
                   help="also write the rows to <output-dir>/sacct_wf<W>.json")
    s.add_argument("-o", "--output-dir", default=DEFAULT_OUTPUT_DIR)
    s.set_defaults(func=cmd_sacct)
    s = ssub.add_parser("parse-logs", help="known failures (OOM, time limit, node failure, "
                                           "CUDA, tracebacks) in the allocations' output")
    s.add_argument("id", type=int)
    s.add_argument("-o", "--output-dir", default=None,
                   help="where the allocations wrote (default: where their workers said)")
    s.add_argument("--errors-only", action="store_true",
                   help="Torc's flag: every pattern found here is an error")
    s.set_defaults(func=cmd_parse_logs)


def add_generate_arguments(s: argparse.ArgumentParser, for_spec: bool = True) -> None:
    """The planning flags, shared by ``slurm generate``, ``submit --generate`` and (without
    those that edit a spec) ``slurm regenerate``."""
    s.add_argument("--account", help="Slurm account (default: the profile's "
                   "default_account from a configuration file)")
    s.add_argument("--profile", "--hpc-profile", dest="profile",
                   help="HPC profile (default: the detected one)")
    s.add_argument("--single-allocation", action="store_true",
                   help="one allocation of N nodes per scheduler instead of N of one node")
    s.add_argument("--group-by", choices=["resource-requirements", "partition"],
                   default="resource-requirements")
    s.add_argument("--walltime-strategy", choices=["max-job-runtime", "max-partition-time"],
                   default="max-job-runtime")
    s.add_argument("--walltime-multiplier", type=float, default=1.5)
    if for_spec:
        s.add_argument("--no-actions", action="store_true", help="schedulers only")
        s.add_argument("--force", "--overwrite", dest="force", action="store_true",
                       help="replace the spec's own schedulers and schedule_nodes actions")
