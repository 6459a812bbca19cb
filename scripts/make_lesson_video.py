"""Make the short lecture video of the shipped course (slides rendered by ffmpeg), with its
Vietnamese captions and poster, from the slides below (so picture and captions agree).

    apt-get install -y --no-install-recommends ffmpeg      # Debian's ffmpeg (libx264, libvpx)
    python scripts/make_lesson_video.py                     # writes into the lesson's video/ folder

Writes, beside each other (see docs/authoring.md, "Video and audio"):

    chuan-bi-thanh-tra.mp4      H.264, 640x360, 10 frames/s, no sound, "faststart" (plays while loading)
    chuan-bi-thanh-tra.webm     VP9, the same picture (browsers without H.264 pick it)
    chuan-bi-thanh-tra.vi.vtt   the captions, one per slide
    chuan-bi-thanh-tra.jpg      the poster (the first slide)

The video has no sound: the captions carry the narration. Re-run it after editing SLIDES,
then `mooc courses check`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "courses/nghiep-vu-thanh-tra/02-quy-trinh-thanh-tra/video"
NAME = "chuan-bi-thanh-tra"
FONT = ROOT / "static/fonts/DejaVuSans-vi.ttf"
FONT_BOLD = ROOT / "static/fonts/DejaVuSans-Bold-vi.ttf"
SIZE = (640, 360)
SECONDS_PER_SLIDE = 3.5
FOOTER = "Nghiệp vụ thanh tra cơ bản · Chương 2"

# (title, text on the slide, caption: what the narrator would say)
SLIDES = [
    ("Chuẩn bị một cuộc thanh tra", "Ba bước đầu tiên",
     "Một cuộc thanh tra thành hay bại\nphần lớn ở khâu chuẩn bị."),
    ("1. Kế hoạch thanh tra năm", "Thủ trưởng cơ quan thanh tra ban hành,\n"
     "thực hiện Định hướng chương trình thanh tra.",
     "Bước một: kế hoạch thanh tra năm,\ndo Thủ trưởng cơ quan thanh tra ban hành."),
    ("2. Quyết định thanh tra", "Phạm vi thanh tra:\nnội dung, đối tượng, thời kỳ.",
     "Bước hai: quyết định thanh tra\nxác định nội dung, đối tượng và thời kỳ."),
    ("3. Kế hoạch tiến hành thanh tra", "Trưởng đoàn xây dựng,\n"
     "người ra quyết định thanh tra phê duyệt.",
     "Bước ba: Trưởng đoàn lập kế hoạch tiến hành,\ntrình người ra quyết định phê duyệt."),
]


def timestamp(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes):02d}:{rest:06.3f}"


def captions() -> str:
    cues = ["WEBVTT", ""]
    for index, (_title, _text, caption) in enumerate(SLIDES):
        start = index * SECONDS_PER_SLIDE
        end = start + SECONDS_PER_SLIDE - 0.25
        cues += [f"{timestamp(start + 0.25)} --> {timestamp(end)}", caption, ""]
    return "\n".join(cues)


def _text_filter(textfile: Path, font: Path, size: int, y: str, start: float, end: float,
                 colour: str = "0x1b2a41") -> str:
    return (f"drawtext=fontfile='{font}':textfile='{textfile}':fontsize={size}:fontcolor={colour}:"
            f"line_spacing=8:x=40:y={y}:enable='between(t,{start},{end})'")


def filters(folder: Path) -> str:
    parts = []
    for index, (title, text, _caption) in enumerate(SLIDES):
        start, end = index * SECONDS_PER_SLIDE, (index + 1) * SECONDS_PER_SLIDE
        title_file = folder / f"title{index}.txt"
        text_file = folder / f"text{index}.txt"
        title_file.write_text(title, encoding="utf-8")
        text_file.write_text(text, encoding="utf-8")
        parts.append(_text_filter(title_file, FONT_BOLD, 30, "100", start, end))
        parts.append(_text_filter(text_file, FONT, 22, "170", start, end, "0x33404f"))
    footer = folder / "footer.txt"
    footer.write_text(FOOTER, encoding="utf-8")
    # at the top: the player's controls and the captions cover the bottom of the picture
    parts.append(_text_filter(footer, FONT, 16, "30", 0, len(SLIDES) * SECONDS_PER_SLIDE, "0x5a6472"))
    parts.append("drawbox=x=0:y=8:w=iw:h=2:color=0xd9dee6:t=fill")
    # a bar that grows with time (input 1 slides in from the left): seeking shows where one is
    bar = f"overlay=x='-w+w*t/{len(SLIDES) * SECONDS_PER_SLIDE}':y=0:shortest=1"
    return f"[0][1]{bar}," + ",".join(parts)


def run(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)  # noqa: S603, S607


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder to write into (default {OUT})")
    out: Path = parser.parse_args().out
    if shutil.which("ffmpeg") is None:
        print("ffmpeg is not installed: apt-get install -y --no-install-recommends ffmpeg", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    duration = len(SLIDES) * SECONDS_PER_SLIDE
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        source = ["-f", "lavfi", "-i", f"color=c=0xf7f4ec:s={SIZE[0]}x{SIZE[1]}:r=10:d={duration}",
                  "-f", "lavfi", "-i", f"color=c=0x1f5fa8:s={SIZE[0]}x8:r=10:d={duration}",
                  "-filter_complex", filters(folder)]
        run(*source, "-c:v", "libx264", "-profile:v", "main", "-pix_fmt", "yuv420p", "-crf", "30",
            "-tune", "stillimage", "-movflags", "+faststart", "-an", str(out / f"{NAME}.mp4"))
        run(*source, "-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "42", "-row-mt", "1", "-an",
            str(out / f"{NAME}.webm"))
        run("-ss", "1", "-i", str(out / f"{NAME}.mp4"), "-frames:v", "1", "-q:v", "5",
            str(out / f"{NAME}.jpg"))
    (out / f"{NAME}.vi.vtt").write_text(captions(), encoding="utf-8")
    for path in sorted(out.glob(f"{NAME}.*")):
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"{shown}: {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
