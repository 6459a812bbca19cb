"""Video and audio in lessons: what `check` says about the files and their captions, the
player the lesson shows, and how the files are served (types, Range, sign-in, cache)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from mooc import CONTENT_SECURITY_POLICY
from mooc.config import ConfigError, build_settings
from mooc.courses.check import check_tree
from mooc.courses.media import validate_vtt
from mooc.courses.models import Lesson, LessonProgress
from mooc.courses.render import render
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from tests.conftest import login
from tests.courses.tree import lesson, make_tree, write

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_VIDEO = ROOT / "courses/nghiep-vu-thanh-tra/02-quy-trinh-thanh-tra/video/chuan-bi-thanh-tra"

# The first bytes of each container (what browsers and `check` look at), then padding.
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 8
M4A = b"\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00M4A mp42isom" + bytes(range(256)) * 4
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm\x42\x87\x81\x04" + bytes(512)
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + bytes(1024)
AVI = b"RIFF\x24\x00\x00\x00AVI LIST" + bytes(512)
MKV = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska" + bytes(512)

CAPTIONS = """WEBVTT

00:00.000 --> 00:02.500
Thanh tra là hoạt động xem xét, đánh giá.

2
00:02.500 --> 00:05.000 align:center line:90%
<v Giảng viên>Bước một:</v> <i>kế hoạch năm</i>.
"""


def write_bytes(root: Path, relative: str, data: bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The sample tree, its first lesson showing a video with captions and a poster."""
    root = make_tree(tmp_path / "courses")
    write(root, "luat/01-co-ban/02-nguyen-tac.md", lesson(
        "Nguyên tắc",
        "## Mục 1\n\nTuân theo pháp luật.\n\n![Bài giảng về nguyên tắc](video/bai-giang.mp4)\n\n"
        "## Mục 2\n\nKhách quan.\n"))
    write_bytes(root, "luat/01-co-ban/video/bai-giang.mp4", MP4)
    write(root, "luat/01-co-ban/video/bai-giang.vi.vtt", CAPTIONS)
    return root


def problems(root: Path, **options: int) -> list[tuple[str, int, str, str]]:
    return [(p.path, p.line, p.severity, p.code) for p in check_tree(root, **options).problems]


def messages(root: Path) -> list[str]:
    return [p.format() for p in check_tree(root).problems]


VIDEO = "courses/luat/01-co-ban/video/bai-giang.mp4"
VTT = "courses/luat/01-co-ban/video/bai-giang.vi.vtt"


# --- captions: the WebVTT validator ------------------------------------------------------------


def vtt(text: str) -> list[tuple[int, str, str]]:
    return [(p.line, p.severity, p.code) for p in validate_vtt(text.encode())[1]]


def test_valid_captions_parse_into_cues():
    cues, found = validate_vtt(CAPTIONS.encode())
    assert found == []
    assert [(c.line, c.start, c.end) for c in cues] == [(3, 0.0, 2.5), (7, 2.5, 5.0)]
    assert "kế hoạch năm" in cues[1].text


def test_captions_with_bom_crlf_hours_notes_and_styles_are_valid():
    text = ("\ufeffWEBVTT - Bài giảng\r\nKind: captions\r\n\r\nSTYLE\r\n::cue { color: yellow }\r\n\r\n"
            "NOTE do không có tiếng\r\n\r\n01:00:00.000 --> 01:00:01.000 region:r1\r\nMột\r\n")
    assert vtt(text) == []


def test_a_file_without_the_webvtt_line_is_an_error():
    assert vtt("00:00.000 --> 00:01.000\nMột\n") == [(1, "error", "captions-header")]


def test_an_srt_file_is_named_as_such():
    srt = "1\n00:00:01,000 --> 00:00:02,000\nMột\n"
    [problem] = validate_vtt(srt.encode())[1]
    assert problem.line == 1 and "SRT" in problem.message and "WEBVTT" in problem.message


