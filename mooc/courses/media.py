"""Video and audio in lessons: `![Bài giảng](video/bai-giang.mp4)`.

What belongs together is found by name, beside the recording:

    video/bai-giang.mp4        the file the lesson links to
    video/bai-giang.webm       the same recording in another format (optional, offered too)
    video/bai-giang.vi.vtt     captions (WebVTT), one file per language; bai-giang.vtt = the course's
    video/bai-giang.jpg        the poster shown before play (optional; .jpeg, .png, .webp too)

``check`` (through ``check_course``) looks at what the files really are (their first bytes,
not only their names), their size (``MOOC_MEDIA_MAX_MB``), whether captions exist, and the
captions' syntax (``validate_vtt``: ``file:line`` problems). The renderer puts the player
(``media_element``) where the picture would be: ``preload="none"`` (a slow link loads nothing
until the trainee presses play), a captions track, and a download link. Lesson completion
stays "marked done": nothing here tracks what was watched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote
from xml.etree.ElementTree import Element, SubElement

from flask import has_app_context

from mooc.config import settings
from mooc.formats.problem import bilingual

if TYPE_CHECKING:
    from mooc.courses.format import CourseSource, Reporter

VIDEO_TYPES = {".mp4": "video/mp4", ".webm": "video/webm"}
AUDIO_TYPES = {".mp3": "audio/mpeg", ".m4a": "audio/mp4"}
MEDIA_TYPES = VIDEO_TYPES | AUDIO_TYPES
CAPTIONS_SUFFIX = ".vtt"
CAPTIONS_TYPE = "text/vtt"  # Flask adds "; charset=utf-8"
POSTER_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
# Served from a course folder besides pictures and attachments (format.ASSET_SUFFIXES adds them).
MEDIA_SUFFIXES = frozenset(MEDIA_TYPES) | {CAPTIONS_SUFFIX}
MEDIA_DIRS = frozenset({"video", "audio"})  # asset folders, like images/
DEFAULT_MAX_MB = 200
CAPTION_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$", re.IGNORECASE)

KIND_VI = {"video": "video", "audio": "bản ghi âm", "media": "tệp"}  # what authors call a recording
# What the file really is, by its first bytes: (kind, human name).
_EXPECTED = {".mp4": "mp4", ".m4a": "mp4", ".webm": "webm", ".mp3": "mp3"}
_NAMES = {
    "mp4": "MP4",
    "webm": "WebM",
    "mp3": "MP3",
    "matroska": "Matroska (.mkv)",
    "quicktime": "QuickTime (.mov)",
    "avi": "AVI",
    "wav": "WAV",
    "ogg": "Ogg",
    "flac": "FLAC",
    "asf": "Windows Media (.wmv/.wma)",
    "flv": "Flash video (.flv)",
    "mpeg-ts": "MPEG transport stream (.ts)",
    "mpeg-ps": "MPEG program stream (.mpg)",
    "pdf": "PDF",
    "zip": "ZIP (or an Office document)",
    "png": "PNG picture",
    "jpeg": "JPEG picture",
    "html": "HTML page",
    "vtt": "WebVTT text",
}
_NAMES_VI = _NAMES | {"zip": "ZIP (hoặc một tài liệu Office)", "png": "ảnh PNG", "jpeg": "ảnh JPEG",
                      "html": "trang HTML", "vtt": "văn bản WebVTT"}


def sniff(head: bytes) -> str | None:
    """The container a file's first bytes (64 or more) announce, or None if unknown."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "quicktime" if head[8:12] == b"qt  " else "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm" if b"webm" in head[:64] else "matroska"
    if head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    if head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"WAVE"):
        return "avi" if head[8:12] == b"AVI " else "wav"
    signatures = (
        (b"OggS", "ogg"),
        (b"fLaC", "flac"),
        (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "asf"),
        (b"FLV", "flv"),
        (b"\x00\x00\x01\xba", "mpeg-ps"),
        (b"%PDF", "pdf"),
        (b"PK\x03\x04", "zip"),
        (b"\x89PNG", "png"),
        (b"\xff\xd8\xff", "jpeg"),
        (b"WEBVTT", "vtt"),
        (b"\xef\xbb\xbfWEBVTT", "vtt"),
    )
    for magic, kind in signatures:
        if head.startswith(magic):
            return kind
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return "mpeg-ts"
    if head.lstrip()[:1] == b"<":
        return "html"
    return None


