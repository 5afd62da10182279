"""Synthetic PFOCR records in the site layout, shaped like the real sample, for benchmarks.

``python benchmarks/generate.py N OUTDIR [--seed S]`` writes ``OUTDIR/_figures/<figid>.md``
and ``OUTDIR/_data/<figid>-{genes,chemicals,diseases}.tsv``.  Output depends only on N and
the seed.  ~85% of figures use the current layout (front matter + TSV tables, ~40% of them
without tables), ~15% the older one (inline ``genes``/``chemicals``/``diseases`` lists,
``organisms`` as a string).  Genes come from a fixed vocabulary (the same for every seed)
across human, mouse, rat, fly and zebrafish; OCR words fan out to gene families.
"""

from __future__ import annotations

import argparse
import itertools
import random
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

try:
    from yaml import CSafeDumper as _BaseDumper
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]


class Dumper(_BaseDumper):  # type: ignore[misc,valid-type]
    """PyYAML's (C) safe dumper without anchors/aliases: records never contain them."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

VOCAB_SEED = 20240601  # the gene/chemical/disease vocabulary is the same for every corpus seed
OLD_LAYOUT_SHARE = 0.15
NO_TABLES_SHARE = 0.40
MAX_GENE_ROWS = 150
MAX_CAPTION = 3000

#: taxid, name, organism_group, share of figures, share of families with a member in it
ORGANISMS = [
    ("9606", "Homo sapiens", "Primates", 0.70, 1.0),
    ("10090", "Mus musculus", "Rodents", 0.12, 0.55),
    ("10116", "Rattus norvegicus", "Rodents", 0.06, 0.35),
    ("7227", "Drosophila melanogaster", "Insects", 0.07, 0.15),
    ("7955", "Danio rerio", "Fishes", 0.05, 0.20),
]
EXTRA_ORGANISMS = ["Escherichia coli", "Saccharomyces cerevisiae", "Arabidopsis thaliana", "Enterovirus",
                   "gut metagenome", "Escherichia coli BL21DE3", "Gallus gallus", "Caenorhabditis elegans"]
FAMILIES = ["WNT", "FZD", "AKT", "MAPK", "PIK3C", "SMAD", "TGFB", "BMP", "NOTCH", "CDK", "IL", "TNF", "TLR", "STAT",
            "JAK", "SLC2A", "SLC7A", "GLS", "NOS", "COL1A", "LRP", "RAS", "RAF", "MAP2K", "CXCL", "CCL", "ADH",
            "PPAR", "RXR", "RAR", "FABP", "CYP26A", "HDAC", "SIRT", "CASP", "BCL2L", "FOX", "SOX", "KLF", "GATA",
            "E2F", "ATG", "ULK", "PRKC", "PRKA", "GNA", "ADCY", "PDE4", "CAMK", "ITGA", "ITGB", "EGFR", "ERBB",
            "FGF", "FGFR", "VEGF", "PDGFR", "HIF", "NFKB", "RELA", "IKBK", "TRAF", "IRF", "MYD", "NLRP", "CD"]
GREEK = "αβγδεκλμπστωΔΨ"
EMOJI = ["🧬", "🔬", "⚠️", "✅", "🧪"]
NA = ("NA", ".na.character")


@dataclass(frozen=True)
class Gene:
    ncbigene_id: str
    symbol: str
    taxid: str
    family: str


@dataclass(frozen=True)
class Term:
    word: str
    mesh: str
    match: str
    name: str
    xref: str


@dataclass(frozen=True)
class Vocabulary:
    genes: dict[str, list[Gene]]  # taxid -> genes
    families: dict[str, dict[str, list[Gene]]]  # taxid -> family word -> members
    chemicals: list[Term]
    diseases: list[Term]


def _syllables(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(["ra", "to", "mi", "ke", "lu", "sa", "vo", "ni", "dex", "tor", "phy", "lin"])
                   for _ in range(n))


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The fixed vocabulary: ~1,000 gene families (~5,000 genes) over five organisms, 600 chemicals, 300 diseases."""
    rng = random.Random(VOCAB_SEED)
    names = list(FAMILIES)
    seen = set(names)
    while len(names) < 1000:
        name = "".join(rng.choice("ABCDEFGHKLMNPRSTVZ") for _ in range(rng.randint(2, 4)))
        if name not in seen:
            seen.add(name)
            names.append(name)
    genes: dict[str, list[Gene]] = {o[0]: [] for o in ORGANISMS}
    families: dict[str, dict[str, list[Gene]]] = {o[0]: {} for o in ORGANISMS}
    next_id = 1
    for family in names:
        size = min(25, 1 + int(rng.lognormvariate(0.3, 0.9)))
        for taxid, _, _, _, coverage in ORGANISMS:
            if rng.random() > coverage:
                continue
            members = []
            for i in range(1, size + 1):
                base = family if size == 1 else f"{family}{i}"
                symbol = {"9606": base, "10090": base.capitalize(), "10116": base.capitalize(),
                          "7227": base.lower(), "7955": base.lower() + "a"}[taxid]
                next_id += rng.randint(1, 60)
                members.append(Gene(str(next_id), symbol, taxid, family))
            genes[taxid].extend(members)
            families[taxid][family] = members
    chem_words = ["Glucose", "ATP", "ADP", "NAD+", "Pyruvate", "Lactate", "Glutamine", "Glutamate", "Cholesterol",
                  "Ca2+", "cAMP", "Retinol", "Acetyl-CoA", "Fatty acid", "Asp", "Asn", "ROS", "NO", "H2O2", "GSH"]
    chemicals = [_term(rng, w, "chebi") for w in chem_words]
    chemicals += [_term(rng, _syllables(rng, rng.randint(2, 4)).capitalize(), "chebi") for _ in range(580)]
    dis_words = ["Diabetes", "Cancer", "Fibrosis", "Alzheimer disease", "Obesity", "COVID-19", "Myeloma", "Asthma"]
    diseases = [_term(rng, w, "doid") for w in dis_words]
    diseases += [_term(rng, _syllables(rng, 3) + rng.choice(["itis", "oma", "osis", "pathy"]), "doid")
                 for _ in range(292)]
    return Vocabulary(genes, families, chemicals, diseases)


