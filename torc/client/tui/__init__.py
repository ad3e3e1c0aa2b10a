"""``torc tui``: the terminal interface (Textual)."""