def mime_type(name: str) -> str | None:
    """The Content-Type a course file is served with, for media and captions (None: guess)."""
    suffix = Path(name).suffix.lower()
    if suffix == CAPTIONS_SUFFIX:
        return CAPTIONS_TYPE
    return MEDIA_TYPES.get(suffix)


def configured_max_bytes() -> int:
    """MOOC_MEDIA_MAX_MB of the running app (the default outside one), in bytes."""
    megabytes = settings().media_max_mb if has_app_context() else DEFAULT_MAX_MB
    return megabytes * 1024 * 1024


# --- captions: a small WebVTT validator ---------------------------------------------------------

_TIMESTAMP = r"(?:(\d{2,}):)?(\d{2}):(\d{2})\.(\d{3})"
TIMING_RE = re.compile(rf"^{_TIMESTAMP}[ \t]+-->[ \t]+{_TIMESTAMP}(?:[ \t]+(.*))?$")
SRT_TIMING_RE = re.compile(r"(?:\d+:)?\d{2}:\d{2},\d{3}\s*-->")
HEADER_RE = re.compile(r"^WEBVTT(?:[ \t].*)?$")
CUE_SETTINGS = {"vertical", "line", "position", "size", "align", "region"}
CUE_TAG_RE = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)")
CUE_TAGS = {"c", "i", "b", "u", "ruby", "rt", "v", "lang"}


@dataclass(frozen=True)
class CaptionProblem:
    line: int  # 1-based, in the caption file
    severity: str  # "error" | "warning"
    code: str
    message: str


@dataclass(frozen=True)
class Cue:
    line: int
    start: float  # seconds
    end: float
    text: str


def _seconds(hours: str | None, minutes: str, seconds: str, millis: str) -> float | None:
    if int(minutes) > 59 or int(seconds) > 59:
        return None
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def validate_vtt(raw: bytes) -> tuple[list[Cue], list[CaptionProblem]]:
    """Parse a WebVTT file the way browsers do, reporting what they would ignore or refuse."""
    return _VttReader().read(raw)


