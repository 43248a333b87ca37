"""What several stages share: progress reports, hashing, text heuristics, atomic files, plots, types."""
