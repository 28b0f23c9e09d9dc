"""The house-details schema: every Ames column a client may send, with its type, range and codes.

This is the single declaration of valid input. ``validation.py`` checks whole batches against it
column by column and asks marshmallow for the messages of any row that fails; the API's
``HouseDetails`` schema is tested against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from gradient_boosting_model.fields import (
    WholeNumber,
    area,
    category,
    count,
    dollars,
    dwelling_code,
    grade,
    month,
    rating,
    year,
)
from gradient_boosting_model.shown_values import shown

#: test.csv records one garage built in 2207 (Id 2593), a typo for 2007 in the county's
#: records. It is a real request, so this bound admits it; the model clips it like any year.
GARAGE_LATEST_YEAR = 2210

#: Codes shared by two columns each (first and second condition, finish, exterior).
PROXIMITY_CODES = ("Artery", "Feedr", "Norm", "RRNn", "RRAn", "PosN", "PosA", "RRNe", "RRAe")
BASEMENT_FINISH_CODES = ("GLQ", "ALQ", "BLQ", "Rec", "LwQ", "Unf")
EXTERIOR_CODES = (
    "AsbShng", "AsphShn", "BrkComm", "BrkFace", "CBlock", "CemntBd", "HdBoard", "ImStucc",
    "MetalSd", "Other", "Plywood", "PreCast", "Stone", "Stucco", "VinylSd", "Wd Sdng", "WdShing",
)  # fmt: skip

#: Every house detail, by its Kaggle column name.
HOUSE_FIELDS: dict[str, fields.Field[Any]] = {
    "MSSubClass": dwelling_code(
        "Identifies the type of dwelling involved in the sale",
        choices=(20, 30, 40, 45, 50, 60, 70, 75, 80, 85, 90, 120, 150, 160, 180, 190),
    ),
    "MSZoning": category(
        "Identifies the general zoning classification of the sale",
        choices=("A", "C (all)", "FV", "I", "RH", "RL", "RP", "RM"),
    ),
    "LotFrontage": area("Linear feet of street connected to property", maximum=10_000),
    "LotArea": area("Lot size in square feet", maximum=5_000_000, required=True),
    "Street": category("Type of road access to property", choices=("Grvl", "Pave")),
    "Alley": category(
        "Type of alley access to property",
        choices=("Grvl", "Pave"),
        absent_means_none=True,
    ),
    "LotShape": category("General shape of property", choices=("Reg", "IR1", "IR2", "IR3")),
    "LandContour": category("Flatness of the property", choices=("Lvl", "Bnk", "HLS", "Low")),
    "Utilities": category(
        "Type of utilities available", choices=("AllPub", "NoSewr", "NoSeWa", "ELO")
    ),
    "LotConfig": category(
        "Lot configuration", choices=("Inside", "Corner", "CulDSac", "FR2", "FR3")
    ),
    "LandSlope": category("Slope of property", choices=("Gtl", "Mod", "Sev")),
    "Neighborhood": category(
        "Physical locations within Ames city limits",
        choices=(
            "Blmngtn",
            "Blueste",
            "BrDale",
            "BrkSide",
            "ClearCr",
            "CollgCr",
            "Crawfor",
            "Edwards",
            "Gilbert",
            "IDOTRR",
            "MeadowV",
            "Mitchel",
            "NAmes",
            "NoRidge",
            "NPkVill",
            "NridgHt",
            "NWAmes",
            "OldTown",
            "SWISU",
            "Sawyer",
            "SawyerW",
            "Somerst",
            "StoneBr",
            "Timber",
            "Veenker",
        ),
        required=True,
    ),
    "Condition1": category(
        "Proximity to various conditions",
        choices=PROXIMITY_CODES,
    ),
    "Condition2": category(
        "Proximity to various conditions (if more than one is present)",
        choices=PROXIMITY_CODES,
    ),
    "BldgType": category(
        "Type of dwelling", choices=("1Fam", "2fmCon", "Duplex", "TwnhsE", "Twnhs")
    ),
    "HouseStyle": category(
        "Style of dwelling",
        choices=(
            "1Story",
            "1.5Fin",
            "1.5Unf",
            "2Story",
            "2.5Fin",
            "2.5Unf",
            "SFoyer",
            "SLvl",
        ),
    ),
    "OverallQual": rating("Rates the overall material and finish of the house", required=True),
    "OverallCond": rating("Rates the overall condition of the house", required=True),
    "YearBuilt": year("Original construction date", required=True),
    "YearRemodAdd": year("Remodel date (same as construction date if no remodeling or additions)"),
    "RoofStyle": category(
        "Type of roof", choices=("Flat", "Gable", "Gambrel", "Hip", "Mansard", "Shed")
    ),
    "RoofMatl": category(
        "Roof material",
        choices=(
            "ClyTile",
            "CompShg",
            "Membran",
            "Metal",
            "Roll",
            "Tar&Grv",
            "WdShake",
            "WdShngl",
        ),
    ),
    "Exterior1st": category("Exterior covering on house", choices=EXTERIOR_CODES),
    "Exterior2nd": category(
        "Exterior covering on house (if more than one material)",
        # The county's records spell three materials otherwise in the second column.
        choices=tuple(
            sorted(
                {*EXTERIOR_CODES} - {"BrkComm", "CemntBd", "WdShing"}
                | {"Brk Cmn", "CmentBd", "Wd Shng"}
            )
        ),
    ),
    "MasVnrType": category(
        "Masonry veneer type", choices=("BrkCmn", "BrkFace", "CBlock", "None", "Stone")
    ),
    "MasVnrArea": area("Masonry veneer area in square feet", maximum=100_000),
    "ExterQual": grade("Evaluates the quality of the material on the exterior"),
    "ExterCond": grade("Evaluates the present condition of the material on the exterior"),
    "Foundation": category(
        "Type of foundation",
        choices=("BrkTil", "CBlock", "PConc", "Slab", "Stone", "Wood"),
    ),
    "BsmtQual": grade("Evaluates the height of the basement", absent_means_none=True),
    "BsmtCond": grade("Evaluates the general condition of the basement", absent_means_none=True),
    "BsmtExposure": category(
        "Refers to walkout or garden level walls",
        choices=("Gd", "Av", "Mn", "No"),
        absent_means_none=True,
    ),
    "BsmtFinType1": category(
        "Rating of basement finished area",
        choices=BASEMENT_FINISH_CODES,
        absent_means_none=True,
    ),
    "BsmtFinSF1": area("Type 1 finished square feet", maximum=100_000),
    "BsmtFinType2": category(
        "Rating of basement finished area (if multiple types)",
        choices=BASEMENT_FINISH_CODES,
        absent_means_none=True,
    ),
    "BsmtFinSF2": area("Type 2 finished square feet", maximum=100_000),
    "BsmtUnfSF": area("Unfinished square feet of basement area", maximum=100_000),
    "TotalBsmtSF": area("Total square feet of basement area", maximum=100_000),
    "Heating": category(
        "Type of heating", choices=("Floor", "GasA", "GasW", "Grav", "OthW", "Wall")
    ),
    "HeatingQC": grade("Heating quality and condition"),
    "CentralAir": category("Central air conditioning", choices=("N", "Y")),
    "Electrical": category(
        "Electrical system", choices=("SBrkr", "FuseA", "FuseF", "FuseP", "Mix")
    ),
    "1stFlrSF": area("First Floor square feet", maximum=100_000),
    "2ndFlrSF": area("Second floor square feet", maximum=100_000),
    "LowQualFinSF": area("Low quality finished square feet (all floors)", maximum=100_000),
    "GrLivArea": area(
        "Above grade (ground) living area square feet", maximum=100_000, required=True
    ),
    "BsmtFullBath": count("Basement full bathrooms", maximum=20),
    "BsmtHalfBath": count("Basement half bathrooms", maximum=20),
    "FullBath": count("Full bathrooms above grade", maximum=20),
    "HalfBath": count("Half baths above grade", maximum=20),
    "BedroomAbvGr": count("Bedrooms above grade (does NOT include basement bedrooms)", maximum=20),
    "KitchenAbvGr": count("Kitchens above grade", maximum=20),
    "KitchenQual": grade("Kitchen quality"),
    "TotRmsAbvGrd": count("Total rooms above grade (does not include bathrooms)", maximum=50),
    "Functional": category(
        "Home functionality (Assume typical unless deductions are warranted)",
        choices=("Typ", "Min1", "Min2", "Mod", "Maj1", "Maj2", "Sev", "Sal"),
    ),
    "Fireplaces": count("Number of fireplaces", maximum=20),
    "FireplaceQu": grade("Fireplace quality", absent_means_none=True),
    "GarageType": category(
        "Garage location",
        choices=("2Types", "Attchd", "Basment", "BuiltIn", "CarPort", "Detchd"),
        absent_means_none=True,
    ),
    "GarageYrBlt": year("Year garage was built", maximum=GARAGE_LATEST_YEAR),
    "GarageFinish": category(
        "Interior finish of the garage",
        choices=("Fin", "RFn", "Unf"),
        absent_means_none=True,
    ),
    "GarageCars": count("Size of garage in car capacity", maximum=20),
    "GarageArea": area("Size of garage in square feet", maximum=100_000),
    "GarageQual": grade("Garage quality", absent_means_none=True),
    "GarageCond": grade("Garage condition", absent_means_none=True),
    "PavedDrive": category("Paved driveway", choices=("Y", "P", "N")),
    "WoodDeckSF": area("Wood deck area in square feet", maximum=100_000),
    "OpenPorchSF": area("Open porch area in square feet", maximum=100_000),
    "EnclosedPorch": area("Enclosed porch area in square feet", maximum=100_000),
    "3SsnPorch": area("Three season porch area in square feet", maximum=100_000),
    "ScreenPorch": area("Screen porch area in square feet", maximum=100_000),
    "PoolArea": area("Pool area in square feet", maximum=100_000),
    "PoolQC": grade("Pool quality", absent_means_none=True),
    "Fence": category(
        "Fence quality",
        choices=("GdPrv", "MnPrv", "GdWo", "MnWw"),
        absent_means_none=True,
    ),
    "MiscFeature": category(
        "Miscellaneous feature not covered in other categories",
        choices=("Elev", "Gar2", "Othr", "Shed", "TenC"),
        absent_means_none=True,
    ),
    "MiscVal": dollars("Value of miscellaneous feature", maximum=1_000_000),
    "MoSold": month("Month Sold (MM)"),
    "YrSold": year(
        "Year Sold (YYYY). Prices are what Ames paid in the years of the sales the model learned "
        "from, with no change in the market since applied: a year after them is warned about",
        required=True,
    ),
    "SaleType": category(
        "Type of sale",
        choices=(
            "WD",
            "CWD",
            "VWD",
            "New",
            "COD",
            "Con",
            "ConLw",
            "ConLI",
            "ConLD",
            "Oth",
        ),
    ),
    "SaleCondition": category(
        "Condition of sale",
        choices=(
            "Normal",
            "Abnorml",
            "AdjLand",
            "Alloca",
            "Family",
            "Partial",
        ),
    ),
}

#: Accepted beside the house details and ignored by the model (test.csv carries it).
ID_FIELD = "Id"
#: The largest whole number every JSON reader holds exactly (2^53 - 1, JavaScript's
#: ``Number.MAX_SAFE_INTEGER``; a double's): a larger id would be kept, and given back, as
#: another number (2^64 + 1 is read as 18446744073709551616.0).
LARGEST_ID = 2**53 - 1
ID_SCHEMA_FIELD = WholeNumber(
    allow_none=True,
    validate=validate.Range(min=-LARGEST_ID, max=LARGEST_ID),
    metadata={
        "description": (
            "Your own row id, a whole number (as the Ames files number rows): accepted and ignored"
        )
    },
)

#: The small set of details a prediction cannot do without: every Ames sale record has them.
REQUIRED_FIELDS = tuple(name for name, field in HOUSE_FIELDS.items() if field.required)
#: Every field a house may carry: its details and its id.
KNOWN_FIELDS = frozenset(HOUSE_FIELDS) | {ID_FIELD}


@dataclass(frozen=True)
class HouseRule:
    """A rule between two details of one house: ``field <= at_most + slack`` when both are known.

    ``holds`` takes scalars or whole columns, so the same rule checks one row in the schema and
    a batch in ``validation``. The slack admits what the Ames records themselves contain (a house
    sold the year before it was finished). ``wording`` says what breaking it is, after the
    field's value: ``is more than a year after the sale``.
    """

    field: str
    at_most: str
    slack: float
    wording: str

    def holds(self, value: Any, bound: Any) -> Any:
        """True where the rule holds or either value is unknown (None or NaN)."""
        if value is None or bound is None:
            return True
        return ~rules_broken(value, bound, self.slack)

    def breach(self, value: Any, bound: Any) -> str:
        """What a house whose ``field`` is ``value`` and ``at_most`` is ``bound`` breaks, both
        values given, so that a client sees which two numbers disagree: ``2010 is more than a
        year after the sale (YrSold 2008)``. A refusal says it (``refusal``), and so does the
        warning of a rule only warned of (``record_rules``), after the field's name."""
        return f"{shown(value)} {self.wording} ({self.at_most} {shown(bound)})"

    def refusal(self, value: Any, bound: Any) -> str:
        """Why a house breaking the rule is refused: its ``breach``, as a message ends."""
        return f"{self.breach(value, bound)}."


