"""The EDFacts LEA-level file layouts sedet reads, as data (docs/imports.md; the research behind every
position, code and category set, with its source, is in docs/reference/edfacts-layouts.md and
docs/reference/edfacts-codes.md).

Source keys (full references in those two files):
- S_A: CEDS Generate, generate.web/DatabaseScripts/VersionUpdates/5.0/Metadata/App.FileSubmissions.Metadata.sql
  @ cec9b74e, built from ED's FileRecordLayoutElement table (SY 2020-21, 2021-22).
- S_B: CEDS Generate, generate.database/VersionUpdates/11.0/Metadata/App.FileSubmissions.Metadata.sql @ db9a34b4
  (SY 2021-22, 2022-23 for FS002, FS052, FS089).
- S_CAT23: CEDS Generate, .../V11Upgrade/Metadata-FileSpec-Categories.sql @ 4162e3cc (SY 2022-23 category sets
  and permitted values).
- S_HDR: CEDS Generate, App.FileHeader.Metadata.sql (the header record).
- S_COUNTSQL: CEDS Generate, generate.database/Functions/Create/RDS.Get_CountSQL.UserDefinedFunction.sql @ 22bdcbbc
  (TotalIndicator: 'Y' for a subtotal or the total, 'N' for a category-set record).
- S_TC006, S_TC089: CEDS Generate test cases (category sets of FS006 and FS089).

Positions are 1-based, as in the specifications; a length counts characters. The last character of
a record (CR/LF in the metadata) is the line end and is not a field here.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    name: str  # as in the file specification
    start: int  # 1-based
    length: int
    category: str | None = None  # the category it carries (a key of CATEGORIES), if any

    @property
    def filler(self) -> bool:
        return self.name.startswith("Filler")


@dataclass(frozen=True)
class Take:
    """A category set the import reads (by the categories its records fill) and what it becomes."""

    name: str  # the set's name in the specification (CSA, CSB, ...)
    categories: frozenset[str]
    into: str  # "enrollment.disability", "enrollment.environment", "membership", "discipline"


@dataclass(frozen=True)
class FileSpec:
    code: str  # FS002
    title: str
    table: str  # TableTypeAbbrv of its records
    record_length: int  # characters of a record without the line end
    years: tuple[int, ...]  # the school years (spring) whose layout is sourced
    fields: tuple[Field, ...]
    takes: tuple[Take, ...]
    source: str
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    @property
    def categories(self) -> dict[str, Field]:
        return {f.category: f for f in self.fields if f.category is not None}


@dataclass(frozen=True)
class Category:
    name: str  # as the specification calls it
    codes: dict[str, str | float] | None  # permitted code -> sedet's value; None: any code (summed over)
    source: str


# Every category's permitted values also include MISSING, which sedet cannot place: a record of a
# category the import keeps with MISSING is a problem. Categories summed over take any code.
CATEGORIES: dict[str, Category] = {
    "race": Category("Racial Ethnic", {c: c for c in ("AM7", "AS7", "BL7", "HI7", "MU7", "PI7", "WH7")}, "S_CAT23"),
    "disability": Category("Disability Category (IDEA)", {c: c for c in (
        "AUT", "DB", "DD", "EMN", "HI", "ID", "MD", "OHI", "OI", "SLD", "SLI", "TBI", "VI")}, "S_CAT23"),
    "environment": Category("Educational Environment (IDEA) SA", {
        "RC80": "RC80", "RC79TO40": "RC79TO40", "RC39": "RC39LT", "SS": "SS", "RF": "RF", "HH": "HH", "CF": "CF",
        "PPPS": "PPPS"}, "S_CAT23"),
    "discipline_method": Category("Discipline Method (Suspension/Expulsion)",
                                  {"OUTOFSCHOOL": "OSS", "INSCHOOL": "ISS"}, "S_DISC"),
    # the band becomes a number of days on the right side of the "more than 10 days" split
    # (docs/imports.md): 1-10 days -> 10, more than 10 -> 11
    "removal_length": Category("Removal Length (Suspensions/Expulsions)",
                               {"LTOREQ10": 10.0, "GREATER10": 11.0}, "S_TC006"),
    "sex": Category("Sex (Membership)", None, "S_CAT23"),
    "age": Category("Age (School Age)", None, "S_CAT23"),
    "english_learner": Category("English Learner Status (Both)", None, "S_CAT23"),
    "ec_environment": Category("Educational Environment (IDEA) EC", None, "S_CAT23"),
    "ec_age": Category("Age (Early Childhood)", None, "S_CAT23"),
    "grade": Category("Grade Level", None, "S_CAT23"),
}

MISSING = "MISSING"
TOTAL_INDICATOR = {"N": False, "Y": True}  # is the record a subtotal or total (S_COUNTSQL)

# The header record (S_HDR): the same in every file.
HEADER = (
    Field("FileType", 1, 50),
    Field("TotalRecords", 51, 10),
    Field("FileName", 61, 25),
    Field("FileIdentifier", 86, 32),
    Field("FileReportingPeriod", 118, 9),
)

_LEAD = (  # the first fields of every LEA record
    Field("FileRecordNumber", 1, 10),
    Field("FIPSStateCode", 11, 2),
    Field("StateAgencyNumber", 13, 2),
    Field("StateLEAIDNumber", 15, 14),
    Field("Filler1", 29, 20),
    Field("TableTypeAbbrv", 49, 20),
)


def _fillers(first: int, start: int, n: int) -> tuple[Field, ...]:
    return tuple(Field(f"Filler{first + i}", start + 15 * i, 15) for i in range(n))


FILES: dict[str, FileSpec] = {s.code: s for s in (
    FileSpec(
        "FS002", "Children with Disabilities (IDEA) School Age", "IDEADISAB", 504, (2021, 2022, 2023),
        (*_LEAD, Field("Filler2", 69, 15), Field("RaceEthnicityID", 84, 15, "race"),
         Field("GenderID", 99, 15, "sex"), *_fillers(3, 114, 6), Field("DisabilityCategoryID", 204, 15, "disability"),
         *_fillers(9, 219, 2), Field("AgeID", 249, 15, "age"), Field("EdEnvironmentID", 264, 15, "environment"),
         Field("LEPStatusID", 279, 15, "english_learner"), Field("TotalIndicator", 294, 1),
         Field("Explanation", 295, 200), Field("Amount", 495, 10)),
        (Take("CSA", frozenset({"race", "sex", "disability"}), "enrollment.disability"),
         Take("CSC", frozenset({"race", "environment"}), "enrollment.environment")),
        "S_A (SY 2020-21), S_B (SY 2021-22, 2022-23); category sets S_CAT23",
    ),
    FileSpec(
        "FS089", "Children with Disabilities (IDEA) Early Childhood", "CHWDSBERLCHD", 489, (2021, 2022),
        (*_LEAD, Field("RaceEthnicityID", 69, 15, "race"), Field("GenderID", 84, 15, "sex"),
         Field("AgeID", 99, 15, "ec_age"), Field("LEPStatusID", 114, 15, "english_learner"),
         Field("DisabilityCategoryID", 129, 15, "disability"), *_fillers(12, 144, 5),
         Field("EarlyChildEdEnvironmentID", 219, 60, "ec_environment"), Field("TotalIndicator", 279, 1),
         Field("Explanation", 280, 200), Field("Amount", 480, 10)),
        (Take("CSB", frozenset({"race", "ec_environment", "disability"}), "enrollment.disability"),),
        "S_A (SY 2020-21, 2021-22); category sets S_TC089",
    ),
    FileSpec(
        "FS052", "Membership", "MEMBER", 324, (2021,),
        (*_LEAD, Field("GradeLevelID", 69, 15, "grade"), Field("RaceEthnicityID", 84, 15, "race"),
         Field("GenderID", 99, 15, "sex"), Field("TotalIndicator", 114, 1), Field("Explanation", 115, 200),
         Field("Amount", 315, 10)),
        (Take("CSA", frozenset({"grade", "race", "sex"}), "membership"),),
        "S_A (SY 2020-21); category sets S_CAT23",
    ),
    FileSpec(
        "FS006", "Children with Disabilities (IDEA) Suspensions/Expulsions", "IDEASUSEXPL", 459, (2021,),
        (*_LEAD, Field("RemovalLengthID", 69, 15, "removal_length"), Field("RaceEthnicityID", 84, 15, "race"),
         Field("GenderID", 99, 15, "sex"), *_fillers(5, 114, 6), Field("DisabilityCategoryID", 204, 15, "disability"),
         Field("LEPStatusID", 219, 15, "english_learner"),
         Field("DisciplineMethodID", 234, 15, "discipline_method"), Field("TotalIndicator", 249, 1),
         Field("Explanation", 250, 200), Field("Amount", 450, 10)),
        (Take("CSB", frozenset({"discipline_method", "removal_length", "race"}), "discipline"),),
        "S_A (SY 2020-21; Amount at 450-459 inferred from FS005); category sets S_TC006",
    ),
)}

BY_TABLE = {s.table: s for s in FILES.values()}


def format_record(spec: FileSpec, values: dict[str, str], delimiter: str | None = None) -> str:
    """One record as the file holds it (fixed-width, or delimited with every field in order): the
    inverse of reading it, for tests and synthetic files. `values` by field name; others are blank."""
    if delimiter is not None:
        return delimiter.join(values.get(f.name, "") for f in spec.fields)
    return "".join(values.get(f.name, "")[:f.length].ljust(f.length) for f in spec.fields)


def format_header(records: int, period: str, file_name: str = "", delimiter: str | None = None) -> str:
    """The header record of a file of `records` records for the school year `period` ('2020-2021')."""
    values = {"FileType": "LEA", "TotalRecords": str(records), "FileName": file_name, "FileIdentifier": "sedet",
              "FileReportingPeriod": period}
    if delimiter is not None:
        return delimiter.join(values[f.name] for f in HEADER)
    return "".join(values[f.name].ljust(f.length) for f in HEADER).ljust(584)
