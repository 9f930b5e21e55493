"""The demo's fixed vocabulary: who sells, what they sell, and the words customers are made of.

Nothing here is random; ``people.py`` and ``deals.py`` draw from these lists with a seeded
``random.Random`` so the same seed always builds the same company.
"""
from __future__ import annotations

from dataclasses import dataclass

# A Mexican manufacturer of pumps, valves and process instrumentation, based in Monterrey,
# selling across Mexico (in pesos) and abroad (in dollars and euros).
COMPANY_NAME = "Bombas y Válvulas del Norte"
DEMO_DOMAIN = "bvnorte-demo.mx"
BASE_CURRENCY = "MXN"  # set, with dated USD and EUR rates, by crm/money/demo.py
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
    language: str = "es"


# The reps' keys ("europe", "east", "west") are the territory ids every feature's demo uses;
# what each covers is in COUNTRIES: "europe" is the north of Mexico and Europe, "east" central
# and southern Mexico and Latin America, "west" the US, Canada and Asia-Pacific (in English).
ADMIN = DemoUser("admin", f"ada.admin@{DEMO_DOMAIN}", "Adriana Garza", "admin", "America/Monterrey")
MANAGER = DemoUser("manager", f"max.manager@{DEMO_DOMAIN}", "Maximiliano Treviño", "manager", "America/Monterrey")
REPS = (
    DemoUser("europe", f"rita.rep@{DEMO_DOMAIN}", "Rita Villarreal", "rep", "America/Monterrey"),
    DemoUser("east", f"ray.rep@{DEMO_DOMAIN}", "Raymundo Hernández", "rep", "America/Mexico_City"),
    DemoUser("west", f"rosa.rep@{DEMO_DOMAIN}", "Rosa Coleman", "rep", "America/Chicago", "en"),
)
PLANNER = DemoUser("planner", f"pia.planner@{DEMO_DOMAIN}", "Pía Lozano", "planner", "America/Mexico_City")
USERS = (ADMIN, MANAGER, *REPS, PLANNER)

# (name, default win probability) in pipeline order.
STAGES = (
    ("Prospección", "0.05"),
    ("Calificado", "0.15"),
    ("Diagnóstico", "0.30"),
    ("Propuesta", "0.50"),
    ("Negociación", "0.75"),
)


@dataclass(frozen=True)
class Family:
    code: str
    name: str
    unit: str
    lead_time_days: int
    list_prices: tuple[int, ...]  # MXN per unit, one per model in the range
    base_quantity: float  # typical order for a 100-person plant
    projects: tuple[str, ...]  # what a deal for this family is about


FAMILIES = (
    Family("PUMP", "Bombas centrífugas", "pza", 30, (46500, 73900, 98800, 148200, 178600), 4,
           ("reacondicionamiento de bombas", "estación de rebombeo", "bombas de agua de enfriamiento",
            "contrato marco de refacciones", "modernización de bombas de trasvase")),
    Family("VALVE", "Válvulas de control", "pza", 14, (3420, 6460, 11780, 21850, 33820), 25,
           ("reemplazo de válvulas", "paquete de válvulas de corte", "estandarización de válvulas",
            "válvulas de vapor")),
    Family("SENSOR", "Sensores de proceso", "pza", 7, (1615, 2755, 5510, 9120, 12160), 40,
           ("instrumentación de planta", "medición de flujo", "monitoreo de nivel",
            "piloto de monitoreo de condición")),
    Family("CTRL", "Controladores y variadores", "sistema", 45, (55100, 91200, 140600, 237500, 338200), 2,
           ("actualización del sistema de control", "modernización de variadores", "automatización de línea",
            "ahorro de energía")),
)

# What a deal in each currency is priced at: list prices are in pesos and are converted at
# these round planning rates when a customer buys in dollars or euros. (The exchange rates the
# CRM converts with are dated and seeded by ``crm/money/demo.py``.)
PRICING_RATES = {"MXN": 1, "USD": 17.5, "EUR": 19.0}

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

# What Spanish-speaking customers call their businesses, per industry (``INDUSTRIES`` names).
INDUSTRY_WORDS_ES = {
    "Chemicals": ("Química", "Químicos Industriales"), "Food & Beverage": ("Alimentos", "Bebidas", "Lácteos"),
    "Water & Wastewater": ("Aguas", "Servicios de Agua"), "Oil & Gas": ("Energía", "Petroquímica"),
    "Pharmaceuticals": ("Farmacéutica", "Laboratorios"), "Pulp & Paper": ("Papelera", "Empaques"),
    "Mining & Metals": ("Minera", "Aceros", "Metales"), "Power Generation": ("Generación", "Energía"),
    "HVAC & Buildings": ("Climatización", "Instalaciones"), "Breweries": ("Cervecería", "Cerveza Artesanal"),
    "Semiconductors": ("Electrónica", "Microsistemas"), "Marine": ("Astilleros", "Marítima"),
}