def rules_broken(values: Any, bounds: Any, slacks: Any) -> Any:
    """Where a value exceeds its bound plus the slack: a rule's test, for one value and bound, or
    for several rules at once, as (houses x rules) values and bounds with a slack per rule.
    False where either is NaN (a comparison with NaN is false, and numpy warns of none)."""
    return np.asarray(values, dtype=np.float64) > np.asarray(bounds, dtype=np.float64) + slacks


@dataclass(frozen=True)
class AreaSum:
    """An area that is the sum of its ``parts`` in every Ames record, as a message names it."""

    whole: str
    noun: str
    parts: tuple[str, ...]


#: The areas made of parts. A part larger than its whole is refused (``HOUSE_RULES``); parts
#: that do not add up to it are warned of (``record_rules``), the price taken as the record
#: reads (each size is a feature of its own).
AREA_SUMS = (
    AreaSum("GrLivArea", "living area", ("1stFlrSF", "2ndFlrSF", "LowQualFinSF")),
    AreaSum("TotalBsmtSF", "basement", ("BsmtFinSF1", "BsmtFinSF2", "BsmtUnfSF")),
)

#: A house may be sold the year before it is finished (a Partial sale), and no more: the slack
#: of a year after the sale that a year of building or remodelling is given.
SOLD_BEFORE_FINISHED = 1

