"""Static data the seed generator draws from: products, currencies, places and names.

Kept apart from the generator so the shape of the book of business (what is sold,
where, at what price) can be read and changed without reading generation code.
Prices are annual list prices per unit in USD; other currencies are derived with a
fixed rate and rounded the way a price book admin would (whole euros and pounds,
hundreds of yen).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Segment(StrEnum):
    """Customer segments, by size."""

    ENTERPRISE = "Enterprise"
    MID_MARKET = "Mid-Market"
    SMB = "SMB"


class Region(StrEnum):
    """Sales territories."""

    AMER = "AMER"
    EMEA = "EMEA"
    APAC = "APAC"


class Unit(StrEnum):
    """How a product is counted."""

    SEAT = "seat"  # quantity follows the number of users
    ORG = "org"  # one per customer (sometimes two or three)
    PACK = "pack"  # capacity packs, a handful


@dataclass(frozen=True)
class Product:
    """One sellable subscription product."""

    code: str
    name: str
    family: str
    usd_price: float  # annual list price per unit
    unit: Unit
    active: bool = True
    renewable: bool = True  # False: one-time, sold with new business, never renewed


@dataclass(frozen=True)
class SegmentProfile:
    """How a segment's customers look: contract counts, contract value, discounts."""

    share: float  # fraction of accounts
    contracts_weights: tuple[float, ...]  # weights of 1..5 contracts per account
    arr_median_usd: float  # median annual contract value
    arr_sigma: float  # log-normal spread
    discount: tuple[float, float]  # uniform range of the contract's discount
    platform: tuple[str, ...]  # platform editions this segment buys
    contacts: tuple[int, int]  # contacts per account, inclusive range
    employees: tuple[int, int]


@dataclass(frozen=True)
class Place:
    """A billing city, its country and the currency its customers pay in."""

    city: str
    country: str
    currency: str


ACTIVE_CURRENCIES = ("USD", "EUR", "GBP", "JPY")
# The currency the org has never enabled: one dirty account uses it.
ODD_CURRENCY = "CHF"
USD_RATE = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 150.0, "CHF": 0.88}
DECIMALS = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "CHF": 2}
# Price-book rounding step per currency: list prices are round numbers.
LIST_STEP = {"USD": 1.0, "EUR": 1.0, "GBP": 1.0, "JPY": 100.0, "CHF": 1.0}

PRODUCTS: tuple[Product, ...] = (
    Product("PLT-STD", "Platform Standard", "Platform", 300.0, Unit.SEAT),
    Product("PLT-PRO", "Platform Professional", "Platform", 600.0, Unit.SEAT),
    Product("PLT-ENT", "Platform Enterprise", "Platform", 1200.0, Unit.SEAT),
    # Sold until last year; old contracts still carry it, the price book still lists it.
    Product("PLT-CLS", "Platform Classic", "Platform", 420.0, Unit.SEAT, active=False),
    Product("ANL-DSH", "Analytics Dashboards", "Add-on", 180.0, Unit.SEAT),
    Product("ANL-PRD", "Predictive Insights", "Add-on", 9600.0, Unit.ORG),
    Product("INT-API", "API Access Pack", "Add-on", 6000.0, Unit.PACK),
    Product("INT-CON", "Connector Bundle", "Add-on", 3600.0, Unit.ORG),
    Product("SEC-SSO", "Single Sign-On", "Add-on", 60.0, Unit.SEAT),
    Product("SEC-SHD", "Data Shield", "Add-on", 12000.0, Unit.ORG),
    Product("SEC-AUD", "Audit Trail", "Add-on", 4800.0, Unit.ORG),
    Product("STO-100", "Additional Storage 100 GB", "Add-on", 1200.0, Unit.PACK),
    Product("SUP-PRM", "Premier Support", "Support", 90.0, Unit.SEAT),
    Product("SUP-SIG", "Signature Support", "Support", 150.0, Unit.SEAT),
    Product("TRN-LIC", "Learning Hub Licence", "Training", 45.0, Unit.SEAT),
    Product("PS-ONB", "Onboarding Package", "Professional Services", 15000.0, Unit.ORG,
            renewable=False),
)
ADD_ON_CODES = tuple(p.code for p in PRODUCTS if p.family != "Platform" and p.renewable)
ONBOARDING_CODE = "PS-ONB"
# Weights of 1..6 lines on a contract: the mean is about 3.
LINES_WEIGHTS = (0.12, 0.27, 0.30, 0.17, 0.09, 0.05)

