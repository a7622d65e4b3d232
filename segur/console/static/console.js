// The console's only script: the live view polls for new exchanges; the source views show the findings' lines.
(function () {
  "use strict";
  var POLL_MS = 1000;

  function cell(row, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) { td.className = cls; }
    row.appendChild(td);
    return td;
  }

  function exchangeRow(data, root) {
    var tr = document.createElement("tr");
    var href = root + "/activity/" + encodeURIComponent(data.service) + "/" + data.seq;
    tr.className = "v-" + data.verdict + " new";
    tr.dataset.href = href;
    cell(tr, (data.time || "").slice(11, 23), "nowrap");
    cell(tr, data.service, "nowrap");
    var link = document.createElement("a");
    link.href = href;
    link.textContent = data.seq;
    cell(tr, "", "nowrap").appendChild(link);
    cell(tr, data.operation);
    cell(tr, data.verdict);
    cell(tr, (data.rules || []).join(" "));
    cell(tr, data.task || "");
    cell(tr, data.facts, "facts");
    return tr;
  }

  function poll(table) {
    var form = document.getElementById("filters");
    var params = new URLSearchParams(form ? new FormData(form) : undefined);
    params.set("after", table.dataset.last || "0");
    fetch(table.dataset.api + "?" + params.toString(), {credentials: "same-origin"})
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var body = table.tBodies[0];
        for (var i = data.rows.length - 1; i >= 0; i--) {
          body.insertBefore(exchangeRow(data.rows[i], table.dataset.root || ""), body.firstChild);
        }
        if (data.rows.length) {
          var empty = document.getElementById("empty");
          if (empty) { empty.remove(); }
        }
        table.dataset.last = data.last;
      })
      .catch(function () { /* the console is restarting: try again at the next tick */ })
      .finally(function () { setTimeout(function () { poll(table); }, POLL_MS); });
  }

  function openRows(table) {
    table.addEventListener("click", function (event) {
      var row = event.target.closest("tr[data-href]");
      if (row && event.target.tagName !== "A") { window.location = row.dataset.href; }
    });
  }

  function showHits() {
    var first = document.querySelector(".source li.hit");
    if (first) {
      var pane = first.closest(".source");
      pane.scrollTop = first.offsetTop - pane.offsetTop - 40;
    }
    document.querySelectorAll("a.line-link").forEach(function (link) {
      link.addEventListener("click", function (event) {
        var line = document.getElementById(link.getAttribute("href").slice(1));
        if (!line) { return; }
        event.preventDefault();
        var pane = line.closest(".source");
        pane.scrollTop = line.offsetTop - pane.offsetTop - 40;
        line.scrollIntoView({block: "nearest"});
        line.classList.add("flash");
        setTimeout(function () { line.classList.remove("flash"); }, 1500);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var table = document.getElementById("activity");
    if (table) {
      openRows(table);
      setTimeout(function () { poll(table); }, POLL_MS);
    }
    showHits();
  });
})();
