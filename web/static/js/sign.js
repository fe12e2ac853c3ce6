// The signature pad (web/templates/sign/_pad.html): pointer events, so a finger on a phone,
// a stylus and a mouse all draw; strokes can be undone one by one or cleared. The drawing is
// sent as a PNG data URL in the hidden field signature_png. Without this script, or when the
// signer cannot draw, the typed-name alternative (name + checkbox) is used instead.
"use strict";

(function () {
  function setup(pad) {
    var canvas = pad.querySelector("[data-pad-canvas]");
    var drawBox = pad.querySelector("[data-pad-draw]");
    var typedBox = pad.querySelector("[data-pad-typed]");
    var pngField = pad.querySelector("[data-pad-png]");
    var status = pad.querySelector("[data-pad-status]");
    var radios = pad.querySelectorAll("[data-pad-method]");
    var drawnLabel = pad.querySelector(".pad-method-drawn");
    if (!canvas || !canvas.getContext) {
      return; // no canvas: the typed alternative stays the only way
    }
    var ctx = canvas.getContext("2d");
    var strokes = [];
    var current = null;

    drawnLabel.hidden = false;
    // Drawing is the default where it is possible, unless the page came back with "typed".
    var typedChosen = pad.dataset.method === "typed";
    radios.forEach(function (r) { r.checked = (r.value === "drawn") !== typedChosen; });

    function method() {
      var chosen = "typed";
      radios.forEach(function (r) { if (r.checked) { chosen = r.value; } });
      return chosen;
    }

    function showMethod() {
      var drawn = method() === "drawn";
      drawBox.hidden = !drawn;
      typedBox.hidden = drawn;
    }

    function redraw() {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.lineWidth = 4;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = "#111";
      strokes.forEach(function (stroke) {
        ctx.beginPath();
        stroke.forEach(function (p, i) {
          if (i === 0) { ctx.moveTo(p[0], p[1]); ctx.lineTo(p[0] + 0.1, p[1] + 0.1); } else { ctx.lineTo(p[0], p[1]); }
        });
        ctx.stroke();
      });
      pngField.value = strokes.length ? canvas.toDataURL("image/png") : "";
      status.textContent = strokes.length
        ? status.dataset.strokes.replace("{n}", String(strokes.length))
        : status.dataset.empty;
    }

    function point(event) {
      var rect = canvas.getBoundingClientRect();
      return [
        (event.clientX - rect.left) * (canvas.width / rect.width),
        (event.clientY - rect.top) * (canvas.height / rect.height),
      ];
    }

    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      current = [point(event)];
      strokes.push(current);
      redraw();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!current) { return; }
      event.preventDefault();
      current.push(point(event));
      redraw();
    });
    function end() { current = null; }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);

    pad.querySelector("[data-pad-undo]").addEventListener("click", function () {
      strokes.pop();
      redraw();
    });
    pad.querySelector("[data-pad-clear]").addEventListener("click", function () {
      strokes = [];
      redraw();
    });
    radios.forEach(function (r) { r.addEventListener("change", showMethod); });
    showMethod();
    redraw();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-sign-pad]").forEach(setup);
  });
})();