def _term(rng: random.Random, word: str, prefix: str) -> Term:
    mesh = f"mesh:{rng.choice('CD')}{rng.randint(1000, 999999):06d}"
    if rng.random() < 0.35:
        return Term(word, mesh, "NA", "NA", "NA")
    return Term(word, mesh, word.title(), word.lower(), f"{prefix}:{rng.randint(1, 200000)}")


# --------------------------------------------------------------------------- papers

JOURNALS = [  # title, NLM abbreviation, publisher, doi and figure-name patterns
    ("International Journal of Molecular Sciences", "Int J Mol Sci", "MDPI", "10.3390/ijms{n}", "ijms-{v}-{n:05d}-g{k:03d}"),
    ("PLOS One", "PLoS One", "PLOS", "10.1371/journal.pone.{n:07d}", "pone.{n:07d}.g{k:03d}"),
    ("Frontiers in Immunology", "Front Immunol", "Frontiers Media SA", "10.3389/fimmu.{y}.{n}", "fimmu-{v}-{n}-g{k:03d}"),
    ("Cell Death & Disease", "Cell Death Dis", "Nature Publishing Group UK", "10.1038/s41419-{y}-{n}-{k}",
     "41419_{y}_{n}_Fig{k}_HTML"),
    ("Cell Reports", "Cell Rep", "Elsevier", "10.1016/j.celrep.{y}.{n}", "gr{k}"),
    ("The Journal of Clinical Investigation", "J Clin Invest", "American Society for Clinical Investigation",
     "10.1172/JCI{n}", "JCI{n:07d}.f{k}"),
    ("Molecular and Cellular Biology", "Mol Cell Biol", "American Society for Microbiology", "10.1128/MCB.{n}",
     "mb{n:08d}{k:03d}"),
    ("PLoS Computational Biology", "PLoS Comput Biol", "Public Library of Science", "10.1371/journal.pcbi.{n:07d}",
     "pcbi.{n:07d}.g{k:03d}"),
    ("Journal of Biological Chemistry – Signalling", "J Biol Chem", "Elsevier", "10.1074/jbc.M{n}", "zbc{n:07d}{k:04d}"),
]
PMC_BASE = [(1995, 40_000), (2001, 100_000), (2005, 1_000_000), (2010, 2_900_000), (2015, 4_400_000),
            (2020, 7_000_000), (2023, 9_800_000), (2025, 11_500_000), (2026, 12_500_000)]
