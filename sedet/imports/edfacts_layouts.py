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
- S_TC18X: CEDS Generate, generate.database/TestCases/App.FS18x_TestCase.StoredProcedure.sql (FS185,
  FS188 and FS189: tables <base>LG and <base>HS, one participation-status rule for the three).
- S_TT: CEDS Generate's App.TableTypes (CWDTOTDISREM, EdFactsTableTypeId 165, 'Children with
  Disabilities (IDEA) Total Disciplinary Removals Table'); S_TC143: its FS143 test case.
- S_ROLL: CEDS Generate, generate.database/VersionUpdates/11.4/App.Rollover-Metadata.sql @ ec1593c2
  (SY 2023-24's metadata of FS185 is a copy of SY 2022-23's).
- S_TC17X: CEDS Generate, generate.database/TestCases/App.FS17x_TestCase.StoredProcedure.sql @ 012e9ded (FS175,
  FS178: tables of grades 3-8 and high school, the category sets, proficiency from the performance level, only
  participants counted); S_ZERO: Generate's RDS.Create_ReportData_ZeroCounts (FS175's tables STUDPERFMLG,
  STUDPERFMHS); S_DEBUG: Generate's RDS.Get_ReportDebugData (FS178's table names end in RLALG / RLAHS).

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

    name: str  # the set's name in the specification (CSA, CSB, ..., ST1)
    categories: frozenset[str]
    into: str | None  # "enrollment.disability", "enrollment.environment", "membership", "discipline",
    # "discipline.removals", "assessments.iep", "assessments.all", "achievement.iep", "achievement.all";
    # None: read only to check the file's subtotals against
    total: bool = False  # a subtotal (Total Indicator Y) kept as data
    whole: bool = True  # its records count every child once (False: one group only, e.g. FS185 set C,
    # children with disabilities): subtotals are checked against a whole set only


@dataclass(frozen=True)
class FileSpec:
    code: str  # FS002
    title: str
    table: str  # TableTypeAbbrv of its records (the first, where the file has two tables)
    record_length: int  # characters of a record without the line end
    years: tuple[int, ...]  # the school years (spring) whose layout is sourced
    fields: tuple[Field, ...]
    takes: tuple[Take, ...]
    source: str
    more_tables: tuple[str, ...] = ()  # a file of two tables (FS185: grades 3-8 and high school)
    subject: str | None = None  # an assessment file's subject (sedet's code)
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    @property
    def tables(self) -> tuple[str, ...]:
        return (self.table, *self.more_tables)

    @property
    def categories(self) -> dict[str, Field]:
        return {f.category: f for f in self.fields if f.category is not None}


