"""A re-identification data set from real typefaces: one identity per character, one sample per typeface.

Run: node scripts/py.mjs bench/datasets/glyphs.py --out DIR [--identities 200] [--size 64] [--seed 0]

The typefaces are the TrueType fonts matplotlib ships in its wheel (mpl-data/fonts/ttf): DejaVu Sans,
DejaVu Serif and DejaVu Sans Mono in four weights/styles each, and STIX General in four (16 in all), so
nothing is downloaded. The characters are Latin upper and lower case, digits, Greek, Cyrillic and
symbols, without the letters that are drawn the same as another one in the list (Greek capital Alpha
is Latin A, Cyrillic small o is Latin o, ...), and only those that every typeface has (217 of them;
STIX's italics lack most mathematical symbols). Mirror pairs stay
in on purpose (b/d, p/q, ( and ), < and >, ← and →): a horizontal flip turns one identity into another.

Each sample is the character drawn at a fixed size on a fixed baseline (so c and C still differ in
size), black on white, with a small random rotation, scale and offset, rendered at twice the size and
downsampled. Writes DIR/images/*.png and DIR/dataset.csv (image,label; labels are code points such as
u0041). The same seed writes the same files.
"""

import argparse
import csv
import random
import sys
import time
from pathlib import Path

import matplotlib
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

FONTS = [
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-BoldItalic.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
    "STIXGeneral.ttf",
    "STIXGeneralBol.ttf",
    "STIXGeneralItalic.ttf",
    "STIXGeneralBolIta.ttf",
]

LATIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789ÆæŒœßÐðÞþØøŁłĦħ"
# Greek without the letters drawn as Latin ones (Α Β Ε Ζ Η Ι Κ Μ Ν Ο Ρ Τ Υ Χ ο)
GREEK = "ΓΔΘΛΞΠΣΦΨΩαβγδεζηθικλμνξπρσςτυφχψω"
# Cyrillic without the letters drawn as Latin or Greek ones (А В Е К М Н О Р С Т У Х Г П Ф а е о р с у х ћ ...)
CYRILLIC = "БДЖЗИЙЛЦЧШЩЪЫЬЭЮЯбвгджзийклмнптфцчшщъыьэюяЂЉЊЋЏђљњџЄєЇїҐґЎў"
SYMBOLS = "+-×÷=<>≤≥≠≈±%&@#$€£¥§¶©®?!¿¡*/\\|()[]{}~^∞√∫∂∇∈∉∩∪⊂⊃→←↑↓↔⇒⇐♠♣♥♦†‡•°µ‰¢¤¬∀∃∅∧∨⊕⊗⊥∠≡∼"
CANDIDATES = LATIN + GREEK + CYRILLIC + SYMBOLS


def font_dir() -> Path:
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def available(chars: str, fonts: list[Path]) -> list[str]:
    """The characters (in order, without repeats) that every font maps to a glyph."""
    cmaps = [TTFont(f, lazy=True).getBestCmap() for f in fonts]
    seen: list[str] = []
    for c in chars:
        if c not in seen and all(ord(c) in cmap for cmap in cmaps):
            seen.append(c)
    return seen


def render(char: str, font: ImageFont.FreeTypeFont, size: int, rng: random.Random) -> Image.Image:
    big = 2 * size
    img = Image.new("L", (big, big), 255)
    # centred horizontally, on a baseline at 72 % of the height (room for descenders)
    ImageDraw.Draw(img).text((big / 2, 0.72 * big), char, font=font, fill=0, anchor="ms")
    angle = rng.uniform(-8.0, 8.0)
    scale = rng.uniform(0.9, 1.1)
    dx, dy = rng.uniform(-0.05, 0.05) * big, rng.uniform(-0.05, 0.05) * big
    img = img.rotate(angle, resample=Image.Resampling.BICUBIC, center=(big / 2, big / 2), fillcolor=255)
    side = big / scale  # the part of the canvas that fills the output: a scale > 1 enlarges the glyph
    left, top = (big - side) / 2 - dx, (big - side) / 2 - dy
    img = img.transform(
        (big, big),
        Image.Transform.EXTENT,
        (left, top, left + side, top + side),
        resample=Image.Resampling.BICUBIC,
        fillcolor=255,
    )
    return img.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder to write images/ and dataset.csv into")
    ap.add_argument(
        "--identities", type=int, default=200, help="characters to draw (a seeded choice among those available)"
    )
    ap.add_argument("--size", type=int, default=64, help="side of the square images in pixels")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    start = time.perf_counter()
    fonts = [font_dir() / name for name in FONTS]
    missing = [str(f) for f in fonts if not f.exists()]
    if missing:
        sys.exit(f"matplotlib's fonts are missing: {missing}")
    chars = available(CANDIDATES, fonts)
    rng = random.Random(args.seed)
    if args.identities > len(chars):
        sys.exit(f"only {len(chars)} characters are in every typeface; asked for {args.identities}")
    chars = sorted(rng.sample(chars, args.identities), key=ord)
    faces = [ImageFont.truetype(str(f), size=round(1.2 * args.size)) for f in fonts]

    out = Path(args.out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for c in chars:
        label = f"u{ord(c):04x}"
        for i, face in enumerate(faces):
            name = f"images/{label}_{i:02d}.png"
            render(c, face, args.size, rng).save(out / name)
            rows.append((name, label))
    with open(out / "dataset.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["image", "label"])
        writer.writerows(rows)
    print(
        f"{len(chars)} characters × {len(faces)} typefaces = {len(rows)} images of {args.size} px "
        f"in {out} ({time.perf_counter() - start:.1f} s); characters: {''.join(chars)}"
    )


if __name__ == "__main__":
    main()
