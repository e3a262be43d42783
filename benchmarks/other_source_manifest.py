"""Build ``data/other_source_photos.json``: cat and dog photos from outside the course's data set.

The photos are Oxford-IIIT Pet images (Parkhi, Vedaldi, Zisserman and Jawahar, 2012; CC BY-SA
4.0) as two public GitHub repositories ship them, pinned at a commit (:data:`SOURCES`).  This
maintainer's script reads those repositories' snapshots (git folders on this machine), keeps the
photos that decode as RGB or greyscale images, drops any photo whose bytes or whose perceptual
hash (:func:`dhash`) match a photo of the course's zip (Kaggle Dogs vs. Cats, Asirra) or an
earlier kept photo (near-duplicates), takes up to ``--per-class`` per class spread over the
breeds, and writes the manifest (raw URLs at the commit, sha256, class) and, with ``--mirror``,
a folder of the kept files that ``COURSE_DATA_MIRROR`` can point to::

    python -m benchmarks.other_source_manifest \\
        --git-dir LTSACH/AILearningHub=PATH --git-dir Naveen-Dodda/Sample_Pets_dataset=PATH \\
        --course-zip ../shared/data/cnn_perros_gatos-small.zip --mirror MIRROR

``course_utils.data.photo_sets.fetch_photo_set`` downloads the photos the manifest lists.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import subprocess
import sys
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from course_utils.config import PROJECT_ROOT, portable

#: Where the photos come from: repository, commit, folder, and how a file's class is read.
SOURCES = (
    {
        "repo": "LTSACH/AILearningHub",
        "commit": "38c4dfa48f34344f2e73eebbb93974928943a8c8",
        "folder": "datasets/oxford-pets/data/sample_images",
        "note": "370 Oxford-IIIT Pet photos, 10 per breed, in cats/ and dogs/ folders",
    },
    {
        "repo": "Naveen-Dodda/Sample_Pets_dataset",
        "commit": "9281626a62066c09f278b9b41ac4bad3683d7541",
        "folder": "images",
        "note": "the Oxford-IIIT Pet photos of three breeds (Abyssinian, Bengal, american_bulldog)",
    },
)
LICENSE = {
    "name": "CC BY-SA 4.0",
    "url": "https://creativecommons.org/licenses/by-sa/4.0/",
    "dataset": "Oxford-IIIT Pet Dataset",
    "dataset_url": "https://www.robots.ox.ac.uk/~vgg/data/pets/",
    "attribution": (
        "O. M. Parkhi, A. Vedaldi, A. Zisserman and C. V. Jawahar, «Cats and Dogs», IEEE CVPR 2012. "
        "The dataset is released under CC BY-SA 4.0; the copyright of each image remains with its "
        "original owner (as the dataset's page says)."
    ),
}
#: Perceptual hashes this close (bits out of 64) are taken for the same photo.
NEAR_DUPLICATE_BITS = 6
RAW_URL = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"


@dataclass(frozen=True)
class Candidate:
    """One photo of a source snapshot."""

    repo: str
    commit: str
    path: str
    label: str  # "cats" or "dogs"
    breed: str
    data: bytes

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name


def oxford_label(filename: str) -> tuple[str, str]:
    """``(class, breed)`` of an Oxford-IIIT Pet file name: cat breeds are capitalised, dog breeds are not."""
    stem = PurePosixPath(filename).stem
    breed = re.sub(r"_\d+$", "", stem)
    return ("cats" if breed[:1].isupper() else "dogs"), breed


def dhash(data: bytes, size: int = 8) -> int:
    """64-bit difference hash of an image: the sign of each horizontal step of a 9x8 grey thumbnail."""
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        im.draft("L", (size * 4, size * 4))  # JPEG: decode at a reduced scale
        px = np.asarray(im.convert("L").resize((size + 1, size), Image.Resampling.LANCZOS), dtype=np.int16).ravel()
    bits = 0
    for row in range(size):
        for col in range(size):
            left, right = px[row * (size + 1) + col], px[row * (size + 1) + col + 1]
            bits = (bits << 1) | int(left > right)
    return bits


def hamming(a: int, b: int) -> int:
    """Number of differing bits."""
    return bin(a ^ b).count("1")


def readable(data: bytes) -> bool:
    """True when ``data`` is a whole RGB or greyscale JPEG/PNG that PIL decodes (CMYK and palette files are left out)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format not in ("JPEG", "PNG") or im.mode not in ("RGB", "L"):
                return False
            im.load()
            return min(im.size) >= 64
    except Exception:  # noqa: BLE001 - any decoding failure means: leave it out
        return False


