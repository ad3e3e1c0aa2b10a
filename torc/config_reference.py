"""The configuration reference (``docs/reference/config.md``), written from
:data:`torc.config_files.KEYS` and :data:`torc.config_files.ENV`, so a key added there is
documented with its effect (``scripts/gen-docs``; ``tests/test_docs.py`` checks the page is
current). Pure: the tables in, Markdown out."""

from __future__ import annotations

from torc.config_files import ENV, KEYS

HEADER = """# Configuration, environment and exit codes

Generated from `torc/config_files.py` (`scripts/gen-docs`; a test checks this page is current).
Torc's configuration files are read as Torc reads them, in layers, each overriding the one
before: `/etc/torc/config.toml`, `~/.config/torc/config.toml`, `./torc.toml`, then `TORC_*`
variables, then flags. Every key of Torc's configuration reference is known; those that have
no effect here say why (`torc config validate` says it too), and an unknown key is an error
naming its file. `torc config init` writes a commented file of these keys; `torc config show`
prints what is in effect and where each value came from.
"""

FOOTER = """## Variables a job sees

A job runs with `TORC_WORKFLOW_ID`, `TORC_JOB_ID` (global, as Torc's), `TORC_JOB_NAME`,
`TORC_RUN_ID`, `TORC_ATTEMPT_ID`, `TORC_WORKER_ID`, `TORC_OUTPUT_DIR` and `TORC_URL` (so
`torc user-data get ...` inside it needs nothing else); a failure handler's recovery script
also gets `TORC_RETURN_CODE`.

## Exit codes

{exit_codes}

A job's own return code is kept as it is; the worker adds a reason where the code alone does not
say: 137 (killed: over its memory, or stopped), 152 (over its runtime), 127 (command not
found), 126 (not executable), -128 (its node or worker was lost).
"""


EXIT_CODES = [
    ("`torc run`, `torc exec`", "0", "every job completed (or was disabled), and no workflow "
     "action failed"),
    ("", "1", "a job did not complete, or an action failed; the summary lists which and why"),
    ("`torc watch`", "0, 1", "as `torc run`"),
    ("", "2", "the workflow was canceled"),
    ("`torc` (any verb)", "1", "an error, on one line on stderr (`error: ...`)"),
    ("", "2", "a flag or value the parser or a check refused"),
    ("`torc-worker`", "0", "its work is done (the workflow completed, it idled out, or it was "
     "stopped)"),
    ("", "1", "it could not start (a wrong token, no such workflow, an output directory "
     "another coordinator owns) or could not account for its jobs"),
    ("`torc-coord serve`", "0", "stopped cleanly (SIGTERM/SIGINT), with a final snapshot"),
    ("", "1", "the write-ahead log failed (a full disk): it stopped answering rather than "
     "acknowledge what it cannot keep"),
    ("", "2", "it could not start (the data directory is another coordinator's or damaged, "
     "or the port is taken)"),
]


def page() -> str:
    """The whole page."""
    out = [HEADER]
    for section, keys in KEYS.items():
        out += [f"## `[{section}]`", "", "| key | type | effect |", "|---|---|---|"]
        for name, key in keys.items():
            if key.note:
                effect = f"no effect here: {key.note}"
            else:
                flag = (key.dest or name).replace("_", "-")
                effect = "; ".join(x for x in (key.help, f"default of `--{flag}`") if x)
                if key.example:
                    effect += f" (e.g. `{key.example}`)"
            out.append(f"| `{name}` | {key.kind.__name__} | {_cell(effect)} |")
        out.append("")
    out += ["## Environment variables", "",
            "Any key may be set as `TORC_SECTION__KEY` (`TORC_CLIENT__RUN__OUTPUT_DIR=out` sets "
            "`[client.run] output_dir`), as Torc reads them. These short forms work too:", "",
            "| variable | sets |", "|---|---|"]
    out += [f"| `{var}` | `[{section}] {key}` |" for var, (section, key) in sorted(ENV.items())]
    out += ["| `TORC_TOKEN` | the token the CLI and workers send (default: `~/.torc/token`) |",
            "| `TORC_TOKEN_FILE` | where the token is kept (default: `~/.torc/token`) |",
            "| `TORC_TLS_CA` | the CA that signed a TLS coordinator's certificate |",
            "| `RUST_LOG` | the log level (a plain level, or the first of a filter), as Torc's "
            "programs read it |",
            "| `TORC_LOG_LEVEL` | `torc-worker`'s log level (`torc run` passes its own on) |", ""]
    rows = ["| program | code | meaning |", "|---|---|---|"]
    rows += [f"| {prog} | {code} | {_cell(text)} |" for prog, code, text in EXIT_CODES]
    return "\n".join(out) + "\n" + FOOTER.replace("{exit_codes}", "\n".join(rows))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
