"""Chunks in, (question, passage) training pairs out: the generators (offline and LLM), running them
over a corpus with a cache, budgets and filters, and the train / validation / eval split."""
