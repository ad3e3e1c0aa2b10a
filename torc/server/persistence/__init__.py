"""What survives the coordinator: the write-ahead log, snapshots and their parts, sealed
files, the data directory's lock; restart (snapshot plus replay)."""
