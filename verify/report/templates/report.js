(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var badges = Array.prototype.slice.call(document.querySelectorAll("a.badge[data-claim]"));
  var current = -1;
  function select(i, focus) {
    if (!badges.length) { return; }
    i = Math.max(0, Math.min(badges.length - 1, i));
    var id = badges[i].getAttribute("data-claim");
    document.querySelectorAll(".claim-detail.selected, mark.span.selected, a.badge.current").forEach(function (el) {
      el.classList.remove("selected"); el.classList.remove("current");
    });
    var detail = document.getElementById("claim-" + id);
    if (detail) { detail.classList.add("selected"); }
    document.querySelectorAll("mark.span").forEach(function (m) {
      if ((" " + m.getAttribute("data-claims") + " ").indexOf(" " + id + " ") >= 0) { m.classList.add("selected"); }
    });
    badges[i].classList.add("current");
    current = i;
    var pos = document.getElementById("position");
    if (pos) { pos.textContent = "claim " + (i + 1) + " of " + badges.length; }
    if (focus) { badges[i].focus(); }
    if (history.replaceState) { history.replaceState(null, "", "#claim-" + id); }
  }
  badges.forEach(function (b, i) {
    b.addEventListener("click", function (ev) { ev.preventDefault(); select(i, true); });
  });
  document.querySelectorAll("mark.span").forEach(function (m) {
    m.addEventListener("click", function () {
      var first = (m.getAttribute("data-claims") || "").split(" ")[0];
      var i = badges.findIndex(function (b) { return b.getAttribute("data-claim") === first; });
      if (i >= 0) { select(i, true); }
    });
  });
  var next = document.getElementById("next-claim"), prev = document.getElementById("prev-claim");
  if (next) { next.addEventListener("click", function () { select(current + 1, true); }); }
  if (prev) { prev.addEventListener("click", function () { select(current - 1, true); }); }
  document.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
    var tag = (ev.target && ev.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA") { return; }
    if (ev.key === "j" || ev.key === "n") { ev.preventDefault(); select(current + 1, true); }
    else if (ev.key === "k" || ev.key === "p") { ev.preventDefault(); select(current < 0 ? 0 : current - 1, true); }
  });
  var start = 0;
  if (location.hash.indexOf("#claim-") === 0) {
    var wanted = location.hash.slice(7);
    var found = badges.findIndex(function (b) { return b.getAttribute("data-claim") === wanted; });
    if (found >= 0) { start = found; }
  }
  select(start, false);
}());