def test_each_timing_mistake_points_at_its_line():
    text = ("WEBVTT\n\n"
            "00:00:01,000 --> 00:00:02,000\nDấu phẩy\n\n"     # line 3: SRT comma
            "00:01.000 --> 00:00.500\nNgược\n\n"             # line 6: ends before it starts
            "00:61.000 --> 00:62.000\nSáu mươi mốt giây\n\n"  # line 9: 61 seconds
            "00:03.000 --> 00:04.000\nBa\n\n"                # line 12: fine
            "00:02.000 --> 00:05.000 color:red\nHai\n\n"     # line 15: out of order, unknown setting
            "cau-tiep\nKhông có dòng thời gian\n\n"           # line 18: a name without timing
            "00:06.0 --> 00:07.000\nMili giây\n")             # line 21: milliseconds need 3 digits
    assert vtt(text) == [
        (3, "error", "captions-timing"),
        (6, "error", "captions-order"),
        (9, "error", "captions-timing"),
        (15, "error", "captions-order"),
        (15, "warning", "captions-setting"),
        (18, "error", "captions-timing"),
        (21, "error", "captions-timing"),
    ]
    comma = validate_vtt(text.encode())[1][0]
    assert "dot before the milliseconds" in comma.message


def test_missing_blank_lines_and_unknown_tags():
    text = ("WEBVTT\n00:00.000 --> 00:01.000\nMột\n\n"        # line 2: no blank line after WEBVTT
            "00:01.000 --> 00:02.000\nHai <font>đỏ</font>\n"  # line 6: <font> is not WebVTT
            "00:02.000 --> 00:03.000\nBa\n")                  # line 7: a cue without a blank line
    assert vtt(text) == [
        (2, "error", "captions-blank-line"),
        (6, "warning", "captions-tag"),
        (7, "error", "captions-blank-line"),
    ]


def test_empty_captions_and_other_encodings():
    assert vtt("WEBVTT\n\n") == [(1, "error", "captions-empty")]
    assert vtt("WEBVTT\n\n00:00.000 --> 00:01.000\n\n") == [(3, "warning", "captions-empty")]
    [problem] = validate_vtt("WEBVTT\n\n00:00.000 --> 00:01.000\nThanh tra viên\n".encode("cp1258"))[1]
    assert (problem.line, problem.code) == (4, "captions-encoding")


# --- check: the files ------------------------------------------------------------------------


def test_a_video_with_captions_is_clean_and_its_captions_count_as_used(tree):
    assert problems(tree) == []
    write_bytes(tree, "luat/01-co-ban/video/bai-giang.webm", WEBM)  # the same lecture, another format
    write_bytes(tree, "luat/01-co-ban/video/bai-giang.jpg", b"\xff\xd8\xff\xe0" + bytes(64))  # its poster
    assert problems(tree) == []


def test_captions_are_asked_for(tree):
    (tree / "luat/01-co-ban/video/bai-giang.vi.vtt").unlink()
    assert problems(tree) == [(VIDEO, 1, "warning", "no-captions")]
    assert "add bai-giang.vi.vtt (WebVTT) beside it" in messages(tree)[0]


def test_caption_errors_come_with_the_caption_file_and_line(tree, app):
    write(tree, "luat/01-co-ban/video/bai-giang.vi.vtt", CAPTIONS.replace("00:02.500 --> 00:05.000",
                                                                          "00:02,500 --> 00:05,000"))
    assert problems(tree) == [(VTT, 7, "error", "captions-timing")]
    result = app.test_cli_runner().invoke(args=["courses", "check", str(tree)])
    assert result.exit_code == 1
    assert f"{VTT}:7: error: WebVTT dùng dấu chấm trước phần nghìn giây" in result.output
    assert " / times use a dot before the milliseconds" in result.output


def test_the_type_is_read_from_the_content_not_the_name(tree):
    write_bytes(tree, "luat/01-co-ban/video/bai-giang.mp4", AVI)
    [message] = messages(tree)
    assert message.startswith(f"{VIDEO}:1: error: tệp mang đuôi .mp4 nhưng nội dung là AVI")
    assert " / the file is named .mp4 but its content is AVI" in message
    write_bytes(tree, "luat/01-co-ban/video/bai-giang.mp4", b"%PDF-1.7\n" + bytes(100))
    assert problems(tree) == [(VIDEO, 1, "error", "media-type")]
    assert "content is PDF" in messages(tree)[0]


