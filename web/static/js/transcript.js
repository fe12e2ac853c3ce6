// The transcript page: when the transcription job's progress bar (export.js) reports the job
// finished, reload so the new lines (or the failure message) show. Without JavaScript, a
// reload does the same.
(function () {
  "use strict";
  document.addEventListener("job-finished", function () {
    window.setTimeout(function () {
      window.location.reload();
    }, 800);
  });
})();