#: House-level rules, beyond each field's own type and range: a house breaking one is refused.
HOUSE_RULES = (
    HouseRule("YearBuilt", "YrSold", SOLD_BEFORE_FINISHED, "is more than a year after the sale"),
    HouseRule("YearBuilt", "YearRemodAdd", 1, "is more than a year after the remodel"),
    *(
        HouseRule(part, area.whole, 0, f"is larger than the {area.noun} that includes it")
        for area in AREA_SUMS
        for part in area.parts
    ),
)

#: Rules every training record keeps that a client's record is warned of breaking, not refused
#: for: test.csv gives a garage built in 2207 (2007 meant, most likely) and a remodel two
#: years after its sale; such a house is priced as its record reads (``record_rules``).
YEARS_AFTER_SALE_WARNED = tuple(
    HouseRule(field, "YrSold", SOLD_BEFORE_FINISHED, "is more than a year after the sale")
    for field in ("YearRemodAdd", "GarageYrBlt")
)

#: Ames's ``TotRmsAbvGrd`` counts every room above grade but bathrooms, bedrooms among them:
#: no training or test.csv record gives more bedrooms than rooms (even bedrooms and kitchens
#: together never outnumber them; bedrooms as many as the rooms, once in each). A record that
#: does is warned of, not refused (``record_rules``): one of the two counts is wrong, which one
#: cannot be told, and each is a feature of its own.
BEDROOMS_WITHIN_ROOMS = HouseRule(
    "BedroomAbvGr", "TotRmsAbvGrd", 0, "is more than the rooms above grade"
)

