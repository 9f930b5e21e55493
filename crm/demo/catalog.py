"""The demo's fixed vocabulary: who sells, what they sell, and the words customers are made of.

Nothing here is random; ``people.py`` and ``deals.py`` draw from these lists with a seeded
``random.Random`` so the same seed always builds the same company.
"""
from __future__ import annotations

from dataclasses import dataclass

DEMO_DOMAIN = "northwind-demo.com"
# One shared password for every demo login: 18 characters, not in the common-password list,
# and containing no login's local part, so it passes the password policy.
DEMO_PASSWORD = "pump-valve-demo-42"


@dataclass(frozen=True)
class DemoUser:
    key: str
    email: str
    name: str
    role: str
    time_zone: str


ADMIN = DemoUser("admin", f"ada.admin@{DEMO_DOMAIN}", "Ada Lindqvist", "admin", "Europe/Stockholm")
MANAGER = DemoUser("manager", f"max.manager@{DEMO_DOMAIN}", "Max Hoffmann", "manager", "Europe/London")
REPS = (
    DemoUser("europe", f"rita.rep@{DEMO_DOMAIN}", "Rita Berger", "rep", "Europe/Berlin"),
    DemoUser("east", f"ray.rep@{DEMO_DOMAIN}", "Ray Coleman", "rep", "America/New_York"),
    DemoUser("west", f"rosa.rep@{DEMO_DOMAIN}", "Rosa Alvarez", "rep", "America/Los_Angeles"),
)
PLANNER = DemoUser("planner", f"pia.planner@{DEMO_DOMAIN}", "Pia Laurent", "planner", "Europe/Paris")
USERS = (ADMIN, MANAGER, *REPS, PLANNER)

# (name, default win probability) in pipeline order.
STAGES = (
    ("Prospecting", "0.05"),
    ("Qualified", "0.15"),
    ("Discovery", "0.30"),
    ("Proposal", "0.50"),
    ("Negotiation", "0.75"),
)


@dataclass(frozen=True)
class Family:
    code: str
    name: str
    unit: str
    lead_time_days: int
    list_prices: tuple[int, ...]  # EUR per unit, one per model in the range
    base_quantity: float  # typical order for a 100-person plant
    projects: tuple[str, ...]  # what a deal for this family is about


FAMILIES = (
    Family("PUMP", "Centrifugal pumps", "unit", 30, (2450, 3890, 5200, 7800, 9400), 4,
           ("pump retrofit", "booster station", "cooling water pumps", "spare pump framework",
            "transfer pump upgrade")),
    Family("VALVE", "Control valves", "pcs", 14, (180, 340, 620, 1150, 1780), 25,
           ("valve replacement", "shutdown valve package", "valve standardisation",
            "steam valve upgrade")),
    Family("SENSOR", "Process sensors", "pcs", 7, (85, 145, 290, 480, 640), 40,
           ("sensor rollout", "flow metering upgrade", "level monitoring", "condition monitoring pilot")),
    Family("CTRL", "Controllers and drives", "system", 45, (2900, 4800, 7400, 12500, 17800), 2,
           ("control system upgrade", "drive modernisation", "line automation", "energy optimisation")),
)

# Industry, the words its companies use in their names, and which families it buys most.
INDUSTRIES = (
    ("Chemicals", ("Chemicals", "Chemical Works", "Specialty Chemicals"), ("VALVE", "PUMP", "SENSOR")),
    ("Food & Beverage", ("Foods", "Beverages", "Dairy"), ("PUMP", "VALVE", "SENSOR")),
    ("Water & Wastewater", ("Water", "Water Services", "Utilities"), ("PUMP", "SENSOR", "CTRL")),
    ("Oil & Gas", ("Energy", "Petroleum", "Midstream"), ("VALVE", "PUMP", "CTRL")),
    ("Pharmaceuticals", ("Pharma", "Life Sciences", "Biologics"), ("SENSOR", "VALVE", "CTRL")),
    ("Pulp & Paper", ("Paper", "Pulp & Paper", "Packaging"), ("PUMP", "CTRL", "VALVE")),
    ("Mining & Metals", ("Mining", "Metals", "Minerals"), ("PUMP", "CTRL", "SENSOR")),
    ("Power Generation", ("Power", "Energie", "Generation"), ("CTRL", "VALVE", "SENSOR")),
    ("HVAC & Buildings", ("Building Services", "Climate", "Facilities"), ("PUMP", "CTRL", "SENSOR")),
    ("Breweries", ("Brewery", "Brewing", "Brauerei"), ("PUMP", "VALVE", "SENSOR")),
    ("Semiconductors", ("Microsystems", "Semiconductor", "Wafer"), ("SENSOR", "CTRL", "VALVE")),
    ("Marine", ("Marine", "Shipyards", "Offshore"), ("PUMP", "VALVE", "CTRL")),
)


