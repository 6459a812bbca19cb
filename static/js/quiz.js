// Quiz attempt: save answers as the trainee goes, and count down the time limit.
// The page works without this script (the Save and Submit buttons); it only adds comfort.
(function () {
  "use strict";
  var form = document.getElementById("attempt-form");
  if (!form) { return; }
  var status = document.getElementById("save-status");
  var timer = null;

  function save() {
    var data = new FormData(form);
    fetch(form.dataset.saveUrl, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "X-CSRFToken": data.get("csrf_token") }
    }).then(function (response) { return response.json(); }).then(function (body) {
      if (status) {
        var at = new Date(body.at);
        status.textContent = body.saved
          ? (document.documentElement.lang === "en" ? "Saved at " : "Đã lưu lúc ") + at.toLocaleTimeString()
          : (document.documentElement.lang === "en" ? "Not saved: the attempt is closed." : "Không lưu được: bài làm đã đóng.");
      }
    }).catch(function () {
      if (status) {
        status.textContent = document.documentElement.lang === "en"
          ? "Not saved (no connection). Your answers stay on this page."
          : "Chưa lưu được (mất kết nối). Câu trả lời vẫn còn trên trang này.";
      }
    });
  }

  form.addEventListener("change", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(save, 600);
  });

  var clock = document.getElementById("timer");
  if (clock) {
    var left = parseInt(clock.dataset.secondsLeft, 10);
    var tick = function () {
      left -= 1;
      if (left <= 0) { form.submit(); return; }
      var minutes = Math.floor(left / 60), seconds = left % 60;
      clock.textContent = (document.documentElement.lang === "en" ? "Time left: " : "Thời gian còn lại: ")
        + minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
      window.setTimeout(tick, 1000);
    };
    window.setTimeout(tick, 1000);
  }
}());