@dataclass(frozen=True)
class Category:
    name: str  # as the specification calls it
    codes: dict[str, str | float] | None  # permitted code -> sedet's value; None: any code (summed over)
    source: str
    unplaced: str = "MISSING"  # the permitted codes sedet cannot place, as an error message names them


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
    # FS185: grades 3-8 (GRADELVLLG) and high school (GRADELVLHS, whose HS, a high-school test with
    # no grade, sedet cannot place in a grade: docs/imports.md)
    "grade_assessed": Category("Grade Level (assessment)", {f"{g:02d}": float(g) for g in range(3, 13)},
                               "S_CAT23", "MISSING, nor HS: a high-school test without a grade"),
    "disability_status": Category("Disability Status (Only)", {"WDIS": "WDIS"}, "S_CAT23"),
    # what a participation status says: the assessment taken (REG: every regular, advanced, pilot or
    # high-school test on grade-level standards; ALT: the alternate on alternate standards), or that
    # the student did not take one (NPART) or was exempted on medical grounds (MEDEXEMPT)
    "participation": Category("Participation Status", {
        **{c: "REG" for c in ("REGPARTWOACC", "REGPARTWACC", "PADVASMWOACC", "PADVASMWACC", "PIADAPLASMWOACC",
                              "PIADAPLASMWACC", "PHSRGASMIWOACC", "PHSRGASMIWACC", "PHSRGASM2WOACC", "PHSRGASM2WACC",
                              "PHSRGASM3WOACC", "PHSRGASM3WACC", "PLSNRHSASMWOACC", "PLSNRHSASMWACC")},
        "ALTPARTALTACH": "ALT", "NPART": "NPART", "MEDEXEMPT": "MEDEXEMPT"}, "S_CAT23"),
    # FS175/FS178: the assessment taken, as FS179's lists of SY 2022-23 name it (ASMTADMNSCILG/HS, S_CAT23;
    # the math and reading lists were not found): every regular, advanced, pilot or high-school test on
    # grade-level standards is REG, the alternate on alternate standards ALT
    "assessment_administered": Category("Assessment Administered", {
        **{c: "REG" for c in ("REGASSWOACC", "REGASSWACC", "ADVASMTWOACC", "ADVASMTWACC", "IADAPLASMTWOACC",
                              "IADAPLASMTWACC", "HSREGASMTIWOACC", "HSREGASMTIWACC", "HSREGASMT2WOACC",
                              "HSREGASMT2WACC", "HSREGASMT3WOACC", "HSREGASMT3WACC", "LSNRHSASMTWOACC",
                              "LSNRHSASMTWACC")},
        "ALTASSALTACH": "ALT"}, "S_CAT23"),
    "proficiency": Category("Proficiency Status", {"PROFICIENT": "PROFICIENT", "NOTPROFICIENT": "NOTPROFICIENT"},
                            "S_CAT23"),
    "major_race": Category("Major Racial and Ethnic Groups", None, "S_CAT23"),
    "english_learner_only": Category("English Learner Status (Only)", None, "S_CAT23"),
    "economic": Category("Economically Disadvantaged Status", None, "S_CAT23"),
    "migrant": Category("Migratory Status", None, "S_CAT23"),
    "homeless": Category("Homeless Enrolled Status", None, "S_CAT23"),
    "foster_care": Category("Foster Care Status", None, "S_CAT23"),
    "military": Category("Military Connected Student Status", None, "S_CAT23"),
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


# the first fields of the assessment files' records, the same in FS175, FS178, FS185 and FS188
_ASSESSED = (
    *_LEAD, Field("GradeLevelID", 69, 15, "grade_assessed"), Field("RaceEthnicityID", 84, 15, "major_race"),
    Field("GenderID", 99, 15, "sex"), Field("DisabilityStatusID", 114, 15, "disability_status"),
    Field("LEPStatusID", 129, 15, "english_learner_only"), Field("MigrantStatusID", 144, 15, "migrant"),
    Field("EconDisadvantagedStatusID", 159, 15, "economic"), Field("HomelessServedID", 174, 15, "homeless"),
)


def _participation(code: str, title: str, tables: tuple[str, str], subject: str, source: str) -> FileSpec:
    """FS185 and FS188: one layout (S_CAT23's FileColumns of c185 and c188, SY 2022-23), two tables
    (grades 3-8 and high school), the same category sets (S_CAT23 for c185; S_TC18X for both)."""
    return FileSpec(
        code, title, tables[0], 489, (2023, 2024),
        (*_ASSESSED,
         Field("FosterCareStatusID", 189, 15, "foster_care"),
         Field("MilitaryConnectedStudentStatusID", 204, 15, "military"), *_fillers(4, 219, 3),
         Field("TestingStatusID", 264, 15, "participation"), Field("TotalIndicator", 279, 1),
         Field("Explanation", 280, 200), Field("Amount", 480, 10)),
        (Take("CSA", frozenset({"grade_assessed", "major_race", "participation"}), None),
         Take("CSC", frozenset({"grade_assessed", "disability_status", "participation"}), "assessments.iep",
              whole=False),
         Take("ST1", frozenset({"grade_assessed", "participation"}), "assessments.all", total=True)),
        source, more_tables=tables[1:], subject=subject,
    )