class _VttReader:
    """One caption file's cues and problems (``validate_vtt``)."""

    def __init__(self) -> None:
        self.problems: list[CaptionProblem] = []
        self.cues: list[Cue] = []
        self.seen_cue = False

    def error(self, line: int, code: str, message: str) -> None:
        self.problems.append(CaptionProblem(line, "error", code, message))

    def warning(self, line: int, code: str, message: str) -> None:
        self.problems.append(CaptionProblem(line, "warning", code, message))

    def read(self, raw: bytes) -> tuple[list[Cue], list[CaptionProblem]]:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as failure:
            self.error(raw[: failure.start].count(b"\n") + 1, "captions-encoding", bilingual(
                "tệp phụ đề không phải UTF-8: lưu lại với mã hóa UTF-8",
                "the caption file is not UTF-8: save it as UTF-8"))
            return self.cues, self.problems
        text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        if not self.header(lines):
            return self.cues, self.problems
        number = self.after_header(lines)
        while number < len(lines):
            if not lines[number].strip():
                number += 1
                continue
            start_line = number
            block: list[str] = []
            while number < len(lines) and lines[number].strip():
                block.append(lines[number])
                number += 1
            self.block(start_line, block)
        if not self.cues and not any(p.severity == "error" for p in self.problems):
            self.error(1, "captions-empty", bilingual("tệp phụ đề không có câu phụ đề nào",
                                                      "the caption file has no captions"))
        return self.cues, self.problems

    def header(self, lines: list[str]) -> bool:
        """Whether the file starts with 'WEBVTT' (reported when it does not)."""
        if HEADER_RE.match(lines[0]):
            return True
        if any(SRT_TIMING_RE.search(line) for line in lines[:5]):
            self.error(1, "captions-header", bilingual(
                "đây có vẻ là tệp SRT: tệp WebVTT bắt đầu bằng dòng 'WEBVTT' "
                "và thời gian dùng dấu chấm trước phần nghìn giây (00:00:01.000); "
                "hãy chuyển đổi, ví dụ `ffmpeg -i phu-de.srt phu-de.vi.vtt`",
                "this looks like an SRT file: a WebVTT file starts with the line "
                "'WEBVTT', and its times use a dot before the milliseconds "
                "(00:00:01.000); convert it, e.g. `ffmpeg -i captions.srt captions.vi.vtt`"))
        else:
            self.error(1, "captions-header", bilingual("tệp phụ đề WebVTT phải bắt đầu bằng dòng 'WEBVTT'",
                                                       "a WebVTT caption file must "
                                                       "start with the line 'WEBVTT'"))
        return False

    def after_header(self, lines: list[str]) -> int:
        """The index of the line after the header, which runs to the first empty line."""
        number = 1
        while number < len(lines) and lines[number].strip():
            if "-->" in lines[number]:
                self.error(number + 1, "captions-blank-line", bilingual(
                    "cần một dòng trống giữa 'WEBVTT' (cùng các dòng đầu tệp) và câu phụ đề đầu tiên",
                    "put an empty line between 'WEBVTT' (and its header) and the first caption"))
                break
            number += 1
        return number

    def block(self, start_line: int, block: list[str]) -> None:
        """One block of lines between empty lines: a note, a style or region, or a cue."""
        first = block[0]
        if re.match(r"^NOTE(?:[ \t]|$)", first):
            if any("-->" in line for line in block):
                self.error(start_line + 1, "captions-note", bilingual("khối NOTE không được chứa '-->'",
                                                                      "a NOTE block must not contain '-->'"))
            return
        if (not self.seen_cue and re.match(r"^(STYLE|REGION)(?:[ \t]|$)", first)
                and "-->" not in "".join(block)):
            return
        if re.match(r"^(STYLE|REGION)(?:[ \t]|$)", first) and "-->" not in first:
            block_name = first.split()[0]
            self.warning(start_line + 1, "captions-ignored", bilingual(
                f"khối {block_name} nằm sau câu phụ đề đầu tiên "
                "sẽ bị bỏ qua: chuyển nó lên trên các câu phụ đề",
                f"a {block_name} block after the first caption is ignored: move it above the captions"))
            return
        timing_index = 0 if "-->" in first else 1
        if timing_index >= len(block) or "-->" not in block[timing_index]:
            shown = first if len(first) <= 40 else first[:40] + "…"
            self.error(start_line + 1, "captions-timing", bilingual(
                f"'{shown}' không phải một câu phụ đề: câu phụ đề bắt đầu bằng dòng thời gian, "
                "ví dụ '00:00:01.000 --> 00:00:04.000' (dòng tên ở trên là không bắt buộc)",
                f"'{shown}' is not a caption: a caption starts with a timing line such as "
                "'00:00:01.000 --> 00:00:04.000' (a name on the line above is optional)"))
            return
        timing_line = start_line + timing_index + 1
        times = self.timing(timing_line, block[timing_index].strip())
        if times is not None:
            self.cue(timing_line, times, block[timing_index + 1:])

    def timing(self, timing_line: int, timing: str) -> tuple[float, float] | None:
        """A cue's start and end, or None (reported) when its timing line is wrong."""
        match = TIMING_RE.match(timing)
        if match is None:
            if SRT_TIMING_RE.search(timing):
                self.error(timing_line, "captions-timing", bilingual(
                    "WebVTT dùng dấu chấm trước phần nghìn giây (00:00:01.000), không dùng dấu phẩy như SRT",
                    "times use a dot before the milliseconds in WebVTT (00:00:01.000), not a comma (SRT)"))
            else:
                self.error(timing_line, "captions-timing", bilingual(
                    f"'{timing}' không phải dòng thời gian hợp lệ: viết 'mm:ss.ttt --> mm:ss.ttt' "
                    "hoặc 'hh:mm:ss.ttt --> hh:mm:ss.ttt' (phần nghìn giây đủ ba chữ số)",
                    f"'{timing}' is not a valid timing line: write 'mm:ss.ttt --> mm:ss.ttt' "
                    "or 'hh:mm:ss.ttt --> hh:mm:ss.ttt' (milliseconds with three digits)"))
            return None
        start = _seconds(*match.group(1, 2, 3, 4))
        end = _seconds(*match.group(5, 6, 7, 8))
        if start is None or end is None:
            self.error(timing_line, "captions-timing", bilingual(
                f"'{timing}': phút và giây chỉ từ 00 đến 59",
                f"'{timing}': minutes and seconds go from 00 to 59"))
            return None
        if end <= start:
            self.error(timing_line, "captions-order", bilingual(
                f"'{timing}': câu phụ đề kết thúc trước khi bắt đầu",
                f"'{timing}': the caption ends before it starts"))
        previous = self.cues[-1] if self.cues else None
        if previous is not None and start < previous.start:
            self.error(timing_line, "captions-order", bilingual(
                f"câu phụ đề này bắt đầu trước câu ở dòng {previous.line}: sắp các câu theo thứ tự thời gian",
                f"this caption starts before the one on line {previous.line}: put captions in time order"))
        known = ", ".join(sorted(CUE_SETTINGS))
        for setting in (match.group(9) or "").split():
            name = setting.split(":", 1)[0]
            if ":" not in setting or name not in CUE_SETTINGS:
                self.warning(timing_line, "captions-setting", bilingual(
                    f"'{setting}' không phải thiết lập của câu phụ đề nên bị "
                    f"bỏ qua (các thiết lập: {known}, viết dạng tên:giá-trị)",
                    f"'{setting}' is not a cue setting and is "
                    f"ignored (known: {known}, written as name:value)"))
        return start, end

    def cue(self, timing_line: int, times: tuple[float, float], payload: list[str]) -> None:
        """Check a cue's text, then keep the cue."""
        for offset, line in enumerate(payload, start=timing_line + 1):
            if "-->" in line:
                self.error(offset, "captions-blank-line", bilingual(
                    "một câu phụ đề mới bắt đầu ở đây mà không có dòng trống phía trước: thêm một dòng trống",
                    "a new caption starts here without an empty line before it: add one"))
                break
            for tag in dict.fromkeys(CUE_TAG_RE.findall(line)):  # once per line, <x> and </x> alike
                if tag.lower() not in CUE_TAGS:
                    self.warning(offset, "captions-tag", bilingual(
                        f"<{tag}> không phải thẻ WebVTT nên bị bỏ (chỉ dùng "
                        "<b>, <i>, <u>, <c>, <v>, <lang>, <ruby>, <rt>)",
                        f"<{tag}> is not a WebVTT tag and is dropped (only "
                        "<b>, <i>, <u>, <c>, <v>, <lang>, <ruby>, <rt>)"))
        if not any(line.strip() for line in payload):
            self.warning(timing_line, "captions-empty", bilingual("câu phụ đề này không có chữ",
                                                                  "this caption has no text"))
        self.cues.append(Cue(timing_line, times[0], times[1], "\n".join(payload)))
        self.seen_cue = True


