"""Running a run: the driver (shards, resume, manifest) and one shard's assembly line."""
