"""Hostile and odd input gets a clear error naming the field or job, and changes nothing: sent
straight to a live coordinator (no client-side validation in the way), then the same through
the CLI where the client validates first."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from tests.conftest import Coordinator, run_cli, wait_for, write_spec
from torc import slurm
from torc.client.stub import raw_stub
from torc.proto import torc_pb2 as pb


def create_raw(c: Coordinator, spec_json: str) -> grpc.RpcError | pb.Workflow:
    try:
        return raw_stub(c.url).CreateWorkflow(pb.CreateWorkflowRequest(spec_json=spec_json),
                                              timeout=120)
    except grpc.RpcError as e:
        return e


def refused(c: Coordinator, spec: dict | str, *needles: str) -> None:
    """The coordinator refuses ``spec`` with INVALID_ARGUMENT naming ``needles``, creates
    nothing, and keeps answering listings."""
    before = len(c.client.list_workflows())
    text = spec if isinstance(spec, str) else json.dumps(spec)
    got = create_raw(c, text)
    assert isinstance(got, grpc.RpcError), f"accepted: {got}"
    assert got.code() == grpc.StatusCode.INVALID_ARGUMENT, (got.code(), got.details())
    for needle in needles:
        assert needle in got.details(), got.details()
    assert len(c.client.list_workflows()) == before


def jobs(*entries: dict) -> dict:
    return {"name": "w", "jobs": list(entries)}


def test_catastrophic_regex_is_matched_in_linear_time(coordinator: Coordinator) -> None:
    # With a backtracking engine, (a+)+b against 45 a's takes 2^45 steps: the call would
    # never be answered (the old coordinator froze for a minute at 30 characters).
    spec = jobs({"name": "a" * 45, "command": "true"},
                {"name": "b", "command": "true", "depends_on_regexes": ["(a+)+b"]})
    refused(coordinator, spec, "jobs['b']", "(a+)+b", "matches no job")
    ok = jobs({"name": "a" * 45, "command": "true"},
              {"name": "b", "command": "true", "depends_on_regexes": ["(a+)+"]})
    assert not isinstance(create_raw(coordinator, json.dumps(ok)), grpc.RpcError)


def test_regex_outside_the_rust_syntax_is_refused_naming_it(coordinator: Coordinator) -> None:
    spec = jobs({"name": "a", "command": "true"},
                {"name": "b", "command": "true", "depends_on_regexes": ["(?=a)a"]})
    refused(coordinator, spec, "jobs['b']", "invalid regex '(?=a)a'")


def test_format_widths_are_bounded(coordinator: Coordinator) -> None:
    spec = jobs({"name": "x{i}", "command": "echo {i:>1000000000}",
                 "parameters": {"i": "1:3"}})
    refused(coordinator, spec, "jobs[0]", "{i:>1000000000}", "width")


def test_expansion_is_bounded_for_the_whole_spec(coordinator: Coordinator) -> None:
    # Each entry alone stays under the 10 million cap; together they do not.
    spec = jobs({"name": "a{i}", "command": "true", "parameters": {"i": "1:6000000"}},
                {"name": "b{i}", "command": "true", "parameters": {"i": "1:6000000"}})
    refused(coordinator, spec, "jobs[1]", "10,000,000")


def test_a_small_spec_cannot_expand_to_gigabytes(coordinator: Coordinator) -> None:
    # 150 bytes that would expand to 2 GB of commands (the old coordinator acknowledged a
    # record it could not read back, and never started again).
    spec = jobs({"name": "x{i}", "command": "{i:>999}", "parameters": {"i": "1:2000000"}})
    refused(coordinator, spec, "jobs[0]", "MiB of text")
    coordinator.restart(kill=True)  # and it still starts
    assert coordinator.client.list_workflows() == []


def test_parameter_values_that_cannot_be_formatted(coordinator: Coordinator) -> None:
    spec = jobs({"name": "x{i:d}", "command": "true", "parameters": {"i": [{"a": 1}]}})
    refused(coordinator, spec, "jobs[0]", "{i:d}")


@pytest.mark.parametrize("name", ["bad\udcff", "a\x00b", "line\nbreak"])
def test_names_must_be_text_without_control_characters(coordinator: Coordinator,
                                                       name: str) -> None:
    # json.dumps writes the lone surrogate as the escape a hostile client would send.
    refused(coordinator, jobs({"name": name, "command": "true"}), "jobs[0]", "name")
    refused(coordinator, {"name": name, "jobs": [{"name": "a", "command": "true"}]}, "name")
    assert isinstance(coordinator.client.list_workflows(), list)


def test_a_nul_in_a_command_is_refused_naming_the_job(coordinator: Coordinator) -> None:
    refused(coordinator, jobs({"name": "a", "command": "echo a\x00b"}), "jobs['a']", "NUL")


def test_huge_numbers_are_field_errors(coordinator: Coordinator) -> None:
    refused(coordinator, '{"name": "w", "jobs": [{"name": "a", "command": "true", '
            '"priority": ' + "9" * 5000 + "}]}", "spec is not valid")
    refused(coordinator, jobs({"name": "a", "command": "true", "priority": 2**80}),
            "jobs['a']", "priority")
    # The listings still work for everyone.
    assert coordinator.client.list_workflows() == []


def test_a_scheduler_value_with_a_newline_is_refused(coordinator: Coordinator) -> None:
    spec = {"name": "w", "jobs": [{"name": "a", "command": "true"}],
            "slurm_schedulers": [{"name": "s", "account": "acct\ntouch /tmp/pwned",
                                  "walltime": "00:10:00"}]}
    refused(coordinator, spec, "slurm_schedulers['s'].account", "one line")
    spec["slurm_schedulers"] = [{"name": "s", "account": "a", "walltime": "00:10:00"}]
    spec["slurm_defaults"] = {"qos": "high\n#SBATCH --requeue"}
    refused(coordinator, spec, "slurm_defaults.qos")


def test_batch_scripts_refuse_injection_and_quote_paths(tmp_path: Path) -> None:
    with pytest.raises(slurm.SlurmError, match="account"):
        slurm.batch_script(1, {"name": "s", "account": "a\nrm -rf ~"}, "h:1", tmp_path,
                           "python3", False)
    out = tmp_path / "with space"
    script = slurm.batch_script(1, {"name": "s"}, "h:1", out, "python3", False)
    assert f'#SBATCH --output="{out}/slurm_output_wf1_sl%j.o"' in script.splitlines()


def test_rich_markup_in_names_is_printed_as_text(coordinator: Coordinator,
                                                 tmp_path: Path) -> None:
    spec = write_spec(tmp_path, {"name": "w[/b]", "jobs": [
        {"name": "boom[/x]", "command": "exit 3"}]})
    wf_id = json.loads(run_cli("-f", "json", "workflows", "create", str(spec),
                               url=coordinator.url, check=True).stdout)["id"]
    r = run_cli("jobs", "list", str(wf_id), url=coordinator.url, check=True)
    assert "boom[/x]" in r.stdout
    r = run_cli("workflows", "list", url=coordinator.url, check=True)
    assert "w[/b]" in r.stdout
    coordinator.client.initialize(wf_id)
    monitor = subprocess.Popen([sys.executable, "-m", "torc.client.cli", "--url",
                                coordinator.url, "events", "monitor", str(wf_id), "--history"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert monitor.stdout is not None
        lines: list[str] = []
        wait_for(lambda: lines.append(monitor.stdout.readline()) or "w[/b]" in "".join(lines)
                 or monitor.poll() is not None)
        assert monitor.poll() is None, monitor.stderr.read() if monitor.stderr else ""
    finally:
        monitor.kill()
        monitor.wait()


def test_cli_reports_huge_integers_in_yaml_as_a_spec_error(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("name: w\njobs:\n  - name: a\n    command: 'true'\n    priority: "
                    + "9" * 5000 + "\n")
    r = run_cli("workflows", "create", str(spec), url="127.0.0.1:1")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "s.yaml" in r.stderr, r.stderr