# --- what belongs to a recording, and what check says about it --------------------------------


@dataclass(frozen=True)
class Media:
    """A recording as the renderer needs it: URLs, types, captions, poster, size."""

    kind: str  # "video" | "audio"
    url: str
    mime: str
    size: int
    language: str  # the course's: the language of the player's labels
    alternates: tuple[tuple[str, str], ...] = ()  # (url, mime): the same recording, other formats
    captions: tuple[tuple[str, str], ...] = ()  # (language, url)
    poster: str | None = None


def _kind(suffix: str) -> str | None:
    return "video" if suffix in VIDEO_TYPES else "audio" if suffix in AUDIO_TYPES else None


def kind_of(target: str) -> str | None:
    """'video' or 'audio' for a link target naming a recording, else None."""
    return _kind(Path(target.split("#", 1)[0].split("?", 1)[0]).suffix.lower())


@dataclass
class Companions:
    """The files that belong to a recording by name."""

    captions: dict[str, Path]  # language -> caption file
    alternates: list[Path]  # the same recording in the other formats of its kind
    poster: Path | None

    def files(self) -> set[Path]:
        return set(self.captions.values()) | set(self.alternates) | ({self.poster} if self.poster else set())


def companions(media: Path, assets: set[Path] | dict[Path, str], language: str) -> Companions:
    """Captions (``stem.LANG.vtt``; ``stem.vtt`` is in the course's language), the same
    recording in other formats (``stem.webm`` beside ``stem.mp4``) and the poster (``stem.jpg``)."""
    folder, stem, suffix = media.parent, media.stem, media.suffix.lower()
    captions: dict[str, Path] = {}
    if folder / f"{stem}{CAPTIONS_SUFFIX}" in assets:
        captions[language] = folder / f"{stem}{CAPTIONS_SUFFIX}"
    prefix = f"{stem}."
    for path in sorted(p for p in assets if p.parent == folder):
        name = path.name
        if name.startswith(prefix) and name.lower().endswith(CAPTIONS_SUFFIX):
            code = name[len(prefix):-len(CAPTIONS_SUFFIX)]
            if CAPTION_LANGUAGE_RE.match(code):
                captions[code.lower()] = path
    kind = _kind(suffix)
    alternates = [folder / f"{stem}{other}" for other in MEDIA_TYPES
                  if other != suffix and _kind(other) == kind and folder / f"{stem}{other}" in assets]
    poster = next((folder / f"{stem}{ext}" for ext in POSTER_SUFFIXES
                   if kind == "video" and folder / f"{stem}{ext}" in assets), None)
    return Companions(captions, alternates, poster)