@dataclass(frozen=True)
class Country:
    time_zone: str
    tld: str
    phone_code: str
    legal_forms: tuple[str, ...]
    names: str  # key into FIRST_NAMES / LAST_NAMES
    territory: str  # the key of the rep who covers it
    weight: int  # share of the customer base


COUNTRIES = (
    Country("Europe/Berlin", "de", "+49", ("GmbH", "AG", "GmbH & Co. KG"), "germanic", "europe", 10),
    Country("Europe/Vienna", "at", "+43", ("GmbH", "AG"), "germanic", "europe", 2),
    Country("Europe/Zurich", "ch", "+41", ("AG", "SA"), "germanic", "europe", 2),
    Country("Europe/Amsterdam", "nl", "+31", ("B.V.", "N.V."), "germanic", "europe", 3),
    Country("Europe/Stockholm", "se", "+46", ("AB",), "germanic", "europe", 2),
    Country("Europe/Warsaw", "pl", "+48", ("Sp. z o.o.", "S.A."), "germanic", "europe", 2),
    Country("Europe/Paris", "fr", "+33", ("SA", "SAS"), "romance", "europe", 5),
    Country("Europe/Madrid", "es", "+34", ("S.L.", "S.A."), "romance", "europe", 2),
    Country("Europe/Rome", "it", "+39", ("S.p.A.", "S.r.l."), "romance", "europe", 3),
    Country("Europe/London", "co.uk", "+44", ("Ltd", "plc"), "anglo", "europe", 5),
    Country("America/New_York", "com", "+1", ("Inc.", "LLC", "Corp."), "anglo", "east", 9),
    Country("America/Chicago", "com", "+1", ("Inc.", "LLC", "Co."), "anglo", "east", 6),
    Country("America/Toronto", "ca", "+1", ("Inc.", "Ltd."), "anglo", "east", 2),
    Country("America/Sao_Paulo", "com.br", "+55", ("Ltda.", "S.A."), "romance", "east", 2),
    Country("America/Los_Angeles", "com", "+1", ("Inc.", "LLC", "Corp."), "anglo", "west", 6),
    Country("America/Denver", "com", "+1", ("Inc.", "LLC"), "anglo", "west", 3),
    Country("America/Vancouver", "ca", "+1", ("Inc.", "Ltd."), "anglo", "west", 1),
    Country("Asia/Tokyo", "co.jp", "+81", ("K.K.", "Co., Ltd."), "japanese", "west", 2),
    Country("Asia/Singapore", "com.sg", "+65", ("Pte. Ltd.",), "anglo", "west", 2),
    Country("Australia/Sydney", "com.au", "+61", ("Pty Ltd",), "anglo", "west", 3),
)

# Company words are built from syllables, so they sound like brands but are made up.
NAME_STARTS = (
    "Al", "Bel", "Bor", "Cal", "Cor", "Dal", "Del", "El", "Fal", "Fer", "Gal", "Hal", "Hel",
    "Ing", "Kar", "Kel", "Lan", "Lor", "Mar", "Mer", "Nor", "Or", "Pel", "Quin", "Ral", "Ros",
    "Sal", "Sel", "Tal", "Tor", "Ul", "Val", "Ver", "Wal", "Wes", "Zen", "Ark", "Brin", "Cas",
    "Dra", "Eri", "Gro", "Hav", "Jor", "Kra", "Lum", "Mon", "Nev", "Ost", "Pra", "Ren", "Sto",
)
NAME_MIDDLES = ("a", "e", "i", "o", "ra", "ri", "ve", "li", "no", "der", "ta")
NAME_ENDS = (
    "ton", "dor", "mar", "tek", "ris", "lan", "dale", "ford", "ven", "tis", "gard", "berg",
    "stein", "via", "lux", "tra", "wick", "mont", "nex", "quist", "sen", "ta", "ion", "wood",
    "field", "heim", "stad", "ex", "ico", "ara",
)

