-- Why a run ended: num_generations (all ran), stop_criteria (stop_criterion names the one
-- that fired), cancelled, cpu_limit, wall_limit, memory_limit or error. Written with the
-- terminal status; rows ended before this column existed show a reason derived from them.
ALTER TABLE submissions ADD COLUMN stop_reason TEXT;
ALTER TABLE submissions ADD COLUMN stop_criterion TEXT;
