"""What the worker makes of an upload: a PDF's pages as PNG images (pdfium, so the viewer needs
no PDF engine in the browser and works under the strict CSP) with each page's text for search;
a video's poster frame (Debian's ffmpeg); and the thumbnail emails show, the poster (or the
uploaded thumbnail) with a play button drawn on it, since email clients cannot overlay one."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pypdfium2
from PIL import Image, ImageDraw

# Pages are rendered this wide (pixels): sharp on a laptop, a few hundred KB a page.
PAGE_WIDTH = 1200
EMAIL_IMAGE_WIDTH = 480
FFMPEG_SECONDS = 120
MAX_TEXT_PER_PAGE = 20_000


class Unprocessable(Exception):
    """The stored file cannot be turned into pages or a poster (the reason is shown)."""


@dataclass(frozen=True)
class RenderedPage:
    number: int
    path: Path
    width: int
    height: int
    text: str


def render_pdf(source: Path, folder: Path, on_page=lambda number, total: None) -> list[RenderedPage]:
    """Render every page of ``source`` to ``folder/<n>.png`` and read its text."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        pdf = pypdfium2.PdfDocument(str(source))
    except pypdfium2.PdfiumError as problem:
        raise Unprocessable(f"the PDF cannot be opened: {problem}") from None
    rendered = []
    try:
        total = len(pdf)
        for index in range(total):
            page = pdf[index]
            try:
                width_points = page.get_width() or 1
                bitmap = page.render(scale=PAGE_WIDTH / width_points, rev_byteorder=True)  # RGB: no BGR swap
                image = bitmap.to_pil()
                target = folder / f"{index + 1}.png"
                image.save(target, format="PNG", compress_level=3)  # optimize=True cost 15x the render
                text_page = page.get_textpage()
                text = text_page.get_text_range()[:MAX_TEXT_PER_PAGE]
                text_page.close()
                rendered.append(RenderedPage(index + 1, target, image.width, image.height, text.replace("\x00", "")))
            finally:
                page.close()
            on_page(index + 1, total)
    finally:
        pdf.close()
    return rendered


def extract_poster(source: Path, target: Path, duration: float | None) -> Path:
    """The frame a second in (or at the start of a shorter video) as a JPEG."""
    at = 1.0 if duration is None or duration > 2 else 0.0
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", f"{at}", "-i", str(source), "-frames:v", "1",
             "-vf", "scale='min(1280,iw)':-2", "-q:v", "3", str(target)],
            capture_output=True, timeout=FFMPEG_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as problem:
        raise Unprocessable(f"ffmpeg could not run: {problem}") from None
    if done.returncode != 0 or not target.is_file():
        raise Unprocessable("no frame could be extracted: " + done.stderr.decode(errors="replace")[-300:])
    return target


def email_image(source: Path | None, target: Path) -> Path:
    """``source`` scaled to the email width with a round play button in the middle (a plain
    dark 16:9 card when there is no picture)."""
    if source is not None:
        with Image.open(source) as opened:
            picture = opened.convert("RGB")
        height = max(1, round(picture.height * EMAIL_IMAGE_WIDTH / picture.width))
        picture = picture.resize((EMAIL_IMAGE_WIDTH, height))
    else:
        picture = Image.new("RGB", (EMAIL_IMAGE_WIDTH, EMAIL_IMAGE_WIDTH * 9 // 16), (32, 41, 56))
    overlay = Image.new("RGBA", picture.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    cx, cy = picture.width // 2, picture.height // 2
    radius = max(18, min(picture.size) // 6)
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(0, 0, 0, 150),
                 outline=(255, 255, 255, 230), width=max(2, radius // 12))
    side = radius
    draw.polygon([(cx - side * 0.35, cy - side * 0.5), (cx - side * 0.35, cy + side * 0.5), (cx + side * 0.55, cy)],
                 fill=(255, 255, 255, 240))
    target.parent.mkdir(parents=True, exist_ok=True)
    Image.alpha_composite(picture.convert("RGBA"), overlay).convert("RGB").save(target, format="JPEG", quality=85)
    return target