FIRST_NAMES = {
    "germanic": ("Anna", "Lukas", "Sophie", "Jonas", "Lena", "Felix", "Marie", "Tobias", "Julia",
                 "Stefan", "Katrin", "Markus", "Sabine", "Thomas", "Eva", "Jan", "Pieter", "Sanne",
                 "Lars", "Ingrid", "Piotr", "Agnieszka", "Erik", "Maja", "Daan", "Fleur", "Henrik",
                 "Karin", "Matthias", "Nina"),
    "romance": ("Camille", "Lucas", "Chloé", "Hugo", "Léa", "Mathieu", "Giulia", "Marco", "Chiara",
                "Luca", "Sofía", "Javier", "Lucía", "Pablo", "Carmen", "Diego", "Beatriz", "Rafael",
                "Isabel", "Thiago", "Ana", "Nicolas", "Elena", "Paolo", "Inès", "Julien", "Marta",
                "Andrés", "Valentina", "Bruno"),
    "anglo": ("James", "Emily", "Michael", "Sarah", "David", "Jessica", "Daniel", "Laura", "Chris",
              "Megan", "Ryan", "Rachel", "Kevin", "Olivia", "Brian", "Hannah", "Jason", "Natalie",
              "Andrew", "Priya", "Wei", "Aisha", "Marcus", "Grace", "Tyler", "Chloe", "Nathan",
              "Sophia", "Liam", "Zoe"),
    "japanese": ("Haruto", "Yui", "Sota", "Aoi", "Ren", "Hina", "Takumi", "Sakura", "Kenji",
                 "Yuki", "Daiki", "Mei", "Riku", "Akari", "Shota", "Naomi"),
}
LAST_NAMES = {
    "germanic": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
                 "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "de Vries",
                 "Jansen", "Bakker", "Andersson", "Johansson", "Nowak", "Kowalski", "Lindberg",
                 "Huber", "Bauer", "Vogel", "Keller", "Brandt", "Krüger", "Hartmann"),
    "romance": ("Martin", "Bernard", "Dubois", "Moreau", "Laurent", "Lefèvre", "Rossi", "Russo",
                "Ferrari", "Esposito", "Bianchi", "Romano", "García", "Fernández", "López",
                "Martínez", "Sánchez", "Pérez", "Silva", "Santos", "Oliveira", "Costa", "Girard",
                "Fontaine", "Conti", "Marino", "Navarro", "Ortega", "Rocha", "Almeida"),
    "anglo": ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
              "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "White", "Harris", "Clark",
              "Lewis", "Walker", "Hall", "Young", "Patel", "Nguyen", "Chen", "Kim", "Wright",
              "Scott", "Green", "Baker", "Adams", "Campbell"),
    "japanese": ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto",
                 "Nakamura", "Kobayashi", "Kato", "Yoshida", "Yamada", "Sasaki", "Matsumoto"),
}

# Titles by buying role; deals tend to involve the senior ones.
SENIOR_TITLES = (
    "Plant Manager", "Operations Director", "Head of Engineering", "VP Operations",
    "Purchasing Director", "Technical Director", "Managing Director", "Head of Maintenance",
)
STAFF_TITLES = (
    "Maintenance Manager", "Process Engineer", "Procurement Manager", "Reliability Engineer",
    "Buyer", "Project Engineer", "Energy Manager", "Automation Engineer", "Instrumentation Technician",
    "Production Supervisor", "Facilities Manager", "Quality Engineer",
)
FREEMAIL = {"germanic": ("gmx.de", "web.de", "t-online.de", "gmail.com", "outlook.com", "wp.pl"),
            "romance": ("orange.fr", "libero.it", "gmail.com", "hotmail.com"),
            "anglo": ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "bigpond.com"),
            "japanese": ("yahoo.co.jp", "gmail.com")}
CONTACT_SOURCES = (("trade show", 20), ("website", 25), ("referral", 10), ("cold outreach", 25),
                   ("webinar", 10), ("partner", 5), ("import", 5))

EMAIL_SUBJECTS = (
    "Following up on our call", "Datasheet you asked for", "Quick question about your line",
    "Case study: energy savings at a similar plant", "Invitation: process technology webinar",
    "Checking in", "Your maintenance shutdown planning", "Meeting notes and next steps",
)
DEAL_EMAIL_SUBJECTS = (
    "Quote {deal}", "Revised offer {deal}", "Technical clarifications {deal}",
    "Delivery schedule {deal}", "Reference visit for {deal}", "Contract draft {deal}",
)
MEETING_TITLES = (
    "Intro call", "Site visit", "Technical workshop", "Demo of the monitoring dashboard",
    "Commercial review", "Engineering alignment", "Factory acceptance test planning",
)
NOTES = (
    "Prefers email over phone; best reached mornings.",
    "Runs the annual shutdown in late summer; budget set in Q4.",
    "Currently uses a competitor's pumps on line 2; unhappy with service times.",
    "Asked for references in their industry.",
    "Decision needs sign-off from the plant manager and procurement.",
    "Interested in energy savings more than in price.",
    "Mentioned an expansion project next year.",
    "Gatekeeper is helpful; ask for the maintenance planner.",
)
LOST_REASONS = {
    "early": ("No response after several attempts", "No budget this year",
              "Not a fit: requirements outside our range", "Project cancelled"),
    "middle": ("Chose a competitor", "Price above budget", "Project postponed",
               "Stayed with incumbent supplier"),
    "late": ("Chose a competitor on price", "Lost on delivery lead time",
             "Procurement froze spending", "Stayed with incumbent supplier"),
}
