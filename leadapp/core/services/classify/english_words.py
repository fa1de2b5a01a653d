"""English words for what a request says besides its trade (the names of `model.RequestWords`; `spanish_words` has
Spanish's).

Data: the phrase tables and patterns `signals` reads, nothing else.
"""

from __future__ import annotations

import re

from leadapp.core.services.classify.model import _any, _PhraseTable

_REQUIREMENT_PHRASES: dict[str, tuple[str, ...]] = {
    "licensed": ("licensed", "license", "licence"),
    "insured": ("insured", "insurance"),
    "bonded": ("bonded",),
    "same day": ("same day", "same-day"),
    "weekend": ("weekend", "saturday", "sunday"),
    "evening": ("evening", "after work"),
    "warranty": ("warranty", "warranties", "guarantee", "guaranteed"),
    "free estimate": ("free estimate", "free quote"),
    "background checked": ("background check", "background checked"),
    "references": ("references",),
}

# Equipment and fixtures: canonical name -> ways people write it.
_EQUIPMENT_PHRASES: dict[str, tuple[str, ...]] = {
    "water heater": ("water heater", "hot water heater"),
    "tankless water heater": ("tankless water heater", "tankless"),
    "furnace": ("furnace",),
    "air conditioner": ("air conditioner", "ac", "a/c", "central air", "ac unit"),
    "heat pump": ("heat pump",),
    "thermostat": ("thermostat",),
    "boiler": ("boiler",),
    "mini split": ("mini split", "ductless"),
    "sump pump": ("sump pump",),
    "garbage disposal": ("garbage disposal",),
    "toilet": ("toilet",),
    "faucet": ("faucet",),
    "sink": ("sink",),
    "shower": ("shower",),
    "bathtub": ("bathtub",),
    "sewer line": ("sewer line",),
    "water softener": ("water softener",),
    "electrical panel": ("electrical panel", "breaker panel", "breaker box", "fuse box"),
    "circuit breaker": ("circuit breaker", "breaker"),
    "outlet": ("outlet",),
    "ceiling fan": ("ceiling fan",),
    "ev charger": ("ev charger",),
    "generator": ("generator",),
    "light fixture": ("light fixture", "chandelier"),
    "washer": ("washer", "washing machine"),
    "dryer": ("dryer",),
    "refrigerator": ("refrigerator", "fridge"),
    "freezer": ("freezer",),
    "dishwasher": ("dishwasher",),
    "oven": ("oven",),
    "stove": ("stove", "cooktop"),
    "microwave": ("microwave",),
    "ice maker": ("ice maker",),
    "garage door opener": ("garage door opener", "garage opener"),
    "garage door spring": ("garage door spring", "torsion spring"),
    "gutters": ("gutter",),
    "deck": ("deck",),
    "fence": ("fence",),
    "hot tub": ("hot tub", "jacuzzi"),
    "pool pump": ("pool pump",),
    "pool heater": ("pool heater",),
    "deadbolt": ("deadbolt",),
    "skylight": ("skylight",),
    "sliding door": ("sliding door", "patio door"),
    "chimney": ("chimney",),
}

REQUIREMENTS = _PhraseTable(
    [(phrase, name) for name, phrases in _REQUIREMENT_PHRASES.items() for phrase in phrases]
    + [(phrase, name) for name, phrases in _EQUIPMENT_PHRASES.items() for phrase in phrases]
)
# The canonical equipment names (every language's table maps to these).
EQUIPMENT_NAMES = frozenset(_EQUIPMENT_PHRASES)