def _caption_order(language: str):
    return lambda item: (item[0] != language, item[0] != "vi", item[0])


def media_map(course: CourseSource, urls: dict[Path, str]) -> dict[Path, Media]:
    """Every video and audio file of a course, resolved path -> Media (for the renderer)."""
    result: dict[Path, Media] = {}
    resolved = {asset.resolve(): asset for asset in course.assets}
    for path, asset in resolved.items():
        kind = _kind(path.suffix.lower())
        if kind is None or path not in urls:
            continue
        found = companions(path, urls, course.language)
        captions = sorted(((code, urls[p]) for code, p in found.captions.items()),
                          key=_caption_order(course.language))
        alternates = tuple((urls[p], MEDIA_TYPES[p.suffix.lower()]) for p in found.alternates)
        result[path] = Media(
            kind=kind, url=urls[path], mime=MEDIA_TYPES[path.suffix.lower()], size=asset.stat().st_size,
            language=course.language, alternates=alternates, captions=tuple(captions),
            poster=urls[found.poster] if found.poster else None,
        )
    return result


def check_course(course: CourseSource, report: Reporter, used: set[Path], max_bytes: int) -> None:
    """Media and caption files of one course: type by content, size, captions and their syntax.

    Files that belong to a recording a lesson uses (captions, poster, other formats) count
    as used, so they get no "unused file" warning.
    """
    assets = {asset.resolve() for asset in course.assets}
    for path in sorted(assets):
        suffix = path.suffix.lower()
        if suffix in MEDIA_TYPES:
            _check_recording(path, suffix, report, max_bytes, assets, course.language)
            if path in used:
                used.update(companions(path, assets, course.language).files())
        elif suffix == CAPTIONS_SUFFIX and not _check_captions(path, report, assets):
            used.add(path)  # said why already: not also "no lesson links to this file"


