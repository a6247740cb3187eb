(function () {
  var q = document.getElementById("q");
  var seq = document.getElementById("seq");
  var shown = document.getElementById("shown");
  var rows = Array.prototype.slice.call(document.querySelectorAll("#prospects tbody tr"));
  function apply() {
    var text = q.value.trim().toLowerCase();
    var wanted = seq.value;
    var n = 0;
    rows.forEach(function (row) {
      var hit = (!text || row.textContent.toLowerCase().indexOf(text) !== -1) &&
        (!wanted || row.getAttribute("data-sequence") === wanted);
      row.hidden = !hit;
      if (hit) { n += 1; }
    });
    shown.textContent = String(n);
  }
  q.addEventListener("input", apply);
  seq.addEventListener("change", apply);
  apply();
})();