@dataclass(frozen=True)
class Country:
    time_zone: str
    tld: str
    phone_code: str
    legal_forms: tuple[str, ...]
    names: str  # key into FIRST_NAMES / LAST_NAMES
    territory: str  # the key of the rep who covers it
    weight: int  # share of the customer base
    currency: str = "USD"  # what its customers buy in
    language: str = "en"  # what its people read


MEXICAN_FORMS = ("S.A. de C.V.", "S. de R.L. de C.V.", "S.A.P.I. de C.V.")
COUNTRIES = (
    # Mexico: most of the customers, in pesos and in Spanish.
    Country("America/Monterrey", "com.mx", "+52", MEXICAN_FORMS, "mexican", "europe", 16, "MXN", "es"),
    Country("America/Tijuana", "com.mx", "+52", MEXICAN_FORMS, "mexican", "europe", 5, "MXN", "es"),
    Country("America/Mexico_City", "com.mx", "+52", MEXICAN_FORMS, "mexican", "east", 18, "MXN", "es"),
    Country("America/Cancun", "com.mx", "+52", MEXICAN_FORMS, "mexican", "east", 4, "MXN", "es"),
    Country("America/Bogota", "com.co", "+57", ("S.A.S.", "S.A."), "mexican", "east", 2, "USD", "es"),
    Country("America/Sao_Paulo", "com.br", "+55", ("Ltda.", "S.A."), "romance", "east", 1),
    # Europe: in euros.
    Country("Europe/Madrid", "es", "+34", ("S.L.", "S.A."), "romance", "europe", 3, "EUR", "es"),
    Country("Europe/Berlin", "de", "+49", ("GmbH", "AG", "GmbH & Co. KG"), "germanic", "europe", 4, "EUR"),
    Country("Europe/Amsterdam", "nl", "+31", ("B.V.", "N.V."), "germanic", "europe", 1, "EUR"),
    Country("Europe/Paris", "fr", "+33", ("SA", "SAS"), "romance", "europe", 2, "EUR"),
    Country("Europe/Rome", "it", "+39", ("S.p.A.", "S.r.l."), "romance", "europe", 1, "EUR"),
    # The US, Canada and Asia-Pacific: in dollars, covered by the English-speaking rep.
    Country("America/Chicago", "com", "+1", ("Inc.", "LLC", "Co."), "anglo", "west", 9),
    Country("America/New_York", "com", "+1", ("Inc.", "LLC", "Corp."), "anglo", "west", 4),
    Country("America/Los_Angeles", "com", "+1", ("Inc.", "LLC", "Corp."), "anglo", "west", 5),
    Country("America/Denver", "com", "+1", ("Inc.", "LLC"), "anglo", "west", 2),
    Country("America/Toronto", "ca", "+1", ("Inc.", "Ltd."), "anglo", "west", 1),
    Country("Asia/Tokyo", "co.jp", "+81", ("K.K.", "Co., Ltd."), "japanese", "west", 1),
    Country("Australia/Sydney", "com.au", "+61", ("Pty Ltd",), "anglo", "west", 1),
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
    "mexican": ("José", "María", "Juan", "Guadalupe", "Luis", "Fernanda", "Carlos", "Ximena", "Jorge",
                "Daniela", "Alejandro", "Sofía", "Miguel", "Valeria", "Ricardo", "Mariana", "Eduardo",
                "Andrea", "Francisco", "Paola", "Arturo", "Gabriela", "Héctor", "Lucía", "Óscar", "Renata",
                "Rodrigo", "Itzel", "Emiliano", "Regina"),
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
    "mexican": ("Hernández", "García", "Martínez", "López", "González", "Rodríguez", "Pérez", "Sánchez",
                "Ramírez", "Flores", "Gómez", "Garza", "Treviño", "Villarreal", "Cantú", "Morales",
                "Jiménez", "Reyes", "Cruz", "Ortiz", "Castillo", "Chávez", "Ruiz", "Mendoza", "Aguilar",
                "Salinas", "Elizondo", "Guerrero", "Domínguez", "Núñez"),
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
SENIOR_TITLES_ES = (
    "Gerente de Planta", "Director de Operaciones", "Jefe de Ingeniería", "Director de Compras",
    "Gerente General", "Director Técnico", "Gerente de Mantenimiento", "Director de Manufactura",
)
STAFF_TITLES_ES = (
    "Jefe de Mantenimiento", "Ingeniero de Procesos", "Comprador", "Ingeniero de Confiabilidad",
    "Coordinador de Compras", "Ingeniero de Proyectos", "Supervisor de Producción", "Ingeniero de Automatización",
    "Técnico de Instrumentación", "Jefe de Calidad", "Gerente de Energía",
)
STAFF_TITLES = (
    "Maintenance Manager", "Process Engineer", "Procurement Manager", "Reliability Engineer",
    "Buyer", "Project Engineer", "Energy Manager", "Automation Engineer", "Instrumentation Technician",
    "Production Supervisor", "Facilities Manager", "Quality Engineer",
)
FREEMAIL = {"mexican": ("gmail.com", "hotmail.com", "outlook.com", "prodigy.net.mx", "yahoo.com.mx"),
            "germanic": ("gmx.de", "web.de", "t-online.de", "gmail.com", "outlook.com", "wp.pl"),
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
