"""sedet: IDEA Part B LEA determinations from a state's district exports."""

__version__ = "0.1.0"
