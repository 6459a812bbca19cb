"""Journey 4: an author edits a lesson and a quiz in the courses folder, runs `mooc courses check`
(which finds their mistake, by file and line), fixes it, runs `mooc courses sync`, and sees the
change in the browser; the demo trainee's progress is still there.

The files edited are the e2e app's own copy of courses/ (MOOC_COURSES_DIR), never the real
ones; the commands run in processes of their own, with the app's environment. The app does
not re-sync by itself (MOOC_ENV=testing, as in production): nothing changes before the sync.
"""

from __future__ import annotations

import re
import shutil

from playwright.sync_api import expect

from tests.e2e.pages import HomePage, go, sign_in

TRAINEE = "hocvien@example.vn"
LESSON_FILE = "nghiep-vu-thanh-tra/01-he-thong-thanh-tra/01-thanh-tra-la-gi.md"
QUIZ_FILE = "nghiep-vu-thanh-tra/01-he-thong-thanh-tra/09-kiem-tra.quiz.md"
LESSON = "/courses/nghiep-vu-thanh-tra/lessons/he-thong-thanh-tra/thanh-tra-la-gi"
QUIZ = "/courses/nghiep-vu-thanh-tra/quizzes/he-thong-thanh-tra/kiem-tra"

NEW_SECTION = """## Ghi nhớ trong một phút

Luật Thanh tra số 84/2025/QH15 có hiệu lực từ ngày 01/7/2025. Khi gặp một việc mới, hãy hỏi
trước: việc này có thuộc phạm vi thanh tra của cơ quan mình theo luật mới hay không.

"""
NEW_QUESTION = """
## Luật Thanh tra 2025 gồm bao nhiêu chương?{key}

- [ ] 8 chương
- [x] 9 chương
- [ ] 10 chương

> Luật Thanh tra số 84/2025/QH15 gồm 9 chương, 64 điều.
"""