SEGMENTS: dict[Segment, SegmentProfile] = {
    Segment.ENTERPRISE: SegmentProfile(
        share=0.15, contracts_weights=(0.10, 0.20, 0.25, 0.25, 0.20),
        arr_median_usd=240_000.0, arr_sigma=0.8, discount=(0.10, 0.35),
        platform=("PLT-ENT", "PLT-ENT", "PLT-PRO", "PLT-CLS"), contacts=(4, 9),
        employees=(2_000, 120_000),
    ),
    Segment.MID_MARKET: SegmentProfile(
        share=0.30, contracts_weights=(0.20, 0.25, 0.25, 0.20, 0.10),
        arr_median_usd=42_000.0, arr_sigma=0.6, discount=(0.05, 0.20),
        platform=("PLT-PRO", "PLT-PRO", "PLT-STD", "PLT-CLS"), contacts=(2, 6),
        employees=(200, 2_000),
    ),
    Segment.SMB: SegmentProfile(
        share=0.55, contracts_weights=(0.40, 0.30, 0.17, 0.09, 0.04),
        arr_median_usd=5_000.0, arr_sigma=0.7, discount=(0.0, 0.10),
        platform=("PLT-STD", "PLT-STD", "PLT-PRO", "PLT-CLS"), contacts=(1, 4),
        employees=(5, 200),
    ),
}

REGION_SHARE = {Region.AMER: 0.50, Region.EMEA: 0.30, Region.APAC: 0.20}
PLACES: dict[Region, tuple[Place, ...]] = {
    Region.AMER: (
        Place("New York", "United States", "USD"), Place("San Francisco", "United States", "USD"),
        Place("Chicago", "United States", "USD"), Place("Austin", "United States", "USD"),
        Place("Boston", "United States", "USD"), Place("Seattle", "United States", "USD"),
        Place("Atlanta", "United States", "USD"), Place("Toronto", "Canada", "USD"),
    ),
    Region.EMEA: (
        Place("Berlin", "Germany", "EUR"), Place("Munich", "Germany", "EUR"),
        Place("Paris", "France", "EUR"), Place("Amsterdam", "Netherlands", "EUR"),
        Place("Madrid", "Spain", "EUR"), Place("Milan", "Italy", "EUR"),
        Place("Dublin", "Ireland", "EUR"), Place("London", "United Kingdom", "GBP"),
        Place("Manchester", "United Kingdom", "GBP"), Place("Edinburgh", "United Kingdom", "GBP"),
    ),
    Region.APAC: (
        Place("Tokyo", "Japan", "JPY"), Place("Osaka", "Japan", "JPY"),
        Place("Nagoya", "Japan", "JPY"), Place("Singapore", "Singapore", "USD"),
        Place("Sydney", "Australia", "USD"), Place("Melbourne", "Australia", "USD"),
    ),
}
LEGAL_SUFFIX = {
    "United States": ("Inc.", "LLC", "Corp."), "Canada": ("Inc.", "Ltd."),
    "Germany": ("GmbH", "AG"), "France": ("SA", "SAS"), "Netherlands": ("B.V.", "N.V."),
    "Spain": ("S.L.", "S.A."), "Italy": ("S.p.A.", "S.r.l."), "Ireland": ("Ltd", "DAC"),
    "United Kingdom": ("Ltd", "plc"), "Japan": ("K.K.", "Co., Ltd."),
    "Singapore": ("Pte. Ltd.",), "Australia": ("Pty Ltd",),
}

INDUSTRIES = (
    "Technology", "Finance", "Banking", "Insurance", "Healthcare", "Manufacturing", "Retail",
    "Education", "Media", "Communications", "Energy", "Transportation", "Utilities",
    "Telecommunications", "Biotechnology", "Consulting",
)

