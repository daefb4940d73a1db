"""The demo company's fixed vocabulary: names, places, products, campaigns, seasonality.

Everything here is invented.  Phone prefixes are mobile ranges that ``phonenumbers`` accepts for
every suffix of the given length; e-mails use the reserved example domains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clientela.demo._columns import FloatArray


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FEMALE_NAMES = _words(
    "Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Freya Willow Emily Ella "
    "Poppy Evie Charlotte Daisy Alice Sienna Elsie Harper Ruby Florence Matilda Evelyn Hannah "
    "Chloe Sofia Aoife Niamh Emma Lea Marie Camille Manon Lena Anna Sara Priya Zara Maya Nora"
)
MALE_NAMES = _words(
    "Noah Oliver George Arthur Muhammad Leo Harry Oscar Archie Henry Theodore Freddie Jack "
    "Charlie Theo Alfie Jacob Thomas Finley Arlo William Lucas Roman Tommy Isaac Teddy Alexander "
    "Luca Edward James Joshua Albie Elijah Max Conor Sean Louis Hugo Jules Lukas Felix Paul Omar"
)
LAST_NAMES = _words(
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson "
    "Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson "
    "Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen "
    "James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook "
    "Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson "
    "Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali "
    "Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell "
    "Byrne Ryan Walsh Dubois Bernard Schmidt Schneider Fischer Weber Meyer Wagner"
)
COMPANY_SUFFIXES = (
    " Ltd",
    " & Co",
    " Holdings Ltd",
    " Trading Ltd",
    " Logistics Ltd",
    " Hospitality Group",
    " Engineering plc",
    " Retail Ltd",
)
STREET_NAMES = (
    "High Street",
    "Station Road",
    "Main Street",
    "Park Road",
    "Church Road",
    "London Road",
    "Victoria Road",
    "Green Lane",
    "Manor Road",
    "Church Lane",
    "Park Avenue",
    "The Avenue",
    "The Crescent",
    "Queens Road",
    "New Road",
    "Mill Lane",
    "Alexandra Road",
)


@dataclass(frozen=True)
class Country:
    code: str
    share: float
    phone_prefixes: tuple[str, ...]
    phone_digits: int
    cities: tuple[tuple[str, str, str], ...]  # city, region, postal-code stem


COUNTRIES = (
    Country(
        "GB",
        0.85,
        ("+4474", "+4475", "+4478", "+4473", "+4471"),
        8,
        (
            ("London", "Greater London", "SW"),
            ("London", "Greater London", "N"),
            ("London", "Greater London", "E"),
            ("Manchester", "North West", "M"),
            ("Birmingham", "West Midlands", "B"),
            ("Leeds", "Yorkshire and the Humber", "LS"),
            ("Glasgow", "Scotland", "G"),
            ("Edinburgh", "Scotland", "EH"),
            ("Bristol", "South West", "BS"),
            ("Liverpool", "North West", "L"),
            ("Cardiff", "Wales", "CF"),
            ("Newcastle upon Tyne", "North East", "NE"),
            ("Nottingham", "East Midlands", "NG"),
            ("Brighton", "South East", "BN"),
            ("Belfast", "Northern Ireland", "BT"),
            ("Cambridge", "East of England", "CB"),
        ),
    ),
    Country(
        "IE",
        0.05,
        ("+35387", "+35386", "+35385"),
        7,
        (("Dublin", "Leinster", "D0"), ("Cork", "Munster", "T1"), ("Galway", "Connacht", "H9")),
    ),
    Country(
        "FR",
        0.05,
        ("+3361", "+3362", "+3364", "+3365", "+3366"),
        7,
        (("Paris", "Ile-de-France", "750"), ("Lyon", "Auvergne-Rhone-Alpes", "690")),
    ),
    Country(
        "DE",
        0.05,
        ("+49160", "+49170", "+49171"),
        7,
        (("Berlin", "Berlin", "101"), ("Hamburg", "Hamburg", "201"), ("Munich", "Bavaria", "803")),
    ),
)

EMAIL_DOMAINS = ("example.com", "example.org", "example.net")

INDUSTRIES = (
    "hospitality",
    "retail",
    "construction",
    "healthcare",
    "education",
    "logistics",
    "professional services",
    "manufacturing",
)
COMPANY_SIZES = ("small", "medium", "large")
ACCOUNT_OWNERS = ("Dana Fox", "Ravi Mehta", "Claire Dupont", "Tom Becker", "Aisling Nolan")


@dataclass(frozen=True)
class Category:
    name: str
    margin_rate: float  # share of the list price kept as margin
    return_rate: float  # share of sale lines returned
    median_price: float


CATEGORIES = (
    Category("fashion", 0.52, 0.14, 35.0),
    Category("footwear", 0.45, 0.10, 60.0),
    Category("home", 0.40, 0.04, 28.0),
    Category("electronics", 0.18, 0.05, 120.0),
    Category("beauty", 0.55, 0.02, 18.0),
    Category("toys", 0.35, 0.03, 22.0),
    Category("garden", 0.38, 0.03, 30.0),
    Category("grocery", 0.22, 0.01, 8.0),
)
PRODUCT_NOUNS = {
    "fashion": ("shirt", "dress", "jacket", "scarf", "jumper", "coat"),
    "footwear": ("trainers", "boots", "sandals", "loafers"),
    "home": ("lamp", "cushion", "rug", "vase", "throw", "mirror"),
    "electronics": ("headphones", "speaker", "charger", "smartwatch", "tablet"),
    "beauty": ("serum", "moisturiser", "shampoo", "perfume"),
    "toys": ("puzzle", "board game", "building set", "plush bear"),
    "garden": ("planter", "hose", "bird feeder", "tool set"),
    "grocery": ("coffee", "tea", "chocolate", "olive oil"),
}
PRODUCT_ADJECTIVES = ("Classic", "Premium", "Essential", "Eco", "Deluxe", "Urban", "Nordic")
PRODUCTS_PER_CATEGORY = 25  # at most 4 nouns x 7 adjectives

SALE_CHANNELS = ("web", "store", "app", "phone")
SALE_CHANNEL_WEIGHTS = (0.55, 0.25, 0.15, 0.05)
B2B_CHANNELS = ("sales_rep", "edi", "web")
B2B_CHANNEL_WEIGHTS = (0.5, 0.3, 0.2)

# Monthly demand relative to an average month: a December peak, a Black-Friday November,
# a January lull and a summer dip.
MONTH_WEIGHTS = (0.75, 0.8, 0.95, 0.95, 1.0, 0.95, 0.85, 0.85, 1.0, 1.05, 1.35, 1.8)
WEEKDAY_WEIGHTS = (0.9, 0.9, 0.95, 1.0, 1.15, 1.2, 0.9)  # Monday first
HOUR_WEIGHTS = (
    *(1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.5, 2.5, 3.5, 4.5, 5),
    *(5.5, 5.5, 5, 5, 5.5, 6, 6.5, 7, 7.5, 6.5, 4.5, 2.5),
)

PROFESSIONS = (
    "teacher",
    "nurse",
    "engineer",
    "software developer",
    "accountant",
    "shop assistant",
    "student",
    "retired",
    "self-employed",
    "manager",
    "driver",
    "doctor",
)
EDUCATION = ("secondary", "vocational", "bachelor", "master", "doctorate")
INCOME_BANDS = ("under 20k", "20k-35k", "35k-50k", "50k-75k", "75k-100k", "over 100k")
HOME_VALUE_BANDS = ("renting", "under 150k", "150k-300k", "300k-500k", "500k-1m", "over 1m")
REVENUE_BANDS = ("under 1m", "1m-10m", "10m-50m", "over 50m")
CREDIT_RATINGS = ("AAA", "AA", "A", "BBB", "BB", "B")
THIRD_PARTY_SOURCE = "acme-data"

CONSENT_CHANNELS = ("email", "sms", "phone", "mail")
CONSENT_OPT_IN = (0.82, 0.45, 0.35, 0.6)
CONSENT_SOURCES = ("signup_form", "checkout", "call_centre")
OPT_OUT_SOURCES = ("unsubscribe_link", "preference_centre", "call_centre")

COMPLAINT_REASONS = (
    "Parcel arrived late",
    "Item arrived damaged",
    "Charged twice for one order",
    "Refund not received",
    "Wrong item delivered",
    "Unhelpful phone support",
)
COMPLAINT_CHANNELS = ("phone", "email", "chat", "store")
INCIDENT_REASONS = (
    "Delivery lost by carrier",
    "Payment declined at checkout",
    "Account locked after password reset",
)

SOCIAL_NETWORKS = ("instagram", "facebook", "x", "tiktok", "linkedin")
SOCIAL_NETWORK_WEIGHTS = (0.35, 0.25, 0.15, 0.15, 0.1)
SOCIAL_KIND_WEIGHTS = {  # schema order: like, share, comment, mention, follow, review
    "like": 0.4,
    "share": 0.1,
    "comment": 0.2,
    "mention": 0.1,
    "follow": 0.12,
    "review": 0.08,
}
POSITIVE_TEXTS = (
    "Love my new order, fast delivery!",
    "Great quality as always",
    "Best customer service I have had",
    "Five stars, would buy again",
)
NEUTRAL_TEXTS = ("Anyone tried the new range?", "Waiting for the sale", "Ordered again today")
NEGATIVE_TEXTS = (
    "Still waiting for my refund",
    "Parcel never arrived, not impressed",
    "Support kept me on hold for an hour",
    "Quality has gone downhill",
)

EVENT_DEVICES = ('{"device": "mobile"}', '{"device": "desktop"}', '{"device": "tablet"}')


def seasonal_day_weights(first_day: int, days: int) -> FloatArray:
    """Relative demand per day (days since 1970) from the month, weekday and a slow growth."""
    day_numbers = np.arange(first_day, first_day + days, dtype=np.int64)
    as_dates = day_numbers.astype("datetime64[D]")
    months = as_dates.astype("datetime64[M]").astype(np.int64) % 12
    weekdays = (day_numbers + 3) % 7  # 1970-01-01 was a Thursday
    growth = np.linspace(0.9, 1.1, days)
    weights: FloatArray = (
        np.asarray(MONTH_WEIGHTS)[months] * np.asarray(WEEKDAY_WEIGHTS)[weekdays] * growth
    ).astype(np.float64)
    return weights


# Subscriptions sold alongside the shop: (product, monthly amount, term in days).
CONTRACT_PRODUCTS = (
    ("home_insurance", 24.0, 365),
    ("device_insurance", 9.0, 365),
    ("mobile_plan", 19.0, 730),
    ("broadband", 35.0, 730),
    ("premium_membership", 7.5, 365),
)
CONTRACT_PRODUCT_WEIGHTS = (0.2, 0.25, 0.2, 0.15, 0.2)
CONTRACT_CHANNELS = ("web", "store", "phone", "partner")
CONTRACT_CHANNEL_WEIGHTS = (0.5, 0.25, 0.15, 0.1)