def _check_recording(path: Path, suffix: str, report: Reporter, max_bytes: int, assets: set[Path],
                     language: str) -> None:
    kind = _kind(suffix) or "media"
    size = path.stat().st_size
    if size > max_bytes:
        big, limit = _megabytes(size), _megabytes(max_bytes)
        report.error(path, 1, "too-large", bilingual(
            f"{KIND_VI[kind]} nặng {big.replace('.', ',')} MB, vượt giới hạn "
            f"{limit.replace('.', ',')} MB (MOOC_MEDIA_MAX_MB): hãy cắt ngắn, chia thành "
            "nhiều phần hoặc mã hóa lại với độ phân giải hay tốc độ bit thấp hơn",
            f"the {kind} is {big} MB; the limit is {limit} MB (MOOC_MEDIA_MAX_MB): "
            "shorten it, split it in parts or encode it at a lower resolution or bit rate"))
    with path.open("rb") as stream:
        head = stream.read(512)
    found = sniff(head)
    expected = _EXPECTED[suffix]
    if found != expected:
        what = _NAMES.get(found or "", "not a recording any browser plays")
        what_vi = _NAMES_VI.get(found or "", "không phải bản ghi mà trình duyệt phát được")
        command = f"`ffmpeg -i input {path.stem}{suffix}`"
        report.error(path, 1, "media-type", bilingual(
            f"tệp mang đuôi {suffix} nhưng nội dung là {what_vi}: trình duyệt sẽ không phát được. Hãy "
            f"chuyển đổi, ví dụ {command} (video: MP4 với H.264 và AAC, hoặc WebM; âm thanh: MP3 hoặc M4A)",
            f"the file is named {suffix} but its content is {what}: browsers would not play it. "
            f"Convert it, e.g. {command} (video: MP4 with H.264 and AAC, or WebM; audio: MP3 or M4A)"))
    if not companions(path, assets, language).captions:
        captions = f"{path.stem}.{language}.vtt"
        report.warning(path, 1, "no-captions", bilingual(
            f"{KIND_VI[kind]} chưa có phụ đề: thêm tệp {captions} (WebVTT) bên "
            "cạnh, cho người không nghe được hoặc không bật được loa ở nơi làm việc",
            f"the {kind} has no captions: add {captions} (WebVTT) beside it, "
            "for people who cannot hear it or cannot turn the sound on at work"))


def _check_captions(path: Path, report: Reporter, assets: set[Path]) -> bool:
    """Name and syntax of a caption file; False if it belongs to no recording."""
    name = path.name[: -len(CAPTIONS_SUFFIX)]
    stem, _, code = name.rpartition(".")
    owners = [path.parent / f"{candidate}{ext}" for candidate in ((stem, name) if stem else (name,))
              for ext in MEDIA_TYPES]
    owner = next((p for p in owners if p in assets), None)
    if owner is None:
        report.warning(path, 1, "captions-orphan", bilingual(
            "phụ đề này không thuộc video hay bản ghi âm nào: đặt tên "
            "theo bản ghi, ví dụ bai-giang.vi.vtt bên cạnh bai-giang.mp4",
            "these captions belong to no video or audio: name them after "
            "the recording, e.g. bai-giang.vi.vtt beside bai-giang.mp4"))
    elif stem and owner.stem == stem and not CAPTION_LANGUAGE_RE.match(code):
        report.warning(path, 1, "captions-language", bilingual(
            f"'{code}' không phải mã ngôn ngữ: đặt tên tệp là {stem}.vi.vtt (hoặc .en.vtt...)",
            f"'{code}' is not a language code: name the file {stem}.vi.vtt (or .en.vtt...)"))
        owner = None
    for problem in validate_vtt(path.read_bytes())[1]:
        method = report.error if problem.severity == "error" else report.warning
        method(path, problem.line, problem.code, problem.message)
    return owner is not None


