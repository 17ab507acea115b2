"""The typed tables the loader hands to the measures, as the case tests build them by hand."""

import polars as pl

ENROLLMENT_SCHEMA = {
    "school_year": pl.Int64,
    "district_id": pl.String,
    "race_ethnicity": pl.String,
    "iep": pl.Boolean,
    "disability": pl.String,
    "environment": pl.String,
    "low_income": pl.Boolean,
    "age": pl.Int64,
    "grade": pl.String,
    "count": pl.Int64,
}
DISCIPLINE_SCHEMA = {
    "school_year": pl.Int64,
    "district_id": pl.String,
    "race_ethnicity": pl.String,
    "iep": pl.Boolean,
    "removal_type": pl.String,
    "days_removed": pl.Float64,
    "removals": pl.Int64,
    "age": pl.Int64,
    "count": pl.Int64,
}
COMPLIANCE_SCHEMA = {
    "school_year": pl.Int64,
    "district_id": pl.String,
    "inappropriate_identification": pl.Boolean,
    "policies_contributed": pl.Boolean,
}