def test_author_edits_checks_syncs_and_progress_stays(browsing, live) -> None:
    trainee = browsing.new_page()
    sign_in(trainee, TRAINEE, "matkhau-demo")
    card = HomePage(trainee).card("Khóa học bắt buộc", "Nghiệp vụ thanh tra cơ bản")
    progress_before = card.locator(".progress-text").inner_text()
    go(trainee, LESSON)
    expect(trainee.locator("header .status-done")).to_have_text("✓ Đã xong")
    expect(trainee.get_by_role("heading", name="Ghi nhớ trong một phút")).to_have_count(0)
    go(trainee, QUIZ)
    expect(trainee.locator("ul.facts")).to_contain_text("11 câu hỏi")
    expect(trainee.locator("ul.facts")).to_contain_text("Điểm đạt: 80%")

    # The author adds a section to the lesson, and a question (without its key: a slip) to the quiz,
    # lowers the pass mark and asks one more of the pool's questions in each attempt.
    lesson_path = live.courses_dir / LESSON_FILE
    text = lesson_path.read_text(encoding="utf-8")
    lesson_path.write_text(text.replace("## Tự kiểm tra nhanh", NEW_SECTION + "## Tự kiểm tra nhanh", 1),
                           encoding="utf-8")
    quiz_path = live.courses_dir / QUIZ_FILE
    quiz = quiz_path.read_text(encoding="utf-8").replace("pass_percent: 80", "pass_percent: 70", 1)
    quiz = quiz.replace("draw: 11", "draw: 12", 1)
    quiz_path.write_text(quiz + NEW_QUESTION.format(key=""), encoding="utf-8")

    checked = live.mooc("courses", "check")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    line = quiz.count("\n") + 2  # the new heading, after the blank line that opens the addition
    assert f"courses/{QUIZ_FILE}:{line}: error: câu hỏi chưa có khóa" in checked.stdout, checked.stdout
    assert " / the question has no key" in checked.stdout  # Vietnamese first, English after

    # The trainee sees nothing of it yet.
    trainee.reload()
    expect(trainee.locator("ul.facts")).to_contain_text("11 câu hỏi")

    # Fixed, checked, synced.
    quiz_path.write_text(quiz + NEW_QUESTION.format(key=" {#so-chuong}"), encoding="utf-8")
    checked = live.mooc("courses", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert re.search(r"0 error\(s\)", checked.stdout), checked.stdout
    synced = live.mooc("courses", "sync")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert "thay đổi" in synced.stdout and "changed" in synced.stdout, synced.stdout

    # The trainee reloads: the new pass mark and question count, the new section, still "done".
    trainee.reload()
    facts = trainee.locator("ul.facts")
    expect(facts).to_contain_text("12 câu hỏi")
    expect(facts).to_contain_text("Điểm đạt: 70%")
    go(trainee, LESSON)
    expect(trainee.get_by_role("heading", name="Ghi nhớ trong một phút", level=2)).to_be_visible()
    expect(trainee.locator(".prose").get_by_text("theo luật mới hay không")).to_be_visible()
    # the demo trainee completed the course: the new section is also shown as what changed
    expect(trainee.locator("#lesson-changes ins").filter(has_text="theo luật mới hay không")).to_have_count(1)
    toc = trainee.get_by_role("navigation", name="Nội dung bài")
    expect(toc.get_by_role("link", name="Ghi nhớ trong một phút")).to_be_visible()
    expect(trainee.locator("header .status-done")).to_have_text("✓ Đã xong")
    outline_item = trainee.locator(".lesson-outline .outline-item",
                                   has=trainee.locator("a[aria-current=page]"))
    expect(outline_item).to_have_class(re.compile(r"\bis-done\b"))
    go(trainee, "/")
    expect(card.locator(".progress-text")).to_have_text(progress_before)

    # The search index followed the sync: the new words are found, without accents.
    go(trainee, "/search/?q=ghi+nho+trong+mot+phut")
    hit = trainee.locator(".search-hit").first
    expect(hit.get_by_role("link")).to_contain_text("Ghi nhớ trong một phút")


# --- a video lesson -------------------------------------------------------------------------------

SHIPPED_VIDEO = "nghiep-vu-thanh-tra/02-quy-trinh-thanh-tra/video/chuan-bi-thanh-tra"
VIDEO_LESSON_FILE = "tiep-cong-dan/01-tiep-cong-dan/02-xu-ly-don.md"
VIDEO_FOLDER = "tiep-cong-dan/01-tiep-cong-dan/video"
VIDEO_LESSON = "/courses/tiep-cong-dan/lessons/tiep-cong-dan/xu-ly-don"
VIDEO_URL = "/courses/tiep-cong-dan/files/01-tiep-cong-dan/video/tiep-dan"


def test_author_adds_a_video_that_plays_seeks_and_shows_captions(browsing, live, make_trainee) -> None:
    # The author puts a recorded lecture (the shipped one, in MP4 and WebM, with its poster)
    # beside a lesson, links it, and writes the captions in SRT style by habit: a slip.
    folder = live.courses_dir / VIDEO_FOLDER
    folder.mkdir()
    for suffix in (".mp4", ".webm", ".jpg"):
        shutil.copyfile(live.courses_dir / f"{SHIPPED_VIDEO}{suffix}", folder / f"tiep-dan{suffix}")
    captions = (live.courses_dir / f"{SHIPPED_VIDEO}.vi.vtt").read_text(encoding="utf-8")
    (folder / "tiep-dan.vi.vtt").write_text(captions.replace("00:00.250", "00:00,250", 1), encoding="utf-8")
    lesson_path = live.courses_dir / VIDEO_LESSON_FILE
    text = lesson_path.read_text(encoding="utf-8")
    first_section = text.index("\n## ")
    lesson_path.write_text(text[:first_section] + "\n\n![Bài giảng: ba bước chuẩn bị](video/tiep-dan.mp4)\n"
                           + text[first_section:], encoding="utf-8")

    checked = live.mooc("courses", "check")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert (f"courses/{VIDEO_FOLDER}/tiep-dan.vi.vtt:3: error: WebVTT dùng dấu chấm trước phần nghìn giây"
            in checked.stdout), checked.stdout
    (folder / "tiep-dan.vi.vtt").write_text(captions, encoding="utf-8")
    checked = live.mooc("courses", "check")
    assert checked.returncode == 0 and "0 error(s), 0 warning(s)" in checked.stdout, checked.stdout
    synced = live.mooc("courses", "sync")
    assert synced.returncode == 0, synced.stdout + synced.stderr

    # A trainee opens the lesson: nothing of the video loads before play (a slow provincial link).
    person = make_trainee("Lò Văn Pấng", "HN-P2", "CV")
    page = browsing.new_page()
    sign_in(page, person.email, person.password)
    media: list = []
    page.on("response", lambda r: media.append(r) if VIDEO_URL in r.url and "jpg" not in r.url else None)
    go(page, VIDEO_LESSON)
    figure = page.locator("figure.lesson-media")
    video = figure.locator("video")
    expect(video).to_have_attribute("preload", "none")
    expect(video).to_have_attribute("poster", f"{VIDEO_URL}.jpg")
    download = figure.get_by_role("link", name=re.compile(r"^Tải video xuống \(MP4, \d+ KB\)$"))
    expect(download).to_have_attribute("href", f"{VIDEO_URL}.mp4")
    page.wait_for_timeout(500)
    assert [r.url for r in media if r.url.endswith((".mp4", ".webm"))] == []

    # The captions track is there, in Vietnamese, shown by default.
    track = video.locator("track")
    expect(track).to_have_attribute("kind", "captions")
    expect(track).to_have_attribute("srclang", "vi")

    # Play: the browser asks for the file by ranges, and the server answers 206.
    page.evaluate("v => v.play()", video.element_handle())
    page.wait_for_function("v => v.currentTime > 0.5 && !v.paused", arg=video.element_handle())
    assert video.evaluate("v => v.currentSrc") == f"{live.url}{VIDEO_URL}.mp4"
    ranged = [r for r in media if r.url.endswith(".mp4") and r.status == 206]
    assert ranged, [(r.url, r.status) for r in media]
    assert ranged[0].request.headers.get("range", "").startswith("bytes=")
    assert re.fullmatch(r"bytes \d+-\d+/\d+", ranged[0].headers["content-range"])
    assert video.evaluate("v => v.seekable.length && v.seekable.end(0)") > 13.5

    # Seek to the last slide: playback goes on from there, and its caption is the active one.
    video.evaluate("v => new Promise(done => { v.addEventListener('seeked', done, {once: true}); "
                   "v.currentTime = 11; })")
    page.wait_for_function("v => v.currentTime > 11.2 && !v.paused", arg=video.element_handle())
    cues = video.evaluate("""v => {
        const t = v.textTracks[0];
        return {count: v.textTracks.length, kind: t.kind, language: t.language, mode: t.mode,
                active: Array.from(t.activeCues || []).map(c => c.text)};
    }""")
    assert (cues["count"], cues["kind"], cues["language"], cues["mode"]) == (1, "captions", "vi", "showing")
    assert cues["active"] and cues["active"][0].startswith("Bước ba"), cues
    vtt = [r for r in media if r.url.endswith(".vi.vtt")]
    assert vtt and vtt[0].status == 200 and vtt[0].headers["content-type"].startswith("text/vtt")

    # Watching is not finishing: the lesson is done only when marked so.
    expect(page.locator("header .status-done")).to_have_count(0)
    expect(page.get_by_role("button", name="Đánh dấu đã học xong và học tiếp")).to_be_visible()
