"""A synthetic corpus of burned-in and clean images, made at test time (nothing of it is committed as images).

Each case is drawn with Pillow from a seed: a background (ultrasound speckle in a fan, a grey secondary capture,
an endoscopy disc, an "other" gradient; RGB or grey; five frame sizes), and for a burned-in case the patient's
name (Latin, or Japanese in IPA Gothic), an ID and a date, in DejaVu faces of 11 to 26 pixels, white, grey or
coloured, in a corner band or over the image; legible as a device draws it (at least 60 grey levels above the
90th percentile of what lies under it, or on a dark label box where the image is too bright for that). A clean
case has the same backgrounds and, half the time,
harmless device text (5.0MHz, GAIN 48, depth marks). Every identifying item keeps the mask of its own ink, so
a test can tell whether what was masked covers it.

Fonts are Debian's fonts-dejavu-core and fonts-ipafont-gothic (scripts/test.sh installs them).
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
LATIN_FONTS = [DEJAVU / name for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf",
                                          "DejaVuSansMono-Bold.ttf", "DejaVuSerif.ttf")]  # fmt: skip
JAPANESE_FONT = Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf")
KINDS = ("US-RGB", "US-grey", "SC", "ES", "OT")
SIZES = ((480, 640), (600, 800), (768, 1024), (384, 512), (512, 512))  # rows, columns
FAMILIES = ["YAMADA", "SUZUKI", "TANAKA", "WATANABE", "NAKAMURA", "KOBAYASHI", "GARCIA", "JOHNSON", "MILLER",
            "FERNANDEZ", "OKONKWO", "PETERSEN"]  # fmt: skip
GIVENS = ["TARO", "HANAKO", "KENJI", "YUMIKO", "MARIA", "ROBERT", "ELENA", "THOMAS", "AKIRA", "SOFIA"]
JAPANESE_NAMES = [("山田", "太郎"), ("鈴木", "花子"), ("田中", "健二"), ("渡辺", "由美子"), ("中村", "明"),
                  ("小林", "誠"), ("佐藤", "恵子"), ("高橋", "一郎")]  # fmt: skip
LEGIBLE = 60  # grey levels between the text and the 90th percentile of what lies under it
HARMLESS = ["5.0MHz", "GAIN 48", "DR 60", "FR 24Hz", "ABD", "L", "R", "10cm", "C5-2", "MI 0.9", "TIS 0.4", "PW"]


@dataclass
class Case:
    name: str
    image: bytes  # PNG
    burned: bool
    identifiers: dict[str, str]  # PatientName, PatientID, dates (DA): what the instance's header would hold
    items: list[np.ndarray] = field(default_factory=list)  # the ink of each identifying item (bool, rows x cols)


def corpus(count: int, seed: int = 19) -> list[Case]:
    """`count` burned-in cases and `count` clean ones, interleaved, the same for the same seed."""
    rng = random.Random(seed)
    cases = []
    for index in range(count):
        cases.append(_case(rng, index, burned=True))
        cases.append(_case(rng, index, burned=False))
    return cases


def _case(rng: random.Random, index: int, *, burned: bool) -> Case:
    kind = KINDS[index % len(KINDS)]
    rows, columns = SIZES[rng.randrange(len(SIZES))]
    picture = _background(rng, kind, rows, columns)
    family, given = rng.choice(FAMILIES), rng.choice(GIVENS)
    kanji = rng.choice(JAPANESE_NAMES)
    year, month, day = rng.randrange(1990, 2026), rng.randrange(1, 13), rng.randrange(1, 29)
    patient_id = str(rng.randrange(10**6, 10**9))
    identifiers = {"PatientName": f"{family}^{given}={kanji[0]}^{kanji[1]}", "PatientID": patient_id,
                   "StudyDate": f"{year:04d}{month:02d}{day:02d}"}  # fmt: skip
    case = Case(f"{index:03d}-{kind}-{'burned' if burned else 'clean'}", b"", burned, identifiers)
    draw = ImageDraw.Draw(picture)
    if burned:
        japanese = rng.random() < 0.35
        name = f"{kanji[0]} {kanji[1]}" if japanese else rng.choice(
            [f"{family}^{given}", f"{family}, {given}", f"{given.title()} {family.title()}", f"{family} {given}"])
        texts = [name, rng.choice([f"ID: {patient_id}", f"MRN {patient_id}", patient_id, f"PID:{patient_id}"]),
                 rng.choice([f"{year}/{month:02d}/{day:02d}", f"{day:02d}.{month:02d}.{year}",
                             f"{year}-{month:02d}-{day:02d}", f"{year}年{month}月{day}日"])]  # fmt: skip
        fonts = [JAPANESE_FONT if japanese else rng.choice(LATIN_FONTS), rng.choice(LATIN_FONTS),
                 JAPANESE_FONT if "年" in texts[2] else rng.choice(LATIN_FONTS)]  # fmt: skip
        case.items = _write(rng, picture, draw, texts, fonts)
    elif rng.random() < 0.5:
        _write(rng, picture, draw, rng.sample(HARMLESS, 3), [rng.choice(LATIN_FONTS)] * 3)
    case.image = _png(picture)
    return case


def _background(rng: random.Random, kind: str, rows: int, columns: int) -> Image.Image:
    noise = np.random.default_rng(rng.randrange(2**32))
    y, x = np.mgrid[0:rows, 0:columns]
    if kind.startswith("US"):
        grey = np.zeros((rows, columns))
        apex = (rows * 0.08, columns / 2)
        radius = np.hypot(y - apex[0], x - apex[1])
        angle = np.arctan2(x - apex[1], y - apex[0])
        fan = (radius < rows * 0.85) & (np.abs(angle) < 0.6) & (y > apex[0])
        grey[fan] = noise.gamma(1.5, 40, size=fan.sum())
        grey = np.clip(grey, 0, 255)
    elif kind == "ES":
        grey = np.hypot(y - rows / 2, x - columns / 2) < min(rows, columns) * 0.45
        grey = grey * (120 + 60 * np.sin(x / 23.0) * np.cos(y / 31.0)) + noise.normal(0, 8, (rows, columns))
    elif kind == "SC":
        grey = 40 + 150 * (x / columns) * (y / rows) + noise.normal(0, 10, (rows, columns))
    else:
        grey = 90 + 60 * np.sin(x / 40.0 + y / 55.0) + noise.normal(0, 15, (rows, columns))
    grey = np.clip(grey, 0, 255).astype(np.uint8)
    if kind in ("US-RGB", "ES") or (kind == "SC" and rng.random() < 0.5):
        tint = np.array([1.0, 0.55, 0.45]) if kind == "ES" else np.array([1.0, 1.0, 1.0])
        return Image.fromarray((grey[..., None] * tint).astype(np.uint8), "RGB")
    return Image.fromarray(grey, "L")


def _write(rng: random.Random, picture: Image.Image, draw: ImageDraw.ImageDraw, texts: list[str],
           fonts: list[Path]) -> list[np.ndarray]:  # fmt: skip
    """Write each text; return the ink mask of each."""
    columns, rows = picture.size
    size = rng.randrange(11, 27) if columns > 520 else rng.randrange(11, 20)
    over = rng.random() < 0.3  # over the image rather than in a corner band
    x = rng.randrange(5, max(6, columns // 2)) if over else rng.choice([6, columns // 2 + 10])
    y = rng.randrange(rows // 4, rows // 2) if over else rng.choice([6, rows - 4 * (size + 6) - 6])
    inks = []
    grey = np.asarray(picture.convert("L"))
    for text, path in zip(texts, fonts, strict=True):
        font = ImageFont.truetype(str(path), size)
        ink = Image.new("L", picture.size, 0)
        ImageDraw.Draw(ink).text((x, y), text, fill=255, font=font)
        box = ink.getbbox() or (x, y, x + 1, y + 1)
        under = int(np.percentile(grey[box[1] : box[3], box[0] : box[2]], 90))
        # Legible, as a device draws it: at least LEGIBLE above what lies under it, or on a dark label box.
        level = max(rng.choice([255, 230, 200, 170]), min(255, under + LEGIBLE))
        if under + LEGIBLE > 255:
            draw.rectangle((box[0] - 2, box[1] - 2, box[2] + 2, box[3] + 2), fill=0)
        colour: int | tuple[int, int, int] = level
        if picture.mode == "RGB":
            colour = rng.choice([(level, level, level), (level, level, 0), (0, level, level), (0, level, 0)])
        draw.text((x, y), text, fill=colour, font=font)
        inks.append(np.asarray(ink) > 96)
        y += size + rng.randrange(4, 10)
    return inks


def _png(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()
