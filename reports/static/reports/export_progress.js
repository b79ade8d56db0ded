// The export job page: poll the job's status and move the progress bar; reload when finished.
// A static file, not an inline script, so the Content-Security-Policy can forbid inline code.
(function () {
  var box = document.querySelector("[data-testid=job]"), bar = document.getElementById("job-progress");
  var text = document.getElementById("job-text");
  if (!box || !bar || !text) { return; }
  function poll() {
    fetch(box.dataset.statusUrl, {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { return r.json(); })
      .then(function (s) {
        bar.value = s.progress;
        text.textContent = s.status + " · " + s.progress + "% · " + s.rows + (s.total !== null ? " / " + s.total : "");
        if (s.finished) { window.location.reload(); } else { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
})();