#: Every rule of ``HouseRule``'s form a record is warned of breaking (``record_rules``).
HOUSE_RULES_WARNED = (*YEARS_AFTER_SALE_WARNED, BEDROOMS_WITHIN_ROOMS)


#: Features a house may have none of, by the number that says how much of it a house has, and
#: their details: a quality or kind of the feature left out of a house whose size is given as
#: 0 is "none", as a null is, and an area or count of it not given (null or left out) is 0;
#: beside a size that is not 0, or no size, such a detail is unknown, and taken as typical
#: (``missing.OMITTED``). In the Ames records a size of 0 goes with a null quality and parts
#: of 0: a record sent with its nulls dropped is priced as it is with them, and a house said to
#: have no garage is not given a typical garage's 480 sq ft.
NONE_WHEN_ZERO: dict[str, tuple[str, ...]] = {
    "TotalBsmtSF": (
        *("BsmtQual", "BsmtCond", "BsmtExposure", "BsmtFinType1", "BsmtFinType2"),
        *("BsmtFinSF1", "BsmtFinSF2", "BsmtUnfSF", "BsmtFullBath", "BsmtHalfBath"),
    ),
    "Fireplaces": ("FireplaceQu",),
    "GarageCars": ("GarageType", "GarageFinish", "GarageQual", "GarageCond", "GarageArea"),
    "PoolArea": ("PoolQC",),
}


