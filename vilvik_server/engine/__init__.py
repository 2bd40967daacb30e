"""Running jobs: the executor (queue and seats), the zygote client, one job's run."""