def test_each_format_is_recognised_and_a_renamed_matroska_is_not_webm(tree):
    write(tree, "luat/01-co-ban/03-nghe.md", lesson(
        "Nghe", "![Bài nói](audio/bai-noi.mp3)\n\n![Phỏng vấn](audio/phong-van.m4a)\n\n"
                "![Hiện trường](video/hien-truong.webm)\n"))
    write_bytes(tree, "luat/01-co-ban/audio/bai-noi.mp3", MP3)
    write_bytes(tree, "luat/01-co-ban/audio/phong-van.m4a", M4A)
    write_bytes(tree, "luat/01-co-ban/video/hien-truong.webm", WEBM)
    for name in ("audio/bai-noi.vi.vtt", "audio/phong-van.vi.vtt", "video/hien-truong.vi.vtt"):
        write(tree, f"luat/01-co-ban/{name}", CAPTIONS)
    assert problems(tree) == []
    write_bytes(tree, "luat/01-co-ban/video/hien-truong.webm", MKV)
    [message] = messages(tree)
    assert "hien-truong.webm:1: error: tệp mang đuôi .webm nhưng nội dung là Matroska" in message


def test_the_size_limit_is_a_setting(tree, make_app):
    big = MP4 + bytes(6 * 1024 * 1024)  # over the 5 MB of pictures: video has its own limit
    write_bytes(tree, "luat/01-co-ban/video/bai-giang.mp4", big)
    assert problems(tree) == []
    assert problems(tree, media_max_bytes=5 * 1024 * 1024) == [(VIDEO, 1, "error", "too-large")]
    app = make_app(MEDIA_MAX_MB=2)
    result = app.test_cli_runner().invoke(args=["courses", "check", str(tree)])
    assert result.exit_code == 1
    assert f"{VIDEO}:1: error: video nặng 6,0 MB, vượt giới hạn 2,0 MB (MOOC_MEDIA_MAX_MB)" in result.output
    assert " / the video is 6.0 MB; the limit is 2.0 MB (MOOC_MEDIA_MAX_MB)" in result.output
    with pytest.raises(ConfigError, match="MOOC_MEDIA_MAX_MB"):
        build_settings(environ={"MOOC_MEDIA_MAX_MB": "0"})
    assert build_settings(environ={"MOOC_MEDIA_MAX_MB": "50"}).media_max_mb == 50


def test_captions_that_belong_to_nothing_say_so(tree):
    write(tree, "luat/01-co-ban/video/bai-giang.tieng-viet.vtt", CAPTIONS)
    write(tree, "luat/01-co-ban/video/khac.vi.vtt", CAPTIONS)
    assert problems(tree) == [
        ("courses/luat/01-co-ban/video/bai-giang.tieng-viet.vtt", 1, "warning", "captions-language"),
        ("courses/luat/01-co-ban/video/khac.vi.vtt", 1, "warning", "captions-orphan"),
    ]


def test_a_video_no_lesson_shows_is_unused_and_a_title_is_required(tree):
    write_bytes(tree, "luat/01-co-ban/video/thua.mp4", MP4)
    write(tree, "luat/01-co-ban/video/thua.vi.vtt", CAPTIONS)
    assert problems(tree) == [("courses/luat/01-co-ban/video/thua.mp4", 1, "warning", "unused-file"),
                              ("courses/luat/01-co-ban/video/thua.vi.vtt", 1, "warning", "unused-file")]
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson("Nguyên tắc", "![](video/bai-giang.mp4)\n"))
    assert [m for m in messages(tree) if "error" in m] == [
        "courses/luat/01-co-ban/02-nguyen-tac.md:6: error: video 'video/bai-giang.mp4' chưa có tiêu đề: ghi "
        "tiêu đề giữa hai dấu ngoặc vuông / video 'video/bai-giang.mp4' has no title: give it one between "
        "the brackets [image-alt]"]


