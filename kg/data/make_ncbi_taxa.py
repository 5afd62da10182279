"""Derive ``ncbi-taxa.tsv.gz`` (organism name -> NCBI Taxonomy id) from two Debian packages.

Not imported by kg: run it by hand to refresh the table (see ``README.md`` beside it)::

    apt-get download ncbi-data r-bioc-genomeinfodbdata
    dpkg-deb -x ncbi-data_*.deb x && dpkg-deb -x r-bioc-genomeinfodbdata_*.deb x
    python -m venv /tmp/taxa && /tmp/taxa/bin/pip install rdata pandas
    /tmp/taxa/bin/python kg/data/make_ncbi_taxa.py x kg/data/ncbi-taxa.tsv.gz

Sources (both NCBI Taxonomy data, which NCBI places in the public domain):

* ``ncbi-data`` (Debian Med; NCBI C toolkit data): ``taxlist.txt``, NCBI's curated list of
  900 commonly used organisms with scientific name, GenBank common name and taxon id.
* ``r-bioc-genomeinfodbdata`` (Debian Med; Bioconductor GenomeInfoDbData, Artistic-2.0):
  ``specData.rda``, every scientific name and synonym of NCBI's ``names.dmp`` (taxdump of
  2022-09) as (tax_id, genus, species), without saying which name is the scientific one.

Selection (the whole of names.dmp is ~2.5 million names, ~20 MB compressed):

1. taxlist.txt: scientific names (``S``) and GenBank common names (``C``);
2. every species binomial ("Genus species") with a taxon id below 200,000: the taxa NCBI
   registered in its first years, i.e. model organisms, crops, livestock, classic pathogens
   (Neurospora crassa 5141, Cavia porcellus 10141, Aspergillus nidulans 162425 ...);
3. subspecies, strains and serovars of the species in (1) and in kg's curated
   ``organisms.tsv`` ("Escherichia coli str. K-12 substr. MG1655" 511145 ...);
4. virus names ("... virus ...") except strain designations with "(" or "/".

Never in the table: placeholder names (``sp.``, ``cf.``, ``aff.``, "uncultured",
"unidentified", "environmental", "bacterium"; bracketed genera), single words (a genus
alone is never guessed to mean a species), and any name that names two taxa in names.dmp
(compared in any case).  A name's kind is ``S`` when it is the taxon's scientific name
(from taxlist.txt, or the taxon's only name in names.dmp), ``C`` for a GenBank common
name, ``N`` when the source does not say whether it is the scientific name or a synonym
(kg then labels the taxon with no name of its own choosing).  Rows are sorted by the
lower-case name, which kg looks up by binary search in the decompressed text.
"""

from __future__ import annotations

import gzip
import re
import sys
from collections import defaultdict
from pathlib import Path

PLACEHOLDER = re.compile(r"(?:^|\s)(?:sp\.|cf\.|aff\.|nr\.|uncultured|unidentified|unclassified|environmental"
                         r"|bacterium|isolate|clone)(?:\s|$)|[\[\]]", re.I)
BINOMIAL = re.compile(r"[A-Z][a-z]+ [a-z][a-z-]+")
EARLY_TAXID = 200_000


def main(root: Path, out: Path) -> None:
    import rdata  # the derivation's own dependency, not kg's

    data = root / "usr/lib/R/site-library/GenomeInfoDbData/data/specData.rda"
    spec = rdata.conversion.convert(rdata.parser.parse_file(data))["specData"]
    names_of: dict[int, set[str]] = defaultdict(set)  # every name of each taxon (genus-only ones too)
    taxa_of: dict[str, set[int]] = defaultdict(set)  # lower-case name -> taxa
    spelled: dict[tuple[str, int], str] = {}
    for taxid, genus, species in zip(spec["tax_id"], spec["genus"].astype(str), spec["species"]):
        name = genus if not isinstance(species, str) else f"{genus} {species}"
        name = " ".join(name.split())
        names_of[int(taxid)].add(name)
        taxa_of[name.lower()].add(int(taxid))
        spelled.setdefault((name.lower(), int(taxid)), name)

    curated: list[tuple[str, int, str]] = []
    taxlist = root / "usr/share/ncbi/data/taxlist.txt"
    for line in taxlist.read_text(encoding="latin-1").splitlines()[1:]:
        cells = line.split("\t")
        if len(cells) == 6 and cells[5].strip().isdigit():
            curated.append((cells[0].strip(), int(cells[5]), "S"))
            if cells[1].strip():
                curated.append((cells[1].strip(), int(cells[5]), "C"))
    kg_table = Path(__file__).with_name("organisms.tsv")
    species = {name.lower() for name, _, kind in curated if kind == "S"}
    species |= {line.split("\t")[0].lower() for line in kg_table.read_text(encoding="utf-8").splitlines()[1:]}

    rows: dict[str, tuple[str, int, str]] = {}
    dropped = 0
    for name, taxid, kind in curated:
        known = taxa_of.get(name.lower())
        if known and known != {taxid}:  # renumbered or merged since the toolkit's list: names.dmp wins
            dropped += 1
            continue
        rows[name.lower()] = (name, taxid, kind)
    for key, taxa in taxa_of.items():
        if key in rows or len(taxa) != 1:
            continue
        [taxid] = taxa
        name = spelled[(key, taxid)]
        words = name.split(" ")
        if len(words) < 2 or PLACEHOLDER.search(name):
            continue
        early = BINOMIAL.fullmatch(name) is not None and taxid < EARLY_TAXID
        strain = len(words) > 2 and " ".join(words[:2]).lower() in species
        virus = "virus" in key and not re.search(r"[(/]", name)
        if early or strain or virus:
            rows[key] = (name, taxid, "S" if len(names_of[taxid]) == 1 else "N")
    scientific = {taxid: name for name, taxid, kind in rows.values() if kind == "S"}
    # sorted by lower-case name: kg looks names up by binary search in the text itself
    lines = [f"{name}\t{taxid}\t{kind}\t{scientific.get(taxid, '') if kind != 'S' else ''}\n"
             for key, (name, taxid, kind) in sorted(rows.items())]
    header = (
        "# NCBI Taxonomy names -> taxon ids, derived by kg/data/make_ncbi_taxa.py (see kg/data/README.md).\n"
        "# Sources: Debian packages ncbi-data 6.1.20170106+dfsg1-10 (taxlist.txt) and\n"
        "# r-bioc-genomeinfodbdata 1.2.9-1 (specData.rda: NCBI taxdump names.dmp, 2022-09).\n"
        "# NCBI Taxonomy data: public domain (NCBI). GenomeInfoDbData packaging: Artistic-2.0.\n"
        "# kind: S scientific name, C GenBank common name, N scientific name or synonym (not said which);\n"
        "# scientific: the taxon's scientific name when the name is not it and the table knows it.\n"
        "# Rows are sorted by the lower-case name.\n"
        "name\ttaxid\tkind\tscientific\n"
    )
    with gzip.GzipFile(out, "wb", compresslevel=9, mtime=0) as fh:
        fh.write((header + "".join(lines)).encode("utf-8"))
    print(f"{len(lines)} names ({dropped} taxlist entries renumbered since) -> {out} "
          f"({out.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