MEASUREMENT = re.compile(
    r"(?<![\w.])[0-9]+(?:\.[0-9]+)?\s*-?\s*(?:gallons?|gal|sq\.?\s*ft|sqft|square\s+f(?:ee|oo)t|ft|feet|foot|"
    r"inch(?:es)?|amps?|tons?|btus?|volts?|stor(?:y|ies)|bedrooms?|bathrooms?|rooms?|acres?|linear\s+feet|"
    r"lbs?|pounds|windows|doors|outlets|trees)(?![A-Za-z])"
    r"|(?<![\w.])[0-9]+\s*'?\s*(?:x|by)\s*[0-9]+\s*'?(?![\w])",
    re.IGNORECASE,
)
AGE = re.compile(
    r"(?<![\w.])[0-9]+\s*-?\s*(?:years?|yrs?)\s*-?\s*old|(?:built|installed)\s+in\s+(?:19|20)[0-9]{2}",
    re.IGNORECASE,
)
ROOMS = _any(
    [
        "kitchen",
        "basement",
        "attic",
        "garage",
        "bathroom",
        "bedroom",
        r"crawl\s*space",
        r"laundry\s+room",
        r"living\s+room",
        r"master\s+bath",
        "upstairs",
        "downstairs",
        "backyard",
        r"front\s+yard",
        "hallway",
        r"(?:first|second|third)\s+floor",
    ]
)

AMOUNT = re.compile(
    r"(?<![\w,.$])(?P<dollar>\$\s*)?(?P<num>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?P<dec>\.[0-9]+)?(?![0-9]|,[0-9])"
    r"(?:\s*(?P<k>k|thousand|grand)(?![A-Za-z]))?",
    re.IGNORECASE,
)
DOLLAR_WORDS = re.compile(r"\s*(?:dollars?|bucks|usd)(?![A-Za-z])", re.IGNORECASE)
UNIT_AFTER = re.compile(
    r"\s*-?\s*(?:gallons?|gal|years?|yrs?|yo|ft|feet|foot|sq|square|inch|inches|amps?|tons?|btus?|volts?|"
    r"stor(?:y|ies)|rooms?|bedrooms?|bathrooms?|days?|weeks?|months?|hours?|hrs?|minutes?|mins?|miles?|"
    r"lbs?|pounds|acres?|windows|doors|am|pm|people|times?|x)(?![A-Za-z])|\s*[:%/]",
    re.IGNORECASE,
)
BUDGET_CONTEXT = re.compile(
    r"(?<!\w)(?:budget(?:ed)?|spend|pay|afford|price|cost|costs|quote|offer(?:ing)?|willing)(?!\w)[^.!?\n]*$",
    re.IGNORECASE,
)
ZIP_BEFORE = re.compile(r"zip(?:\s*code)?\s*(?:is\s*)?:?\s*$", re.IGNORECASE)
RANGE_GAP = re.compile(r"^\s*(?:-|–|—|to|and)\s*$", re.IGNORECASE)
MAX_BEFORE = re.compile(
    r"(?:under|below|less\s+than|up\s+to|no\s+more\s+than|max(?:imum)?|at\s+most|not\s+(?:to\s+)?exceed|within)"
    r"\s*:?\s*$",
    re.IGNORECASE,
)
MIN_BEFORE = re.compile(
    r"(?:over|above|more\s+than|at\s+least|min(?:imum)?|starting\s+at|upwards\s+of)\s*:?\s*$", re.IGNORECASE
)