def _megabytes(size: int) -> str:
    value = size / (1024 * 1024)
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


# --- the player, where the picture would be ----------------------------------------------------

LABELS = {
    "vi": {
        "video": "Tải video xuống ({format}, {size})",
        "audio": "Tải bản ghi âm xuống ({format}, {size})",
        "captions": "Phụ đề {language} (văn bản)",
        "fallback": "Trình duyệt này không phát được tệp này: hãy tải xuống.",
    },
    "en": {
        "video": "Download the video ({format}, {size})",
        "audio": "Download the recording ({format}, {size})",
        "captions": "{language} captions (text)",
        "fallback": "This browser cannot play the file: download it instead.",
    },
}
LANGUAGE_NAMES = {
    "vi": {"vi": "tiếng Việt", "en": "tiếng Anh", "fr": "tiếng Pháp", "zh": "tiếng Trung",
           "km": "tiếng Khmer", "lo": "tiếng Lào"},
    "en": {"vi": "Vietnamese", "en": "English", "fr": "French", "zh": "Chinese", "km": "Khmer", "lo": "Lao"},
}
TRACK_LABELS = {"vi": "Tiếng Việt", "en": "English", "fr": "Français", "zh": "中文", "km": "ខ្មែរ",
                "lo": "ລາວ"}  # each language named in itself
FORMAT_NAMES = {"video/mp4": "MP4", "video/webm": "WebM", "audio/mpeg": "MP3", "audio/mp4": "M4A"}

# The classes the player's markup uses (render.py keeps them through the sanitiser).
MEDIA_CLASSES = frozenset({"lesson-media", "lesson-media-video", "lesson-media-audio", "lesson-media-title",
                           "lesson-media-links", "lesson-media-download", "lesson-media-captions"})


def human_size(size: int, language: str) -> str:
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    text = f"{size / (1024 * 1024):.1f} MB"
    return text.replace(".", ",") if language == "vi" else text


def media_element(media: Media, title: str, *, block: bool) -> list[Element]:
    """The player and its links: one <figure> (block) or a <video>/<audio> and a <span> (inline)."""
    labels = LABELS.get(media.language, LABELS["vi"])
    names = LANGUAGE_NAMES.get(media.language, LANGUAGE_NAMES["vi"])
    player = Element(media.kind, {"controls": "controls", "preload": "none"})
    if media.kind == "video":
        player.set("playsinline", "playsinline")
        if media.poster:
            player.set("poster", media.poster)
    if title:
        player.set("aria-label", title)
    for url, mime in ((media.url, media.mime), *media.alternates):
        SubElement(player, "source", {"src": url, "type": mime})
    for index, (code, url) in enumerate(media.captions):
        track = SubElement(player, "track", {"kind": "captions", "src": url, "srclang": code,
                                             "label": TRACK_LABELS.get(code, code)})
        if index == 0:
            track.set("default", "default")
    fallback = SubElement(player, "a", {"href": media.url})
    fallback.text = labels["fallback"]

    links = Element("span", {"class": "lesson-media-links"})
    download = SubElement(links, "a", {"href": media.url, "download": unquote(media.url.rsplit("/", 1)[-1]),
                                                 "class": "lesson-media-download"})
    download.text = labels[media.kind].format(format=FORMAT_NAMES.get(media.mime, ""),
                                              size=human_size(media.size, media.language))
    previous = download
    for code, url in media.captions:
        previous.tail = " · "
        previous = SubElement(links, "a", {"href": url, "class": "lesson-media-captions", "hreflang": code})
        previous.text = labels["captions"].format(language=names.get(code, code))
    if not block:
        links.text = " "
        return [player, links]
    figure = Element("figure", {"class": f"lesson-media lesson-media-{media.kind}"})
    figure.append(player)
    caption = SubElement(figure, "figcaption")
    if title:
        name = SubElement(caption, "span", {"class": "lesson-media-title"})
        name.text = title
        name.tail = " "
    caption.append(links)
    return [figure]
