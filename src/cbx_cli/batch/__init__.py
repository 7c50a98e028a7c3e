"""Many scripts in one run: `cbx batch`. The scripts are planned on the driver, the takes missing from the take
cache are rendered by workers (one in-process, or Ray actors on a cluster), stored in the cache on the driver, and
each script is then narrated from the cache exactly as `cbx book` narrates it, so the files are the same bytes.

- `scripts`: SCRIPTS arguments (files, folders, globs) → script files and their outputs.
- `worker`: what a worker does: load the model once, describe it, render batches of takes.
- `pools`: where workers run: `LocalPool` (this process) and `RayPool` (one actor per GPU or per N cores).
- `driver`: the run: plan, look up, hand out batches, store, assemble, summarize.
"""
