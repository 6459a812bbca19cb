// Quiz attempt: save answers as the trainee goes, count down the time limit, sum up before
// submitting, warn before the session's idle limit and say so when the session has ended.
// The page works without this script (the Save and Submit buttons; the server asks for
// confirmation when questions are left blank); it only adds comfort.
(function () {
  "use strict";
  var form = document.getElementById("attempt-form");
  if (!form) { return; }
  var english = document.documentElement.lang === "en";
  var status = document.getElementById("save-status");
  var stashKey = "mooc-attempt-" + form.dataset.attempt;
  var idleSeconds = parseInt(form.dataset.idleSeconds, 10) || 0;
  var lastContact = Date.now();
  var signedOut = false;
  var timer = null;

  function show(id, visible) {
    var element = document.getElementById(id);
    if (element) { element.hidden = !visible; }
  }

  // --- answers kept in this tab until the server has them (a lost session loses nothing) ---
  function stash() {
    var pairs = [];
    new FormData(form).forEach(function (value, name) {
      if (name.indexOf("q-") === 0) { pairs.push([name, value]); }
    });
    try { window.sessionStorage.setItem(stashKey, JSON.stringify(pairs)); } catch (e) { /* private mode */ }
  }

  function unstash() {
    try { window.sessionStorage.removeItem(stashKey); } catch (e) { /* private mode */ }
  }

  function restore() {
    var raw = null;
    try { raw = window.sessionStorage.getItem(stashKey); } catch (e) { return false; }
    if (!raw) { return false; }
    var pairs = JSON.parse(raw);
    var has = function (name, value) {
      return pairs.some(function (pair) { return pair[0] === name && pair[1] === value; });
    };
    Array.prototype.forEach.call(form.elements, function (input) {
      if (!input.name || input.name.indexOf("q-") !== 0 || input.type === "hidden") { return; }
      if (input.type === "radio" || input.type === "checkbox") {
        input.checked = has(input.name, input.value);
      } else {
        var found = pairs.filter(function (pair) { return pair[0] === input.name; })[0];
        input.value = found ? found[1] : "";
      }
    });
    return true;
  }

  function goneSignedOut() {
    signedOut = true;
    show("idle-warning", false);
    show("signed-out", true);
    if (status) {
      status.textContent = english ? "Signed out: not saved." : "Đã bị đăng xuất: chưa lưu.";
    }
  }

  function save() {
    var data = new FormData(form);
    fetch(form.dataset.saveUrl, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "X-CSRFToken": data.get("csrf_token") }
    }).then(function (response) {
      if (response.status === 401 || (response.redirected && /\/login/.test(response.url))) {
        goneSignedOut();
        return null;
      }
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (body) {
      if (!body) { return; }
      lastContact = Date.now();
      signedOut = false;
      show("signed-out", false);
      show("idle-warning", false);
      if (body.saved) { unstash(); }
      if (status) {
        var at = new Date(body.at);
        status.textContent = body.saved
          ? (english ? "Saved at " : "Đã lưu lúc ") + at.toLocaleTimeString()
          : (english ? "Not saved: the attempt is closed." : "Không lưu được: bài làm đã đóng.");
      }
    }).catch(function () {
      if (status) {
        status.textContent = english
          ? "Not saved (no connection). Your answers stay on this page."
          : "Chưa lưu được (mất kết nối). Câu trả lời vẫn còn trên trang này.";
      }
    });
  }

  form.addEventListener("change", function () {
    stash();
    window.clearTimeout(timer);
    timer = window.setTimeout(save, 600);
  });

  if (restore()) { save(); }

  // --- the session's idle limit: warn a few minutes before, offer to stay signed in ---
  if (idleSeconds > 0) {
    var warnBefore = Math.min(300, Math.floor(idleSeconds / 4));
    window.setInterval(function () {
      if (signedOut) { return; }
      var left = idleSeconds - (Date.now() - lastContact) / 1000;
      if (left <= 0) { goneSignedOut(); } else { show("idle-warning", left <= warnBefore); }
    }, 5000);
    var stay = document.getElementById("stay-signed-in");
    if (stay) { stay.addEventListener("click", save); }
  }

  // --- a summary before grading: how many questions are still blank ---
  function answered(question) {
    return Array.prototype.some.call(question.querySelectorAll("input"), function (input) {
      if (input.type === "hidden") { return false; }
      if (input.type === "radio" || input.type === "checkbox") { return input.checked; }
      return input.value.trim() !== "";
    });
  }

  function submitConfirmed() {
    var confirmField = document.createElement("input");
    confirmField.type = "hidden";
    confirmField.name = "confirm";
    confirmField.value = "1";
    form.appendChild(confirmField);
    form.submit();
  }

  var dialog = document.getElementById("submit-dialog");
  if (dialog && typeof dialog.showModal === "function") {
    form.addEventListener("submit", function (event) {
      if (event.submitter && event.submitter.id !== "submit-attempt") { return; }
      event.preventDefault();
      var summary = document.getElementById("submit-dialog-summary");
      var list = document.getElementById("submit-dialog-list");
      var missing = [];
      Array.prototype.forEach.call(form.querySelectorAll("li.question"), function (question) {
        if (!answered(question)) { missing.push(question); }
      });
      summary.textContent = missing.length
        ? summary.dataset.missing.replace("{n}", String(missing.length))
        : summary.dataset.all;
      list.textContent = "";
      missing.forEach(function (question, index) {
        var link = document.createElement("a");
        link.href = "#" + question.id;
        link.textContent = question.querySelector(".question-number").textContent;
        link.addEventListener("click", function () { dialog.close(); });
        if (index) { list.appendChild(document.createTextNode(", ")); }
        list.appendChild(link);
      });
      list.hidden = missing.length === 0;
      dialog.showModal();
    });
    document.getElementById("submit-dialog-back").addEventListener("click", function () { dialog.close(); });
    document.getElementById("submit-dialog-confirm").addEventListener("click", function () {
      dialog.close();
      submitConfirmed();
    });
  }

  var clock = document.getElementById("timer");
  if (clock) {
    var left = parseInt(clock.dataset.secondsLeft, 10);
    var tick = function () {
      left -= 1;
      if (left <= 0) { submitConfirmed(); return; }
      var minutes = Math.floor(left / 60), seconds = left % 60;
      clock.textContent = (english ? "Time left: " : "Thời gian còn lại: ")
        + minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
      window.setTimeout(tick, 1000);
    };
    window.setTimeout(tick, 1000);
  }
}());