def _achievement(code: str, title: str, tables: tuple[str, str], subject: str, source: str) -> FileSpec:
    """FS175 and FS178: one layout (S_A's LEA block of SY 2021-22; the same positions in S_CAT23's
    FileColumns of c175, SY 2022-23), two tables (grades 3-8 and high school), the category sets of
    S_TC17X. A record counts students who took the test with a valid score, by proficiency."""
    return FileSpec(
        code, title, tables[0], 584, (2023, 2024),
        (*_ASSESSED,
         Field("AssessAdministeredID", 189, 15, "assessment_administered"), Field("Filler2", 204, 15),
         Field("ProficiencyStatusID", 219, 15, "proficiency"), Field("FosterCareStatusID", 234, 15, "foster_care"),
         Field("MilitaryConnectedStudentStatusID", 249, 125, "military"), Field("TotalIndicator", 374, 1),
         Field("Explanation", 375, 200), Field("Amount", 575, 10)),
        (Take("CSA", frozenset({"grade_assessed", "major_race", "assessment_administered", "proficiency"}), None),
         Take("CSC", frozenset({"grade_assessed", "disability_status", "assessment_administered", "proficiency"}),
              "achievement.iep", whole=False),
         Take("ST1", frozenset({"grade_assessed", "assessment_administered", "proficiency"}), "achievement.all",
              total=True)),
        source, more_tables=tables[1:], subject=subject,
    )


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
    FileSpec(
        "FS143", "Children with Disabilities (IDEA) Total Disciplinary Removals", "CWDTOTDISREM", 354, (2021,),
        (*_LEAD, Field("GenderID", 69, 15, "sex"), Field("RaceEthnicityID", 84, 15, "race"),
         Field("LEPStatusID", 99, 15, "english_learner"), Field("DisabilityCategoryID", 114, 15, "disability"),
         Field("Filler3", 129, 15), Field("TotalIndicator", 144, 1), Field("Explanation", 145, 200),
         Field("Amount", 345, 10)),
        (Take("CSB", frozenset({"race"}), "discipline.removals"),
         Take("CSA", frozenset({"disability"}), None)),
        "S_A (SY 2020-21: layout; the amount counts removals, not children, S_TC143); table name S_TT; "
        "category sets S_TC143",
    ),
    _participation("FS185", "Assessment Participation in Mathematics", ("STUPARTMATHLG", "STUPARTMATHHS"), "MATH",
                   "S_CAT23 (SY 2022-23: layout, tables, category sets, codes); S_ROLL (SY 2023-24 = SY 2022-23)"),
    _participation("FS188", "Assessment Participation in Reading/Language Arts", ("STUPARTRLALG", "STUPARTRLAHS"),
                   "ELA", "S_CAT23 (SY 2022-23 layout, the same as FS185's); S_TC18X (tables, category sets and "
                   "participation codes, shared with FS185); S_ROLL (SY 2023-24 = SY 2022-23)"),
    _achievement("FS175", "Academic Achievement in Mathematics", ("STUDPERFMLG", "STUDPERFMHS"), "MATH",
                 "S_A (SY 2021-22 layout), S_CAT23 (SY 2022-23 positions of c175, proficiency codes; assessment "
                 "codes from FS179's lists); S_ZERO (tables); S_TC17X (category sets; SY 2023-24)"),
    _achievement("FS178", "Academic Achievement in Reading/Language Arts", ("STUDPERFRLALG", "STUDPERFRLAHS"), "ELA",
                 "S_A (SY 2021-22 layout, the same as FS175's); S_DEBUG and App.TableTypes' STUDPERFRLA (tables, "
                 "inferred); S_TC17X (category sets, shared with FS175; SY 2023-24)"),
)}

BY_TABLE = {t: s for s in FILES.values() for t in s.tables}


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