#: The other way round: a feature's kind given as null says the house has none (Ames records
#: a house without a basement, a fireplace, a garage or a pool so), and its size not given
#: (null or left out) is then 0, from which ``NONE_WHEN_ZERO`` settles its other details (a
#: house sent with ``BsmtQual: null`` and no basement size was priced with a typical basement:
#: the package README measures it; test.csv's Id 2121 records its missing basement with every
#: basement field null, read as none since 0.3.1). A kind left out says nothing; a size given
#: is kept, even beside a null kind (a few Ames records have both), and a size not given is
#: left unknown where another detail says the feature is there (a grade, an area above 0). A
#: record that says both is warned of (``contradictions``).
ZERO_WHEN_NONE: dict[str, str] = {
    "TotalBsmtSF": "BsmtQual",
    "Fireplaces": "FireplaceQu",
    "GarageCars": "GarageType",
    "PoolArea": "PoolQC",
}


#: Fields that say a feature is there when given, though they are no detail of it that a size
#: of 0 makes none: a garage's year of building (Ames records it as null for a house without a
#: garage, and no training house has one beside no garage). A record giving one beside the
#: feature said to be none is warned of (``contradictions``); unlike a detail, it does not keep
#: a size not given unknown beside a null kind (``ZERO_WHEN_NONE``): a year alone is too
#: little to price a typical garage, about 10% more than none.
THERE_WHEN_GIVEN: dict[str, tuple[str, ...]] = {"GarageCars": ("GarageYrBlt",)}

#: Details of a feature (``NONE_WHEN_ZERO``) that measure it as its size does: given as 0,
#: such a detail says the house has none, as a size of 0 or a null kind does. Every Ames
#: record with ``GarageArea`` 0 has ``GarageCars`` 0 (and every training one with cars an
#: area of at least 120 sq ft a car), so ``GarageArea 0`` beside ``GarageCars 2`` says both
#: and is warned of (``contradictions``). A 0 here only says none: it settles no other detail
#: (a size not given stays unknown), so a record is priced as it was before it was checked.
ZERO_SAYS_NONE: dict[str, tuple[str, ...]] = {"GarageCars": ("GarageArea",)}

