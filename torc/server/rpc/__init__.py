"""The gRPC service ``torc.v1.Torc``: a core (commit path, durability, permissions) and the
groups of RPCs built on it; conversions to messages; the coordinator's own watchers."""
