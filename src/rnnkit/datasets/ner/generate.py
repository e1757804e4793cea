"""Write the bundled NER data: ``train.conll`` and ``valid.conll``, generated English sentences.

    python src/rnnkit/datasets/ner/generate.py        # rewrites both files, the same bytes every time

Sentences come from hand-written templates whose slots are filled from hand-written lists of common
first and last names (PER), cities and countries (LOC), made-up companies and well-known public bodies
(ORG), and nationalities, languages, events and products (MISC). About a fifth of every list is kept
for the validation file only, so validation measures how the tagger treats words it has never seen
(its character and casing features). Everything here was written for rnnkit and is MIT-licensed
like the rest of the package; no corpus was used. Tags are IOB2 (BIO); two columns, ``token TAG``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

FIRST = """James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan
Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa Anthony Betty Mark Margaret Paul Sandra
Steven Ashley Andrew Kimberly Joshua Emily Kevin Donna Brian Michelle George Carol Edward Amanda Ronald
Melissa Timothy Deborah Jason Stephanie Jeffrey Rebecca Ryan Laura Jacob Helen Gary Anna Nicholas Maria
Eric Ruth Jonathan Sharon Stephen Cynthia Larry Kathleen Justin Amy Scott Angela Frank Shirley Ahmed Yuki
Olga Pierre Hans Giulia Sven Ingrid Rahul Priya Chen Mei Carlos Lucia Dmitri Fatima Kwame Amara""".split()
LAST = """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Wilson
Anderson Thomas Taylor Moore Jackson Martin Lee Thompson White Harris Clark Lewis Robinson Walker Young Allen
King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter
Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Murphy Cook Rogers
Morgan Peterson Cooper Reed Bailey Bell Kelly Howard Ward Cox Richardson Wood Watson Brooks Bennett Gray
Schmidt Dubois Rossi Tanaka Kowalski Ivanov Okafor Haddad Larsen Novak Silva Kim Patel Jensen""".split()
CITY = """London Paris Berlin Madrid Rome Vienna Prague Warsaw Dublin Lisbon Amsterdam Brussels Oslo
Stockholm Helsinki Copenhagen Athens Budapest Geneva Zurich Munich Hamburg Milan Naples Barcelona Lyon
Marseille Manchester Liverpool Glasgow Edinburgh Toronto Montreal Vancouver Chicago Boston Seattle Denver
Atlanta Houston Dallas Miami Sydney Melbourne Auckland Tokyo Osaka Seoul Beijing Shanghai Mumbai Delhi
Cairo Lagos Nairobi Johannesburg Lima Santiago Bogota Istanbul Moscow Kiev""".split() + [
    "New York", "Los Angeles", "San Francisco", "Hong Kong", "Buenos Aires", "Rio de Janeiro", "Cape Town",
    "Mexico City", "New Delhi", "Abu Dhabi"]
COUNTRY = """France Germany Spain Italy Portugal Austria Poland Ireland Norway Sweden Finland Denmark Greece
Hungary Switzerland Belgium Netherlands Canada Mexico Brazil Argentina Chile Peru Colombia Japan China India
Korea Australia Egypt Nigeria Kenya Ghana Turkey Russia Ukraine Morocco Vietnam Thailand Indonesia""".split() + [
    "South Africa", "New Zealand", "United States", "United Kingdom", "Czech Republic", "Saudi Arabia",
    "Sri Lanka", "Costa Rica"]
COMPANY = [f"{a} {b}" for a, b in [
    ("Northwind", "Traders"), ("Bluestone", "Bank"), ("Redwood", "Holdings"), ("Silverline", "Airways"),
    ("Greenfield", "Foods"), ("Ironbridge", "Steel"), ("Brightwater", "Energy"), ("Oakmont", "Insurance"),
    ("Summit", "Motors"), ("Harbor", "Shipping"), ("Crescent", "Pharma"), ("Pinecrest", "Media"),
    ("Westgate", "Capital"), ("Starlight", "Telecom"), ("Granite", "Construction"), ("Maple", "Software"),
    ("Falcon", "Logistics"), ("Riverside", "Textiles"), ("Goldleaf", "Mining"), ("Clearview", "Optics"),
    ("Eastwind", "Electronics"), ("Blue", "Harbor"), ("Copperfield", "Chemicals"), ("Highland", "Breweries"),
    ("Sunrise", "Hotels"), ("Lakeside", "Bank"), ("Orion", "Aerospace"), ("Vertex", "Robotics"),
    ("Cobalt", "Networks"), ("Meridian", "Airlines")]] + """Acme Globex Initech Umbrex Vandelay Zentrix Quantix