FIRST = ["Oxana", "Li-Fen", "José", "Marie", "Yishay", "Shao-Lun", "Øyvind", "Zhang", "Ana", "Jürgen", "Priya", "Kenji"]
LAST = ["Lungu", "Lee", "Müller", "Wooten", "Szekely", "Hsu", "García", "Nakamura", "Ødegård", "Smith", "Dąbrowski"]
WORDS = ["signaling", "pathway", "regulates", "metabolism", "inflammation", "receptor", "kinase", "activation",
         "differentiation", "apoptosis", "autophagy", "transcription", "mitochondrial", "oxidative", "stress",
         "crosstalk", "homeostasis", "tumour", "immune", "response", "cells", "model", "role", "mechanisms"]


def _pmc_range(year: int) -> tuple[int, int]:
    for (y0, b0), (y1, b1) in itertools.pairwise(PMC_BASE):
        if y0 <= year < y1:
            step = (b1 - b0) // (y1 - y0)
            return b0 + step * (year - y0), b0 + step * (year - y0 + 1)
    raise ValueError(year)


def _sentence(rng: random.Random, words: list[str]) -> str:
    parts = [rng.choice(WORDS) for _ in range(rng.randint(6, 16))]
    for _ in range(rng.randint(0, 3)):
        if words:
            parts.insert(rng.randrange(len(parts)), rng.choice(words))
    if rng.random() < 0.4:
        parts.insert(rng.randrange(len(parts)), f"{rng.choice(['NF', 'TGF', 'PGC-1', 'IFN'])}-{rng.choice(GREEK)}")
    if rng.random() < 0.25:
        parts.insert(rng.randrange(len(parts)), f"{rng.randint(1, 9)}–{rng.randint(10, 30)}")
    if rng.random() < 0.2:
        parts.insert(rng.randrange(len(parts)), "→")
    text = " ".join(parts)
    return text[0].upper() + text[1:] + rng.choice([".", ".", ";", " [12,15]."])


def _caption(rng: random.Random, words: list[str]) -> str:
    target = min(MAX_CAPTION, max(40, int(rng.lognormvariate(6.2, 0.8))))
    parts: list[str] = []
    size = 0
    while size < target:
        s = _sentence(rng, words)
        parts.append(s)
        size += len(s) + 1
    text = " ".join(parts)[:MAX_CAPTION].rstrip()
    if rng.random() < 0.01:
        text = text[: MAX_CAPTION - 3] + " " + rng.choice(EMOJI)
    return text


def _table_words(rng: random.Random, vocab: Vocabulary, taxa: list[str]) -> list[tuple[str, Gene, str, str]]:
    """Gene table rows as (word, gene, match, source): exact symbols, synonyms and fanned-out families."""
    rows: list[tuple[str, Gene, str, str]] = []
    n_words = max(1, min(60, int(rng.lognormvariate(2.0, 0.9))))
    primary = vocab.families[taxa[0]]
    family_names = list(primary)
    for _ in range(n_words):
        family = rng.choice(family_names)
        members_0 = primary[family]
        draw = rng.random()
        if draw < 0.35 and len(members_0) > 1:
            word, source, pick = family, "famplex_relations", None
        elif draw < 0.55:
            pick = rng.randrange(len(members_0))
            word, source = f"{family.lower()}-{pick + 1}", "ncbigene_synonym"
        else:
            pick = rng.randrange(len(members_0))
            word, source = members_0[pick].symbol, "ncbigene_symbol"
        if rng.random() < 0.08:
            word = rng.choice(["(", "", "p-"]) + word + rng.choice(["*", ",", "/6", ""])
        for taxid in taxa:
            members = vocab.families[taxid].get(family, [])
            chosen = members if pick is None else members[pick:pick + 1]
            for gene in chosen:
                rows.append((word, gene, family if pick is None else gene.symbol.upper(), source))
    return rows[:MAX_GENE_ROWS]