EMERGENCY = _any(
    [
        r"(?<!not an )(?<!not a )(?<!no )emergenc(?:y|ies)",
        r"flood(?:ing|ed|s)?",
        r"gas\s+smell",
        r"smell(?:s|ing)?\s+(?:of\s+|like\s+)?gas",
        r"gas\s+leak",
        r"sparks?",
        r"sparking",
        r"burst(?:ing)?\s+pipes?",
        r"pipes?\s+(?:has\s+|have\s+)?burst",
        r"water\s+everywhere",
        r"smoke",
        r"smoking",
        r"burning\s+smell",
        r"smells?\s+(?:like\s+)?burning",
        r"carbon\s+monoxide",
        r"fire(?!\s*(?:pit|place|wood|alarm))",
    ]
)
NO_HEAT = _any([r"no\s+heat", r"furnace\s+(?:is\s+)?(?:out|dead|not\s+working)", r"heat\s+(?:is\s+)?out"])
COLD = _any([r"freez\w*", r"below\s+zero", r"cold", "frozen"])
HIGH_TIMING = _any(
    [
        "today",
        "tonight",
        "asap",
        r"a\.s\.a\.p\.?",
        r"(?<!not )(?<!non-)urgent(?:ly)?",
        r"right\s+away",
        "immediately",
        r"as\s+soon\s+as\s+possible",
        r"right\s+now",
        r"this\s+(?:morning|afternoon|evening)",
        r"same[\s-]day",
        "tomorrow",
        "quickly",
    ]
)
HIGH_CONDITION = _any(
    [
        r"leak(?:s|ing|ed|y)?",
        r"no\s+hot\s+water",
        r"no\s+(?:running\s+)?water(?!\s+damage)",
        r"no\s+heat",
        r"no\s+(?:ac|a/c|air\s+conditioning|air)",
        r"not\s+(?:cooling|heating)",
        r"no\s+power",
        r"power\s+(?:is\s+)?out",
        r"locked\s+out",
        r"overflow(?:ing|ed)?",
        r"backed\s+up",
        r"won'?t\s+(?:close|open|lock)",
        r"broken\s+window",
    ]
)
LOW = _any(
    [
        r"no\s+rush",
        r"not\s+urgent",
        r"no\s+hurry",
        r"not\s+in\s+a\s+hurry",
        "sometime",
        "whenever",
        r"next\s+(?:month|year|spring|summer|fall|autumn|winter)",
        r"in\s+a\s+few\s+(?:weeks|months)",
        r"(?:schedule|timing|time|dates?)\s+(?:is\s+|are\s+)?flexible",
        r"flexible\s+(?:on\s+)?(?:timing|schedule|dates?)",
        r"i'?m\s+flexible",
        "eventually",
        r"at\s+your\s+convenience",
        r"when(?:ever)?\s+(?:you|it'?s)\s+(?:are\s+)?convenient",
        "planning",
    ]
)

NORMAL_TIMING = _any(
    [
        r"this\s+week",
        r"(?:with)?in\s+(?:a|one|the\s+next)\s+(?:week|few\s+days)",
        r"next\s+(?:week|few\s+days|monday|tuesday|wednesday|thursday|friday|saturday|sunday)",
        r"in\s+a\s+few\s+days",
        r"(?:this|next|the)\s+weekend",
        r"(?:a|one|two|couple\s+of)\s+weeks?",
        r"normal",
    ]
)

FRUSTRATED = re.compile(
    r"!{3,}|"
    + _any(
        [
            "again",
            r"(?:second|third|fourth|2nd|3rd|4th)\s+time",
            r"fed\s+up",
            r"sick\s+(?:and\s+tired|of)",
            "ridiculous",
            "unacceptable",
            r"frustrat\w*",
            "furious",
            r"still\s+(?:not|broken|leaking|no)",
            r"no[\s-]?shows?",
            r"never\s+showed",
        ]
    ).pattern,
    re.IGNORECASE,
)
NEGATIVE = _any(
    [
        "terrible",
        "awful",
        "horrible",
        "worst",
        r"disappoint\w*",
        "unhappy",
        "upset",
        "angry",
        "annoyed",
        "ruined",
        r"scam(?:med)?",
        r"ripped\s+off",
        r"bad\s+experience",
        r"poor\s+(?:job|work|service)",
        "hate",
    ]
)
POSITIVE = _any(
    [
        "thanks",
        "thank",
        r"appreciate\w*",
        "great",
        "excellent",
        "wonderful",
        "love",
        "happy",
        "excited",
        "awesome",
        "amazing",
        "pleased",
    ]
)

CHEAP = re.compile(
    r"(?<![\w-])(?<!feel )(?<!toll )(?:free|cheap|cheapest|cheaper|cheaply)(?![\w-])"
    r"(?!\s+(?:estimates?|quotes?|consultations?|inspections?|of\s+charge\s+estimate))",
    re.IGNORECASE,
)

BUDGET_WORD = "budget"