Novatel Medico Agrifarm Solvex Petrocorp Teleco Finbank Autoline""".split()
BODY = ["United Nations", "European Union", "World Bank", "Red Cross", "World Health Organization",
        "International Monetary Fund", "European Commission", "Supreme Court", "Central Bank", "Senate",
        "Parliament", "NATO", "UNESCO", "Interpol", "Olympic Committee"]
NATIONALITY = """French German Spanish Italian Portuguese Austrian Polish Irish Norwegian Swedish Finnish Danish
Greek Hungarian Swiss Belgian Dutch Canadian Mexican Brazilian Argentine Chilean Japanese Chinese Indian
Korean Australian Egyptian Nigerian Kenyan Turkish Russian British American European African Asian""".split()
EVENT = ["World Cup", "Olympic Games", "Tour de France", "Champions League", "Davis Cup", "Grand Prix",
         "Nobel Prize", "Christmas", "Ramadan", "Easter", "World Series", "Super Bowl", "Euro 2024", "Expo 2030"]

TEMPLATES = [
    "{PER} said on {DAY} that {ORG} would cut {NUM} jobs .",
    "{ORG} shares rose {NUM} percent in {LOC} on {DAY} .",
    "{PER} , a spokesman for {ORG} , declined to comment .",
    "The {MISC} government said it would send {NUM} troops to {LOC} .",
    "{PER} won the {MISC} title in {LOC} after beating {PER} .",
    "{ORG} agreed to buy {ORG} for {NUM} million dollars .",
    "Police in {LOC} arrested {NUM} people after the match .",
    "{PER} will visit {LOC} and {LOC} next week .",
    "The {ORG} report was published in {LOC} on {DAY} .",
    "{PER} told reporters in {LOC} that talks with {ORG} had failed .",
    "{LOC} beat {LOC} {NUM} - {NUM} in the {MISC} qualifier .",
    "{PER} ( {LOC} ) finished second in {NUM} minutes .",
    "A {MISC} court in {LOC} sentenced {PER} to {NUM} years .",
    "{ORG} , based in {LOC} , reported a profit of {NUM} million .",
    "Prices in {LOC} fell for the {NUM} th month in a row .",
    "The {MISC} team arrived in {LOC} on {DAY} .",
    "{PER} and {PER} met in {LOC} to discuss the {MISC} plan .",
    "{ORG} said demand from {MISC} buyers was weak .",
    "Officials at the {ORG} in {LOC} confirmed the figures .",
    "{PER} scored twice as {ORG} beat {ORG} .",
    "Rain delayed play in {LOC} for {NUM} hours .",
    "The minister said {LOC} would not join the {ORG} talks .",
    "{PER} , who joined {ORG} in {NUM} , will retire in {MONTH} .",
    "Flights between {LOC} and {LOC} were cancelled on {DAY} .",
    "{MISC} and {MISC} officials signed the deal in {LOC} .",
    "{PER} said the {MISC} market would recover by {MONTH} .",
    "Exports to {LOC} rose {NUM} percent , {ORG} said .",
    "There was no comment from {PER} .",
    "Shares closed lower on {DAY} after a quiet session .",
    "The company expects sales to grow by {NUM} percent this year .",
    "Results of the {MISC} matches played on {DAY} :",
    "{PER} {NUM} {PER} {NUM}",
    "{LOC} {NUM} {LOC} {NUM}",
    "{ORG} chief executive {PER} resigned on {DAY} .",
    "Thousands marched through {LOC} to protest against the {ORG} decision .",
    "{PER} , {NUM} , has lived in {LOC} since {MONTH} .",
    "The {ORG} warned that growth in {LOC} would slow .",
    "Analysts said {ORG} could raise its offer for {ORG} .",
    "{PER} 's new book about {LOC} will appear in {MISC} next year .",
    "It was the first {MISC} victory over {LOC} since {NUM} .",
]
DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
MONTHS = "January February March April May June July August September October November December".split()


def _split(items: list[str], rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """(training part, validation-only part): about a fifth of the list for validation only."""
    order = rng.permutation(len(items))
    cut = max(1, len(items) // 5)
    return [items[i] for i in order[cut:]], [items[i] for i in order[:cut]]


def _lists(rng: np.random.Generator) -> tuple[dict, dict]:
    parts = {name: _split(items, rng) for name, items in
             (("first", FIRST), ("last", LAST), ("city", CITY), ("country", COUNTRY), ("company", COMPANY),
              ("body", BODY), ("nationality", NATIONALITY), ("event", EVENT))}
    return {k: v[0] for k, v in parts.items()}, {k: v[1] for k, v in parts.items()}


def _entity(kind: str, pools: dict, rng: np.random.Generator) -> list[str]:
    pick = lambda name: str(rng.choice(pools[name]))  # noqa: E731
    if kind == "PER":
        r = rng.random()
        name = pick("first") + " " + pick("last") if r < 0.6 else pick("last") if r < 0.9 else pick("first")
    elif kind == "LOC":
        name = pick("city") if rng.random() < 0.6 else pick("country")
    elif kind == "ORG":
        name = pick("company") if rng.random() < 0.7 else pick("body")
    else:
        name = pick("nationality") if rng.random() < 0.7 else pick("event")
    return name.split()


def sentence(template: str, pools: dict, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """Fill one template: tokens and their IOB2 tags."""
    tokens, tags = [], []
    for word in template.split():
        if word in ("{PER}", "{LOC}", "{ORG}", "{MISC}"):
            kind = word[1:-1]
            name = _entity(kind, pools, rng)
            tokens += name
            tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(name) - 1)
            continue
        fill = {"{NUM}": lambda: str(int(rng.integers(2, 1000))), "{DAY}": lambda: str(rng.choice(DAYS)),
                "{MONTH}": lambda: str(rng.choice(MONTHS))}.get(word)
        tokens.append(fill() if fill else word)
        tags.append("O")
    return tokens, tags


def generate(n: int, pools: dict, rng: np.random.Generator) -> str:
    lines = []
    for _ in range(n):
        tokens, tags = sentence(TEMPLATES[int(rng.integers(len(TEMPLATES)))], pools, rng)
        lines += [f"{w} {t}" for w, t in zip(tokens, tags)] + [""]
    return "\n".join(lines) + "\n"


def main() -> None:
    rng = np.random.default_rng(2003)
    train_pools, held_out = _lists(rng)
    val_pools = {k: train_pools[k] + held_out[k] * 3 for k in train_pools}  # unseen names weighted up
    here = Path(__file__).parent
    (here / "train.conll").write_text(generate(3000, train_pools, rng), encoding="utf-8")
    (here / "valid.conll").write_text(generate(500, val_pools, rng), encoding="utf-8")


if __name__ == "__main__":
    main()
