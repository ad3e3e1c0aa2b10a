"""``torc dash``: a live web dashboard over the coordinator (see :mod:`.app`)."""
