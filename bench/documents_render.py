"""How long the worker takes per page of a PDF: ``crm.documents.render.render_pdf`` (pdfium
bitmap at 1200 px wide, PNG encoding, the page's text) against pdfium's bare bitmap render of
the same pages in the same run, and the ratio (what PNG and text cost on top of rasterising).
Also the poster frame of a 10-second 1280x720 MP4 made by ffmpeg's test source.

    .venv/bin/python bench/documents_render.py [--pages 40]
"""
from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import pypdfium2

from crm.documents import render
from crm.documents.samples import sample_pdf


def bare_render(path: Path) -> None:
    pdf = pypdfium2.PdfDocument(str(path))
    for index in range(len(pdf)):
        page = pdf[index]
        page.render(scale=render.PAGE_WIDTH / page.get_width())
        page.close()
    pdf.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "doc.pdf"
        source.write_bytes(sample_pdf([f"Page {n}: the quarterly proposal, scope and prices" for n in
                                       range(1, args.pages + 1)]))
        started = time.perf_counter()
        bare_render(source)
        bare = time.perf_counter() - started
        started = time.perf_counter()
        pages = render.render_pdf(source, Path(folder) / "pages")
        full = time.perf_counter() - started
        size = sum(p.path.stat().st_size for p in pages) / len(pages)
        print(f"{args.pages} pages: worker {full / args.pages * 1000:.1f} ms/page, bare pdfium render "
              f"{bare / args.pages * 1000:.1f} ms/page, ratio {full / bare:.1f}; {size / 1024:.0f} KB PNG per page")
        video = Path(folder) / "clip.mp4"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc=duration=10:size=1280x720:rate=25", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                        str(video)], check=True)
        started = time.perf_counter()
        render.extract_poster(video, Path(folder) / "poster.jpg", 10.0)
        render.email_image(Path(folder) / "poster.jpg", Path(folder) / "email.jpg")
        print(f"poster + email thumbnail of a 10 s 720p MP4: {(time.perf_counter() - started) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
