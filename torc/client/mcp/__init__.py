"""``torc mcp`` (and ``torc-mcp-server``): Torc's MCP server, its 16 tools by their names and
parameters, over stdio or streamable HTTP on loopback. ``cli_calls`` runs the CLI's own verbs
in-process for their JSON; ``tools`` holds each tool; ``server`` registers and serves them;
``agent`` invokes an assistant for ``recover/watch --ai-recovery``."""
