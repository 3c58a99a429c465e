"""Files the workflow writes and reads back: atomic writes, damage checks, rule logs."""