def _tsv(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join("\t".join(r) for r in [header, *rows]) + "\n"


def _figure(rng: random.Random, vocab: Vocabulary, paper: dict[str, Any], k: int, old: bool
            ) -> tuple[str, dict[str, str]]:
    """One record: the Markdown text and its ``{kind: tsv text}`` tables."""
    pmc, year, journal = paper["pmcid"], paper["year"], paper["journal"]
    name = journal[4].format(n=paper["n"], k=k, y=year, v=paper["v"])
    figid = f"{pmc}__{name}"
    taxa = paper["taxa"] if not old else ["9606"]
    gene_rows = _table_words(rng, vocab, taxa) if rng.random() > 0.05 else []
    chem_rows = rng.sample(vocab.chemicals, min(15, int(rng.lognormvariate(0.8, 0.9)))) if rng.random() < 0.5 else []
    dis_rows = rng.sample(vocab.diseases, min(5, int(rng.lognormvariate(0.2, 0.7)))) if rng.random() < 0.3 else []
    words = list(dict.fromkeys(w for w, _, _, _ in gene_rows))
    caption = _caption(rng, words[:20] + [t.word for t in chem_rows])
    title = _sentence(rng, words[:5]).rstrip(".;")[:150]
    number = rng.choice(["F", "F", "F", "F", "SF", "GA"]) + str(k)
    figtype = {"F": "Figure", "SF": "Supplemental figure", "GA": "Graphical abstract"}[number.rstrip("0123456789")]
    symbols = list(dict.fromkeys(g.symbol for _, g, _, _ in gene_rows))
    keywords = symbols + [t.word for t in chem_rows + dis_rows]
    keywords += rng.sample(["ADH", "Retinaldehyde", "OCR", "p-", "II", "HTML"], rng.randint(0, 2))
    page = f"https://pfocr.wikipathways.org/figures/{figid}.html"
    alias = f"{pmc}__{number}"
    jsonld: dict[str, Any] = {"@context": "https://schema.org/", "@id": page, "@type": "Dataset",
                              "description": caption, "license": "CC0", "name": "CreativeWork",
                              "creator": {"@type": "Organization", "name": "WikiPathways"}}
    if keywords:
        jsonld["keywords"] = keywords
    ndex = "" if rng.random() < 0.8 else f"{rng.getrandbits(32):08x}-dec4-11ea-99da-0ac135e8{rng.getrandbits(16):04x}"
    link = f"/pmc/articles/{pmc}/figure/F{k}/"
    tables: dict[str, str] = {}
    if old:
        names = [o[1] for o in ORGANISMS if o[0] in paper["taxa"]]
        f: dict[str, Any] = {
            "figid": figid, "figlink": link, "number": number, "caption": caption, "pmcid": pmc,
            "papertitle": paper["title"], "reftext": paper["reftext"],
            "pmc_ranked_result_index": str(rng.randint(1, 30000)), "pathway_score": round(rng.uniform(0.5, 1), 7),
            "filename": f"{name}.jpg", "figtitle": title, "year": str(year), "organisms": names[0], "ndex": ndex,
            "annotations": [], "seo": "CreativeWork", "schema-jsonld": jsonld,
            "genes": [{"word": w, "symbol": m, "source": {"ncbigene_symbol": "hgnc_symbol",
                                                         "ncbigene_synonym": "hgnc_alias_symbol",
                                                         "famplex_relations": "bioentities_symbol"}[s],
                       "hgnc_symbol": g.symbol, "entrez": g.ncbigene_id} for w, g, m, s in gene_rows],
            "chemicals": [{"word": t.word, "source": "MESH", "identifier": t.mesh[5:]} for t in chem_rows],
            "diseases": [{"word": t.word, "source": "MESH", "identifier": t.mesh[5:]} for t in dis_rows],
            "figid_alias": alias, "redirect_from": f"/figures/{alias}", "figtype": figtype,
        }
    else:
        na = paper["na"]
        f = {
            "figid": figid, "figtitle": title,
            "organisms": ["NA"] if rng.random() < 0.5 else paper["organisms"],
            "organisms_ner": paper["organisms"], "pmcid": pmc, "filename": f"{name}.jpg", "figlink": link,
            "number": number, "caption": caption, "papertitle": paper["title"], "reftext": paper["reftext"],
            "year": str(year), "doi": na or paper["doi"], "journal_title": na or journal[0],
            "journal_nlm_ta": na or journal[1], "publisher_name": na or journal[2], "keywords": na or paper["keywords"],
            "automl_pathway": round(rng.uniform(0.5, 1), 7), "figid_alias": alias, "figtype": figtype,
            "redirect_from": f"/figures/{alias}", "ndex": ndex, "seo": "CreativeWork", "schema-jsonld": jsonld,
        }
        if rng.random() > NO_TABLES_SHARE:
            counts = [str(rng.randint(1, 40)) for _ in range(3)]
            groups = {o[0]: o for o in ORGANISMS}
            if gene_rows:
                tables["genes"] = _tsv(
                    ["organism_id", "organism_name", "organism_group", "word", "match", "ncbigene_symbol",
                     "ncbigene_id", "source", "count_direct", "count_synonym", "count_match"],
                    [[g.taxid, groups[g.taxid][1], groups[g.taxid][2], w, m, g.symbol, g.ncbigene_id, s, *counts]
                     for w, g, m, s in gene_rows])
            for kind, rows, xref in (("chemicals", chem_rows, "chebi"), ("diseases", dis_rows, "doid")):
                if rows:
                    tables[kind] = _tsv(["word", "mesh", "match", "name", xref],
                                        [[t.word, t.mesh, t.match, t.name, t.xref] for t in rows])
    text = "---\n" + yaml.dump(f, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=80) + "---\n"
    return figid, {"md": text, **tables}


def _paper(rng: random.Random, used: set[int]) -> dict[str, Any]:
    year = min(2025, max(1995, 2025 - int(rng.expovariate(1 / 7))))
    low, high = _pmc_range(year)
    number = rng.randrange(low, high)
    while number in used:
        number = rng.randrange(low, high)
    used.add(number)
    journal = rng.choice(JOURNALS)
    n, v = rng.randint(1000, 99999), year - 1999
    taxa = [rng.choices([o[0] for o in ORGANISMS], [o[3] for o in ORGANISMS])[0]]
    if rng.random() < 0.15:
        taxa.append("7227" if taxa[0] != "7227" else "9606")
    organisms = [o[1] for o in ORGANISMS if o[0] in taxa]
    organisms += rng.sample(EXTRA_ORGANISMS, rng.choice([0, 0, 0, 1, 2]))
    title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 18))).capitalize() + "."
    first, last = rng.choice(FIRST), rng.choice(LAST)
    month = rng.choice(["Jan", "Mar", "Jun", "Sep", "Dec"])
    return {
        "pmcid": f"PMC{number}", "year": year, "journal": journal, "n": n, "v": v, "taxa": taxa,
        "organisms": organisms, "title": title,
        "reftext": f"{first} {last}, et al. {journal[1]}. {year} {month};{v}({rng.randint(1, 24)}):{n}.",
        "doi": journal[3].format(n=n, y=year, k=rng.randint(1, 9)),
        "keywords": rng.choice(["", "", " | ".join(rng.sample(WORDS, rng.randint(2, 6)))]),
        "na": ".na.character" if year <= 2005 and rng.random() < 0.5 else None,
        "old": rng.random() < OLD_LAYOUT_SHARE,
    }


def generate(n: int, outdir: str | Path, seed: int = 0) -> list[str]:
    """Write ``n`` synthetic records under ``outdir`` (replacing what is there); returns their figids."""
    out = Path(outdir)
    for sub in ("_figures", "_data"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True)
    rng = random.Random(seed)
    vocab = vocabulary()
    used: set[int] = set()
    figids: list[str] = []
    while len(figids) < n:
        paper = _paper(rng, used)
        count = min(n - len(figids), 1 + int(rng.expovariate(1 / 1.5)))
        for k in range(1, count + 1):
            figid, files = _figure(rng, vocab, paper, k, paper["old"])
            (out / "_figures" / f"{figid}.md").write_text(files.pop("md"), encoding="utf-8")
            for kind, text in files.items():
                (out / "_data" / f"{figid}-{kind}.tsv").write_text(text, encoding="utf-8")
            figids.append(figid)
    return figids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("outdir")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    figids = generate(args.n, args.outdir, args.seed)
    print(f"{len(figids)} records written to {args.outdir}")


if __name__ == "__main__":
    main()
