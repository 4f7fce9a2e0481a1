(function () {
  "use strict";
  var table = document.getElementById("articles");
  if (!table) { return; }
  var body = table.tBodies[0];
  var directions = {};
  table.querySelectorAll("th button[data-sort]").forEach(function (button) {
    button.addEventListener("click", function () {
      var key = button.getAttribute("data-sort");
      var numeric = button.hasAttribute("data-numeric");
      var dir = directions[key] = directions[key] === "desc" ? "asc" : "desc";
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.getAttribute("data-" + key) || "", y = b.getAttribute("data-" + key) || "";
        var c = numeric ? (parseFloat(x) || 0) - (parseFloat(y) || 0) : x.localeCompare(y);
        if (c === 0) { c = parseInt(a.getAttribute("data-order"), 10) - parseInt(b.getAttribute("data-order"), 10); return c; }
        return dir === "desc" ? -c : c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
      table.querySelectorAll("th").forEach(function (th) { th.removeAttribute("aria-sort"); });
      button.parentNode.setAttribute("aria-sort", dir === "desc" ? "descending" : "ascending");
    });
  });
}());
