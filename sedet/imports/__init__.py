"""`sedet import`: the files states already have, turned into a sedet bundle (docs/imports.md)."""
