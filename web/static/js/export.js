// Progress bars of background jobs: every element with data-job-id polls /api/jobs/<id> until
// the job is finished, updating its <progress>, percentage and (aria-live) message. When done,
// an element with data-download-for="<id>" is shown. Without JavaScript, reloading the page
// shows the same state.
(function () {
  "use strict";

  var INTERVAL_MS = 1000;

  function follow(box) {
    var id = box.dataset.jobId;
    var bar = box.querySelector("progress");
    var percent = box.querySelector(".job-percent");
    var message = box.querySelector(".job-message");
    var lastMessage = message ? message.textContent : "";

    function show(job) {
      var value = Math.round((job.progress || 0) * 100);
      if (bar) {
        bar.value = value;
        bar.textContent = value + "%";
      }
      if (percent) {
        percent.textContent = value + "%";
      }
      // Only a changed message is announced (not every percent).
      if (message && job.message_text && job.message_text !== lastMessage) {
        message.textContent = job.message_text;
        lastMessage = job.message_text;
      }
      box.dataset.status = job.status;
      if (job.finished) {
        box.dataset.finished = "1";
        var download = document.querySelector('[data-download-for="' + id + '"]');
        if (download && job.status === "done") {
          download.hidden = false;
        }
        box.dispatchEvent(new CustomEvent("job-finished", { bubbles: true, detail: job }));
      }
    }

    function poll() {
      fetch("/api/jobs/" + encodeURIComponent(id), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (job) {
          show(job);
          if (!job.finished) {
            window.setTimeout(poll, INTERVAL_MS);
          }
        })
        .catch(function () {
          // A dropped connection: try again, more slowly.
          window.setTimeout(poll, INTERVAL_MS * 5);
        });
    }

    poll();
  }

  document.querySelectorAll("[data-job-id]").forEach(function (box) {
    if (box.dataset.finished !== "1") {
      follow(box);
    }
  });
})();