NAME_HEADS = (
    "Acorn", "Alder", "Alpine", "Amber", "Apex", "Arbor", "Argent", "Aspen", "Atlas", "Aurora",
    "Beacon", "Birch", "Blue Harbor", "Boreal", "Brightwater", "Cascade", "Cedar", "Cobalt",
    "Copperfield", "Coral", "Crescent", "Crimson", "Delta", "Driftwood", "Eastgate", "Ember",
    "Evergreen", "Fairview", "Falcon", "Fernhill", "Granite", "Greystone", "Harbor", "Hawthorn",
    "Helios", "Highland", "Horizon", "Ironwood", "Juniper", "Keystone", "Kestrel", "Lakeside",
    "Lantern", "Larkspur", "Maple", "Meridian", "Midland", "Northwind", "Oakridge", "Onyx",
    "Orchid", "Pacific", "Pinecrest", "Polaris", "Quarry", "Redwood", "Ridgeline", "Riverbend",
    "Sable", "Saffron", "Sequoia", "Silverline", "Solstice", "Sterling", "Summit", "Tidewater",
    "Timber", "Trident", "Upland", "Vantage", "Vertex", "Westbrook", "Willow", "Zenith",
)
NAME_CORES = (
    "Analytics", "Foods", "Logistics", "Robotics", "Health", "Capital", "Energy", "Media",
    "Systems", "Pharma", "Motors", "Textiles", "Foundry", "Insurance", "Telecom", "Software",
    "Biotech", "Materials", "Retail", "Aerospace", "Labs", "Networks", "Shipping", "Mining",
    "Devices", "Finance", "Learning", "Hospitality", "Agritech", "Chemicals", "Optics",
    "Semiconductors", "Studios", "Outfitters", "Brewing", "Clinics", "Freight", "Marine",
    "Payments", "Security", "Instruments", "Power", "Water", "Realty", "Consulting",
    "Components", "Apparel", "Publishing", "Mobility", "Diagnostics",
)
NAME_TAILS = (
    "", "Group", "Holdings", "International", "Partners", "Global", "Industries", "Solutions",
    "Technologies", "Worldwide", "Enterprises", "Services", "Works", "Company",
)

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Lucas", "Sophia", "Mateo", "Mia", "Ethan",
    "Amelia", "James", "Hannah", "Jonas", "Lea", "Felix", "Clara", "Louis", "Chloe", "Hugo",
    "Camille", "Luca", "Giulia", "Pablo", "Lucia", "Sean", "Aoife", "Oliver", "Isla", "George",
    "Yuki", "Haruto", "Sakura", "Ren", "Aiko", "Kenji", "Mei", "Wei", "Priya", "Arjun",
    "Chloe", "Jack", "Charlotte", "Daniel", "Grace", "Samuel", "Nora", "Elias", "Maya", "Omar",
    "Fatima", "Anders", "Ingrid", "Mateus", "Beatriz", "Tomasz", "Zofia", "Diego", "Valentina",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Garcia", "Miller", "Davis", "Martinez", "Lopez",
    "Wilson", "Anderson", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White",
    "Harris", "Clark", "Lewis", "Walker", "Young", "King", "Wright", "Scott", "Green", "Baker",
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Dubois", "Moreau", "Laurent",
    "Bernard", "Rossi", "Russo", "Ferrari", "Fernández", "González", "Murphy", "O'Brien",
    "Kelly", "Evans", "Hughes", "Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito",
    "Nakamura", "Kobayashi", "Tan", "Lim", "Ng", "Patel", "Singh", "Chen", "Wang", "Nguyen",
    "Kowalski", "Nowak", "Jansen", "de Vries", "Svensson", "Larsen", "Silva", "Santos",
)
CONTACT_TITLES = (
    "CIO", "CTO", "VP Operations", "VP Finance", "Head of IT", "IT Director", "Procurement Manager",
    "Operations Manager", "Finance Director", "Systems Administrator", "Product Owner",
    "Head of Customer Success", "Chief Digital Officer", "Program Manager",
)
CASE_SUBJECTS = (
    "Login failures after SSO change", "Dashboard export times out", "API rate limit errors",
    "Data sync delayed overnight", "Cannot add new users", "Invoice does not match contract",
    "Report totals incorrect", "Connector authentication expired", "Slow page loads",
    "Request for additional storage", "Audit log missing entries", "Mobile app crashes on launch",
    "Question about renewal pricing", "Outage in production instance", "Feature request: bulk edit",
)
TASK_SUBJECTS_DONE = (
    "Quarterly business review", "Check-in call", "Sent usage report", "Executive sponsor meeting",
    "Onboarding session", "Email follow-up", "Product roadmap briefing", "Health check call",
)
TASK_SUBJECTS_OPEN = (
    "Schedule QBR", "Follow up on support escalation", "Send renewal reminder",
    "Confirm budget for next year", "Introduce new admin to CSM", "Prepare success plan",
)
