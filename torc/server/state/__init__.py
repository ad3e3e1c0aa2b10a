"""The coordinator's state: the store, workflows and their jobs, the typed events that change
them (``Store.apply``), and the pure rules they follow. No I/O."""