def snapshot_candidates(git_dir: str, source: dict) -> list[Candidate]:
    """The image files under ``source["folder"]`` at ``source["commit"]`` of the git folder ``git_dir``."""
    listing = subprocess.run(
        ["git", "--git-dir", git_dir, "ls-tree", "-r", source["commit"], "--", source["folder"]],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    out = []
    for line in listing:
        meta, path = line.split("\t", 1)
        _mode, kind, sha = meta.split()
        if kind != "blob" or not path.lower().endswith((".jpg", ".jpeg")):
            continue
        data = subprocess.run(
            ["git", "--git-dir", git_dir, "cat-file", "blob", sha], check=True, capture_output=True
        ).stdout
        label, breed = oxford_label(path)
        out.append(Candidate(source["repo"], source["commit"], path, label, breed, data))
    return out


def course_fingerprints(course_zip: str) -> tuple[set[str], list[int]]:
    """sha256 and perceptual hash of every image of the course's zip."""
    shas, hashes = set(), []
    with zipfile.ZipFile(course_zip) as zf:
        for info in zf.infolist():
            if info.is_dir() or not info.filename.lower().endswith((".jpg", ".jpeg", ".png")):
                continue
            data = zf.read(info)
            shas.add(hashlib.sha256(data).hexdigest())
            try:
                hashes.append(dhash(data))
            except Exception:  # noqa: BLE001 - an unreadable course file cannot match anything
                pass
    return shas, hashes


def _numeric_key(c: Candidate) -> tuple[str, int, str]:
    m = re.search(r"_(\d+)\.", c.name)
    return (c.breed, int(m.group(1)) if m else 0, c.path)


def select(
    candidates: list[Candidate], course_shas: set[str], course_hashes: list[int], per_class: int
) -> tuple[list[Candidate], dict[str, int]]:
    """Kept photos (up to ``per_class`` per class, round-robin over breeds) and the count of each reason to drop one."""
    dropped: dict[str, int] = defaultdict(int)
    kept_hashes: list[int] = []
    seen_names: set[str] = set()
    usable: dict[str, dict[str, list[Candidate]]] = defaultdict(lambda: defaultdict(list))
    for c in sorted(candidates, key=lambda c: (SOURCE_ORDER.get(c.repo, 99), *_numeric_key(c))):
        if c.name in seen_names:
            dropped["mismo archivo en otra fuente"] += 1
            continue
        if not readable(c.data):
            dropped["no es una imagen RGB/gris legible"] += 1
            continue
        if hashlib.sha256(c.data).hexdigest() in course_shas:
            dropped["idéntica a una foto del curso"] += 1
            continue
        h = dhash(c.data)
        if any(hamming(h, o) <= NEAR_DUPLICATE_BITS for o in course_hashes):
            dropped["casi idéntica a una foto del curso"] += 1
            continue
        if any(hamming(h, o) <= NEAR_DUPLICATE_BITS for o in kept_hashes):
            dropped["casi idéntica a otra foto elegida"] += 1
            continue
        seen_names.add(c.name)
        kept_hashes.append(h)
        usable[c.label][c.breed].append(c)
    chosen: list[Candidate] = []
    for label in sorted(usable):
        breeds = usable[label]
        picked: list[Candidate] = []
        depth = 0
        while len(picked) < per_class and any(len(v) > depth for v in breeds.values()):
            for breed in sorted(breeds):
                if len(breeds[breed]) > depth and len(picked) < per_class:
                    picked.append(breeds[breed][depth])
            depth += 1
        dropped["sobrante (más de --per-class)"] += sum(len(v) for v in breeds.values()) - len(picked)
        chosen += picked
    return chosen, dict(dropped)


SOURCE_ORDER = {s["repo"]: i for i, s in enumerate(SOURCES)}


def manifest_record(chosen: list[Candidate], name: str, dropped: dict[str, int], command: str) -> dict:
    """The manifest as a JSON-ready dict (the format :func:`course_utils.data.photo_sets.load_manifest` reads)."""
    files = [
        {
            "file": f"{c.label}/{c.name}",
            "class": c.label,
            "breed": c.breed,
            "sha256": hashlib.sha256(c.data).hexdigest(),
            "bytes": len(c.data),
            "url": RAW_URL.format(repo=c.repo, commit=c.commit, path=c.path),
        }
        for c in sorted(chosen, key=lambda c: (c.label, c.name))
    ]
    counts: dict[str, int] = defaultdict(int)
    for f in files:
        counts[f["class"]] += 1
    return {
        "name": name,
        "description": (
            "Fotos de perros y gatos de otra fuente (Oxford-IIIT Pet), para ver cómo les va a los modelos "
            "del curso fuera de su conjunto (Kaggle Dogs vs. Cats)."
        ),
        "license": LICENSE,
        "sources": [{k: s[k] for k in ("repo", "commit", "folder", "note")} for s in SOURCES],
        "selection": {
            "command": command,
            "per_class": dict(sorted(counts.items())),
            "dropped": dict(sorted(dropped.items())),
            "near_duplicate_bits": NEAR_DUPLICATE_BITS,
        },
        "files": files,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--git-dir", action="append", default=[], metavar="OWNER/NAME=PATH", required=True)
    parser.add_argument("--course-zip", required=True, help="cnn_perros_gatos-small.zip (its photos are excluded)")
    parser.add_argument("--per-class", type=int, default=200)
    parser.add_argument("--name", default="oxford_pets_sample")
    parser.add_argument("--out", default=str(PROJECT_ROOT / "data" / "other_source_photos.json"))
    parser.add_argument("--mirror", help="folder where the kept files are written as <name>/<class>/<file>")
    args = parser.parse_args(argv)

    git_dirs = dict(item.split("=", 1) for item in args.git_dir)
    candidates: list[Candidate] = []
    for source in SOURCES:
        if source["repo"] not in git_dirs:
            parser.error(f"falta --git-dir {source['repo']}=PATH")
        found = snapshot_candidates(git_dirs[source["repo"]], source)
        print(f"{source['repo']}@{source['commit'][:12]}: {len(found)} fotos")
        candidates += found
    course_shas, course_hashes = course_fingerprints(args.course_zip)
    print(f"Curso: {len(course_shas)} fotos")
    chosen, dropped = select(candidates, course_shas, course_hashes, args.per_class)
    given = argv if argv is not None else sys.argv[1:]
    command = "python -m benchmarks.other_source_manifest " + " ".join(
        re.sub(r"(^|=)/\S*", r"\1PATH", a) for a in given
    )
    record = manifest_record(chosen, args.name, dropped, portable(command))
    Path(args.out).write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    print(f"{args.out}: {record['selection']['per_class']}; descartadas: {dropped}")
    if args.mirror:
        for c, f in zip(sorted(chosen, key=lambda c: (c.label, c.name)), record["files"], strict=True):
            target = Path(args.mirror) / args.name / f["file"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(c.data)
        print(f"Espejo: {Path(args.mirror) / args.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
