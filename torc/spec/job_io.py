"""A job's files and user data in a spec: ``${files...}`` and ``${user_data...}`` references in
its command, the ``input_files``/``output_user_data``/``*_regexes`` lists, and the dependencies
they imply (a consumer waits for its producers). Pure logic, part of normalize."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from torc.spec.checks import Ctx, compile_regex, line_of, no_match, str_list

_FILE_REF = re.compile(r"\$\{files\.(input|output)\.([^}]+)\}")
_USER_DATA_REF = re.compile(r"\$\{user_data\.(input|output)\.([^}]+)\}")


def job_io(ctx: Ctx, job: dict, where: str, line: int | None, command: str, files: dict,
           user_data: dict) -> tuple[str, list[tuple[str, str]], list[tuple[str, str]]]:
    """A job's command with its ``${files...}`` and ``${user_data...}`` references replaced,
    and its inputs and outputs as (kind, name) pairs, from the references and the lists."""
    inputs = [("file", f) for f in str_list(ctx, job, "input_files", where)]
    outputs = [("file", f) for f in str_list(ctx, job, "output_files", where)]

    def file_ref(m: re.Match[str]) -> str:
        direction, fname = m.group(1), m.group(2)
        if fname not in files:
            raise ctx.fail(where, f"command refers to unknown file {fname!r}", line)
        (inputs if direction == "input" else outputs).append(("file", fname))
        return files[fname]["path"]

    if "${files." in command:
        command = _FILE_REF.sub(file_ref, command)
    command = _user_data_refs(ctx, command, where, line, user_data, inputs, outputs)
    for f in (*inputs, *outputs):
        if f[0] == "file" and f[1] not in files:
            raise ctx.fail(where, f"unknown file {f[1]!r} (not in 'files')", line)
    for key, out in (("input_user_data", inputs), ("output_user_data", outputs)):
        for ud in str_list(ctx, job, key, where):
            if ud not in user_data:
                raise ctx.fail(where, f"{key}: unknown user_data {ud!r}",
                               line_of(job, key) or line)
            out.append(("user_data", ud))
    _regex_refs(ctx, job, where, line, files, user_data, inputs, outputs)
    return command, inputs, outputs


def _user_data_refs(ctx: Ctx, command: str, where: str, line: int | None, user_data: dict,
                    inputs: list, outputs: list) -> str:
    """``${user_data.input.X}`` / ``${user_data.output.X}`` imply the dependency like files
    do. They stay in the command: they become X's id, as in Torc's tutorials (so a job can
    run ``torc user-data get/update <id>``), only when the command is shown or run
    (:func:`render_user_data`), since ids are global and given when the workflow is created."""
    if "${user_data." not in command:
        return command  # the common case, at a million jobs
    for m in _USER_DATA_REF.finditer(command):
        direction, name = m.group(1), m.group(2)
        if name not in user_data:
            raise ctx.fail(where, f"command refers to unknown user_data {name!r}", line)
        (inputs if direction == "input" else outputs).append(("user_data", name))
    return command


def render_user_data(command: str, id_of: Callable[[str], int]) -> str:
    """A command with its ``${user_data...}`` references replaced by the entries' ids."""
    if "${user_data." not in command:
        return command
    return _USER_DATA_REF.sub(lambda m: str(id_of(m.group(2))), command)


_REGEX_REFS = (("input_file_regexes", "file", True), ("output_file_regexes", "file", False),
               ("input_user_data_regexes", "user_data", True),
               ("output_user_data_regexes", "user_data", False))
# Keys that give a job inputs or outputs (besides ``${...}`` references in its command).
IO_KEYS = frozenset(("input_files", "output_files", "input_user_data", "output_user_data",
                      *(key for key, _, _ in _REGEX_REFS)))


def _regex_refs(ctx: Ctx, job: dict, where: str, line: int | None, files: dict,
                user_data: dict, inputs: list, outputs: list) -> None:
    """Torc's ``input_file_regexes`` and kin: every file (user data) whose whole name matches
    is an input (output), exactly as if listed by name."""
    for key, kind, is_input in _REGEX_REFS:
        if key not in job:
            continue
        pool = list(files if kind == "file" else user_data)
        for pattern in str_list(ctx, job, key, where):
            at = line_of(job, key) or line
            rx = compile_regex(ctx, pattern, f"{where}.{key}", at)
            matched = [n for n in pool if rx.fullmatch(n)]
            if not matched:
                raise ctx.fail(where, f"{key}: {no_match(pattern, rx, pool, kind)}", at)
            (inputs if is_input else outputs).extend((kind, n) for n in matched)


def implied_deps(jobs: list[dict[str, Any]], producers: dict[tuple[str, str], list[int]],
                 consumers: Sequence[Sequence[tuple[str, str]]]) -> list[list[int]]:
    """Add the dependencies files and user data imply (a consumer waits for its producers);
    every job's ``deps`` becomes a sorted list, which is returned too."""
    for i, inputs in enumerate(consumers):
        for ref in inputs:
            for producer in producers.get(ref, ()):
                if producer != i:
                    jobs[i]["deps"].add(producer)
    for j in jobs:
        j["deps"] = sorted(j["deps"])
    return [j["deps"] for j in jobs]


def io_refs(entry: dict[str, Any], inputs: Sequence[tuple[str, str]],
            outputs: Sequence[tuple[str, str]], order: dict[str, dict]) -> None:
    """A job's input and output files and user data, as indices in spec order."""
    if not inputs and not outputs:
        return
    for direction, refs in (("input", inputs), ("output", outputs)):
        for kind, key in (("file", f"{direction}_files"), ("user_data", f"{direction}_user_data")):
            ids = sorted({order[kind][n] for k, n in refs if k == kind})
            if ids:
                entry[key] = ids