#: Each feature a house may have none of, by its size, as a warning names it.
FEATURE_NOUNS: dict[str, str] = {
    "TotalBsmtSF": "basement",
    "Fireplaces": "fireplace",
    "GarageCars": "garage",
    "PoolArea": "pool",
}


#: Features most houses lack, with no size to tell: left out, none, as null. Most training
#: houses have none of each (no alley 94%, no fence 80%, no shed or other feature 96%), so
#: the typical value is none anyway, and a record sent without its nulls is, as with them, a
#: house like those the price ranges were calibrated on (``ConformalIntervals``).
NONE_WHEN_LEFT_OUT = ("Alley", "Fence", "MiscFeature")


def _check_sizes() -> None:
    for name in NONE_WHEN_LEFT_OUT:
        if not HOUSE_FIELDS[name].metadata["absent_means_none"]:  # pragma: no cover - a typo
            raise TypeError(f"{name} has no 'none' for a field left out to mean")
    for size, kind in ZERO_WHEN_NONE.items():
        if kind not in NONE_WHEN_ZERO.get(size, ()):  # pragma: no cover - a typo
            raise TypeError(f"{kind} is not a detail of the feature {size} sizes")
        if size not in FEATURE_NOUNS:  # pragma: no cover - a typo
            raise TypeError(f"the feature {size} sizes has no name to be warned of by")
    for size, evidence in THERE_WHEN_GIVEN.items():
        for name in evidence:
            if size not in ZERO_WHEN_NONE or name in NONE_WHEN_ZERO[size]:  # pragma: no cover
                raise TypeError(f"{name} cannot say that the feature {size} sizes is there")
            if HOUSE_FIELDS[name].metadata["kind"] != "number":  # pragma: no cover - a typo
                raise TypeError(f"{name} is no number")
    for size, measures in ZERO_SAYS_NONE.items():
        for name in measures:
            if size not in ZERO_WHEN_NONE or name not in NONE_WHEN_ZERO[size]:  # pragma: no cover
                raise TypeError(f"{name} is not a detail of the feature {size} sizes")
            if HOUSE_FIELDS[name].metadata["kind"] != "number":  # pragma: no cover - a typo
                raise TypeError(f"{name} is no number to say none by its 0")
    for size, features in NONE_WHEN_ZERO.items():
        if HOUSE_FIELDS[size].metadata["kind"] != "number":  # pragma: no cover - a typo
            raise TypeError(f"{size} is no number to tell a feature's size")
        for name in features:
            metadata = HOUSE_FIELDS[name].metadata
            if (
                metadata["kind"] != "number" and not metadata["absent_means_none"]
            ):  # pragma: no cover
                raise TypeError(f"{name} has no 'none' for a size of 0 to mean")


_check_sizes()


class HouseDetailsSchema(
    Schema.from_dict(  # type: ignore[misc]
        {
            **HOUSE_FIELDS,
            ID_FIELD: ID_SCHEMA_FIELD,
        },
        name="HouseDetailsFields",
    )
):
    """One house's details: each field's type, range and codes, then the house-level rules."""

    # Checked beside the fields' errors too (marshmallow skips a schema's checks when a field
    # has one): a house refused for a field should name every rule it breaks, so that fixing
    # what a refusal names does not end in another. ``data`` holds the valid fields only: a
    # rule on a field in error is unknown, as on a missing one.
    @validates_schema(skip_on_field_errors=False)
    def check_house_rules(self, data: dict[str, Any], **kwargs: Any) -> None:
        broken: dict[str, list[str]] = {}
        for rule in HOUSE_RULES:
            value, bound = data.get(rule.field), data.get(rule.at_most)
            if not rule.holds(value, bound):
                broken.setdefault(rule.field, []).append(rule.refusal(value, bound))
        if broken:
            raise ValidationError(broken)
