#!/usr/bin/env python3
"""Builds communes-occitanie.tsv, the towns that `territories.rs` recognises.

Source: the communes of the INSEE Code officiel géographique with their population, as shipped
by the npm package @etalab/decoupage-administratif 6.0.0 (data: Licence Ouverte / Etalab 2.0;
code: MIT). Word list: Debian's `wfrench` (/usr/share/dict/french).

    npm pack @etalab/decoupage-administratif && tar xzf etalab-*.tgz
    python3 src/tag/communes.py package/data/communes.json > src/tag/communes-occitanie.tsv

A commune of Occitanie is kept when:
- it has at least 500 inhabitants (smaller names are more often homonyms or words);
- no commune elsewhere in France of the same name has more than a third of its population
  (so `Valence`, `Saint-Nazaire`, `Montréal` are left out: they mean somewhere else);
- its name (after a leading article) is not a lowercase French word (`Grenade`, `Condom`,
  `Fronton`), except towns over 10,000 inhabitants, which are kept as `strict` (matched only
  when capitalised, and at the start of a title only before punctuation: `Lourdes :`);
- it is not in the hand-made list below of first names, surnames, foreign places and feast
  days that would be read as the commune (`Pia`, `Ségur`, `Cologne`, `la Saint-Jean`).
"""
import collections
import json
import re
import sys
import unicodedata

OCCITANIE = {"09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"}
MIN_POPULATION = 500
STRICT_POPULATION = 10_000
ARTICLES = ("le ", "la ", "les ", "l ")
NOT_A_PLACE = {
    # first names and surnames
    "Pia", "Alban", "Valentine", "Duran", "Noé", "Flavin", "Laurens", "Galan", "Bram", "Claret",
    "Lasalle", "Combas", "Dalou", "Cassagne", "Lauret", "Boudou", "Villate", "Lagrave",
    "Montesquiou", "Caylus", "Vernet", "Bernis", "Pinet", "Mouret", "Canals", "Campan", "Lanne",
    "Maury", "Albine", "Laroque", "Brissac", "Estaing", "Artagnan", "Revel",
    # other places, events and words
    "Cologne", "Caux", "Ségur", "Montferrand", "Tournay", "Clarens", "Err", "Dun", "Nant",
    "Moulis", "Quins", "Saint-Jean", "Saint-Thomas", "Saint-Alexandre", "Trois Rivières",
    "L'Union",
}


def fold(text):
    text = unicodedata.normalize("NFKD", text.lower().replace("œ", "oe").replace("æ", "ae"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(w for w in re.split(r"[^0-9a-z]+", text) if w)


def main(path):
    communes = [c for c in json.load(open(path, encoding="utf-8")) if c.get("type") == "commune-actuelle"]
    words = {
        fold(w)
        for w in open("/usr/share/dict/french", encoding="utf-8").read().split()
        if w[:1].islower()
    }
    by_name = collections.defaultdict(list)
    for c in communes:
        by_name[fold(c["nom"])].append(c)
    print("# Communes d'Occitanie reconnues comme territoires ; généré par communes.py (voir ce fichier).")
    print("# Données : INSEE, Code officiel géographique, via @etalab/decoupage-administratif 6.0.0, Licence Ouverte 2.0.")
    print("# nom\tdépartement\tpopulation\tstrict")
    kept = []
    for c in communes:
        population = c.get("population") or 0
        if c["departement"] not in OCCITANIE or population < MIN_POPULATION or c["nom"] in NOT_A_PLACE:
            continue
        name = fold(c["nom"])
        elsewhere = sum(o.get("population") or 0 for o in by_name[name] if o["departement"] != c["departement"])
        if elsewhere * 3 > population:
            continue
        core = name
        for article in ARTICLES:
            if core.startswith(article):
                core = core[len(article):]
        strict = ""
        if " " not in core and core in words:
            if population < STRICT_POPULATION:
                continue
            strict = "strict"
        kept.append((c["nom"], c["departement"], population, strict))
    for row in sorted(kept, key=lambda r: (r[1], r[0])):
        print("\t".join(map(str, row)))


if __name__ == "__main__":
    main(sys.argv[1])
