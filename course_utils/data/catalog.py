"""The course's downloadable files, declared once: the datasets, the external photos, the trained model.

Each entry names the file, where it is (Google Drive ids, other addresses), its sha256 and,
for an archive, what it must hold.  :mod:`course_utils.data.course_data` fetches them;
``data/datasets.json`` in the repository is :func:`registry_records` written out.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DatasetSpec:
    """One downloadable file of the course."""

    name: str
    filename: str
    drive_ids: tuple[str, ...]
    description: str
    #: sha256 of the file as the course mirrors it, or None where unknown.
    mirror_sha256: str | None = None
    #: sha256 of the Google Drive copy, where known (verified before use).
    drive_sha256: str | None = None
    #: For archives: the single top folder it must extract to.
    top_folder: str | None = None
    extra_urls: tuple[str, ...] = field(default_factory=tuple)
    #: For archives: how many image files it holds (checked before extracting and in the cache).
    expected_images: int | None = None
    #: For archives: the most it may unpack to (a zip bomb is refused before extracting).
    max_unpacked_bytes: int | None = None

    @property
    def is_archive(self) -> bool:
        return self.filename.endswith(".zip")

    @property
    def cache_folder(self) -> str:
        """The folder of the cache that holds this archive's extraction (one per dataset)."""
        return self.name


DATASETS: dict[str, DatasetSpec] = {
    "cats_dogs_small": DatasetSpec(
        name="cats_dogs_small",
        filename="cnn_perros_gatos-small.zip",
        drive_ids=("1Ce3u8dwYYriLkz5OpcGn72xIQENIHZX5", "1NK9LvrVwsEQM0UHkFHq_GYCF2fjGrwAP"),
        description="Conjunto reducido: 1000/500/500 imágenes por clase (train/validation/test).",
        mirror_sha256="be4e0a8f9c2acb211ea6378ad3056e5dd3392f199d11ed0d245dee4eefd8d8ce",
        top_folder="cnn_perros_gatos",
        expected_images=4000,
        max_unpacked_bytes=200_000_000,
    ),  # unpacks to 180,287,513 bytes
    "cats_dogs_full": DatasetSpec(
        name="cats_dogs_full",
        filename="cnn_perros_gatos.zip",
        drive_ids=("1Q3xOfn2Up9uIOLviS66oYH_oFFK-IGpW", "1hchhNQ_3WNncaXVD3kX58EIppcYFt-E2"),
        description="Conjunto completo de Kaggle (25,000 imágenes, 543 MB).",
        top_folder="cnn_perros_gatos",
        expected_images=25_000,
        max_unpacked_bytes=1_500_000_000,
    ),
    "external_cat": DatasetSpec(
        name="external_cat",
        filename="dc_cat.jpg",
        drive_ids=("1OEUZgYKM_brFUwjNi1RmMCOLzctdimYK",),
        description="Foto externa de un gato (abisinio).",
        mirror_sha256="66df6f98a87886321741a253f892448094d293760c1e14d1c309c74113d7b84c",
    ),
    "external_dog": DatasetSpec(
        name="external_dog",
        filename="dc_dog.jpg",
        drive_ids=("1eSWPCWL-mc4ekrjbh5BN25IKlNZfAECF",),
        description="Foto externa de un perro (Boston terrier).",
        mirror_sha256="463609fb7df913652f546ed84f497f9afba7607132f224152b34795ffdeeaea4",
    ),
    "cnn_improved_model": DatasetSpec(
        name="cnn_improved_model",
        filename="cnn_perros_gatos_improved.keras",
        drive_ids=("13L5oCFXIgw22FR8irsuwNHvnzekA7bGd",),
        description="CNN del curso entrenada con el conjunto completo (87 % en prueba según la lección 06-CNN-II).",
    ),
}


def registry_records() -> list[dict]:
    """The registry as plain records (what ``data/datasets.json`` in the repository holds)."""
    from dataclasses import asdict

    out = []
    for spec in DATASETS.values():
        rec = asdict(spec)
        rec["drive_ids"] = list(spec.drive_ids)
        rec["extra_urls"] = list(spec.extra_urls)
        rec["urls"] = [f"https://drive.google.com/uc?id={i}" for i in spec.drive_ids]
        out.append(rec)
    return out
