"""The files sedet writes: they lay out a finished run (sedet.model.RunResult) and compute nothing."""