def test_the_shipped_course_has_a_small_real_video_with_vietnamese_captions():
    for suffix in (".mp4", ".webm"):
        data = SHIPPED_VIDEO.with_suffix(suffix).read_bytes()
        assert 10_000 < len(data) < 1024 * 1024
    cues, found = validate_vtt(SHIPPED_VIDEO.with_suffix(".vi.vtt").read_bytes())
    assert found == [] and len(cues) >= 3 and "thanh tra" in cues[0].text
    result = check_tree(ROOT / "courses")
    [media] = [m for path, m in result.links.media.items() if path.name == "chuan-bi-thanh-tra.mp4"]
    assert media.poster and [code for code, _url in media.captions] == ["vi"]
    assert [mime for _url, mime in media.alternates] == ["video/webm"]


# --- the player -------------------------------------------------------------------------------


@pytest.fixture
def site(make_app, tree):
    write_bytes(tree, "luat/01-co-ban/video/bai-giang.jpg", b"\xff\xd8\xff\xe0" + bytes(64))
    write_bytes(tree, "luat/01-co-ban/video/bai-giang.webm", WEBM)
    write(tree, "luat/01-co-ban/video/bai-giang.en.vtt", CAPTIONS)
    app = make_app(COURSES_DIR=str(tree))
    with app.app_context():
        sync_tree(tree)
        db.session.commit()
    return app


@pytest.fixture
def trainee(site, make_user):
    client = site.test_client()
    user = make_user(name="Nguyễn Văn An")
    assert login(client, user.email).status_code == 302
    return client, user


FILES = "/courses/luat/files/01-co-ban/video"


def test_the_lesson_shows_a_player_that_loads_nothing_until_play(site, trainee):
    client, _user = trainee
    page = client.get("/courses/luat/lessons/co-ban/nguyen-tac").get_data(as_text=True)
    figure = re.search(r'<figure class="lesson-media lesson-media-video">.*?</figure>', page, re.S).group(0)
    video = re.search(r"<video[^>]*>", figure).group(0)
    assert 'preload="none"' in video and "controls" in video and "autoplay" not in video
    assert f'poster="{FILES}/bai-giang.jpg"' in video
    assert 'aria-label="Bài giảng về nguyên tắc"' in video
    sources = re.findall(r'<source src="([^"]+)" type="([^"]+)">', figure)
    assert sources == [(f"{FILES}/bai-giang.mp4", "video/mp4"), (f"{FILES}/bai-giang.webm", "video/webm")]
    tracks = re.findall(r"<track[^>]*>", figure)
    assert len(tracks) == 2 and 'srclang="vi"' in tracks[0] and "default" in tracks[0]
    assert 'kind="captions"' in tracks[0] and 'label="Tiếng Việt"' in tracks[0]
    assert 'label="English"' in tracks[1]
    assert f'download="bai-giang.mp4" href="{FILES}/bai-giang.mp4"' in figure
    assert "Tải video xuống (MP4, 2 KB)" in figure and "Phụ đề tiếng Việt (văn bản)" in figure
    assert '<span class="lesson-media-title">Bài giảng về nguyên tắc</span>' in figure
    with site.app_context():  # the search text: the title, not the player's links
        text = db.session.scalar(sa.select(Lesson.text).where(Lesson.key == "co-ban/nguyen-tac"))
    assert "Bài giảng về nguyên tắc" in text and "Tải video" not in text and "Phụ đề" not in text


