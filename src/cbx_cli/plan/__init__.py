"""Plan: a Script → chunks, each with its text as written and as spoken, seed, token budget and pause."""