def test_audio_inline_media_and_raw_html_players(tree, make_app):
    write(tree, "luat/course.md", "---\ntitle: Law\ncode: LTT\nedition: 2026\nsummary: S.\nhours: 2\n"
                                  "language: en\n---\n\nIntro [one](01-co-ban/01-khai-niem.md).\n")
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson(
        "Nguyên tắc",
        "![Bài nói](audio/bai-noi.mp3)\n\nNghe ![đoạn ngắn](audio/bai-noi.mp3) rồi trả lời.\n\n"
        '<video autoplay preload="auto" src="https://example.com/x.mp4" onplay="alert(1)"></video>\n'))
    write_bytes(tree, "luat/01-co-ban/audio/bai-noi.mp3", MP3)
    write(tree, "luat/01-co-ban/audio/bai-noi.vtt", CAPTIONS)  # no language: the course's
    result = check_tree(tree)
    assert [p.code for p in result.errors] == []
    source = tree / "luat/01-co-ban/02-nguyen-tac.md"
    body = source.read_text(encoding="utf-8").split("---\n", 2)[2]
    path = source.resolve()
    html = render(body, result.links.resolver(path), result.links.media_resolver(path)).html
    block, inline, raw = html.split("\n")
    assert block.startswith('<figure class="lesson-media lesson-media-audio"><audio ')
    assert 'preload="none"' in block and 'srclang="en"' in block and 'label="English"' in block
    assert "Download the recording (MP3, 1 KB)" in block and "English captions (text)" in block
    assert inline.startswith("<p>Nghe <audio ") and '</audio><span class="lesson-media-links">' in inline
    assert inline.endswith("</span> rồi trả lời.</p>")
    assert raw == '<video preload="none"></video>'  # written by hand: stripped to nothing that plays


# --- serving the files ------------------------------------------------------------------------


def get(client, path: str, **headers: str) -> tuple[int, bytes, dict[str, str]]:
    with client.get(path, headers=headers) as response:
        return response.status_code, response.get_data(), dict(response.headers)


def test_media_is_served_with_its_type_and_answers_range_requests(site, trainee):
    client, user = trainee
    status, data, headers = get(client, f"{FILES}/bai-giang.mp4")
    assert status == 200 and data == MP4
    assert headers["Content-Type"] == "video/mp4" and headers["Accept-Ranges"] == "bytes"
    assert "private" in headers["Cache-Control"] and "max-age=3600" in headers["Cache-Control"]
    assert "no-store" not in headers["Cache-Control"]

    status, data, part = get(client, f"{FILES}/bai-giang.mp4", Range="bytes=100-199")
    assert status == 206 and data == MP4[100:200]
    assert part["Content-Range"] == f"bytes 100-199/{len(MP4)}"
    status, data, _ = get(client, f"{FILES}/bai-giang.mp4", Range="bytes=-16")
    assert status == 206 and data == MP4[-16:]
    assert get(client, f"{FILES}/bai-giang.mp4", Range=f"bytes={len(MP4) + 10}-")[0] == 416
    assert get(client, f"{FILES}/bai-giang.mp4", **{"If-None-Match": headers["ETag"]})[0] == 304

    assert get(client, f"{FILES}/bai-giang.webm")[2]["Content-Type"] == "video/webm"
    status, data, captions = get(client, f"{FILES}/bai-giang.vi.vtt")
    assert captions["Content-Type"] == "text/vtt; charset=utf-8" and data.startswith(b"WEBVTT")

    # Watching (or fetching) a video marks nothing: completion stays "marked done".
    with site.app_context():
        done = sa.select(sa.func.count()).select_from(LessonProgress).where(LessonProgress.user_id == user.id)
        assert db.session.scalar(done) == 0


def test_media_needs_a_session_like_every_course_file(site):
    client = site.test_client()
    for name in ("bai-giang.mp4", "bai-giang.vi.vtt"):
        status, _data, headers = get(client, f"{FILES}/{name}", Range="bytes=0-99")
        assert status == 302 and "/login" in headers["Location"]


def test_the_pages_policy_lets_same_origin_media_play(trainee):
    client, _user = trainee
    policy = client.get("/courses/luat/lessons/co-ban/nguyen-tac").headers["Content-Security-Policy"]
    assert policy == CONTENT_SECURITY_POLICY
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    media = directives.get("media-src", directives["default-src"])  # media-src falls back to default-src
    assert media == "'self'" and directives["img-src"].startswith("'self'")  # the poster


def test_players_written_in_html_are_warned_about(tree):
    body = '<video controls>\n<source src="video/bai-giang.mp4">\n</video>\n'
    write(tree, "luat/01-co-ban/03-html.md", lesson("HTML", body))
    assert problems(tree) == [("courses/luat/01-co-ban/03-html.md", 6, "warning", "raw-html"),
                              ("courses/luat/01-co-ban/03-html.md", 7, "warning", "raw-html")]
