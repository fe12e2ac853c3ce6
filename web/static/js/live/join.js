// The join page: device check, then (for parties) identity and consent, then into the room.
import { $, $$, api, ApiError, h, readConfig, translator } from "./common.js";
import {
  canChooseSpeaker,
  listDevices,
  loadPrefs,
  meterLevel,
  openDevices,
  playTestTone,
  savePrefs,
  stopTracks,
} from "./media.js";

const config = readConfig();
const t = translator(config.strings);
const panels = [...config.steps.filter((s) => s !== "waiting_room"), "ready"];
const prefs = loadPrefs();
const local = { audio: null, video: null, audioProblem: null, videoProblem: null, stopMeter: null };
let heardSound = false;

// ---------------------------------------------------------------- steps

function show(step, focus = true) {
  for (const panel of $$(".join-step")) panel.hidden = panel.dataset.panel !== step;
  const index = config.steps.indexOf(step === "ready" ? "waiting_room" : step);
  $$(".join-steps li").forEach((li, i) => {
    const current = li.dataset.step === step || (step === "ready" && i === config.steps.length - 1 && li.dataset.step === "waiting_room");
    li.classList.toggle("done", index < 0 ? true : i < index);
    if (current) li.setAttribute("aria-current", "step");
    else li.removeAttribute("aria-current");
  });
  const heading = $(`[data-panel="${step}"] h2`);
  if (heading && focus) heading.focus();
  if (step === "device_check") startDevices();
  else releaseDevices();
  if (step === "consent") loadNotice();
  if (step === "ready") fillSummary();
}

function next(from) {
  show(panels[panels.indexOf(from) + 1]);
}

for (const button of $$("[data-back]")) {
  button.addEventListener("click", () => {
    const panel = button.closest("[data-panel]").dataset.panel;
    show(panels[Math.max(0, panels.indexOf(panel) - 1)]);
  });
}

// ---------------------------------------------------------------- device check

function mode() {
  return $('input[name="dc-mode"]:checked').value;
}

function setMode(value) {
  $(`input[name="dc-mode"][value="${value}"]`).checked = true;
}

function releaseDevices() {
  if (local.stopMeter) local.stopMeter();
  local.stopMeter = null;
  stopTracks(local.audio, local.video);
  local.audio = local.video = null;
  $("#dc-video").srcObject = null;
}

let opening = null;

async function startDevices() {
  if (opening) return opening;
  opening = (async () => {
    releaseDevices();
    const m = mode();
    const result = await openDevices({
      audio: m !== "listen",
      video: m === "video",
      cameraId: prefs.cameraId,
      microphoneId: prefs.microphoneId,
    });
    Object.assign(local, result);
    const video = $("#dc-video");
    video.srcObject = local.video ? new MediaStream([local.video]) : null;
    $("#dc-video-off").hidden = Boolean(local.video);
    $("#dc-video-off").textContent = m === "video" ? t("live.dc.no_camera_preview") : t("live.dc.camera_off");
    heardSound = false;
    if (local.audio) {
      const bar = $("#dc-level");
      local.stopMeter = meterLevel(local.audio, (level) => {
        bar.style.transform = `scaleX(${level.toFixed(3)})`;
        if (level > 0.3 && !heardSound) {
          heardSound = true;
          micStatus();
        }
      });
    } else {
      $("#dc-level").style.transform = "scaleX(0)";
    }
    micStatus();
    showProblem();
    await fillDeviceLists();
  })();
  try {
    await opening;
  } finally {
    opening = null;
  }
}

function micStatus() {
  const status = $("#dc-mic-status");
  if (mode() === "listen") status.textContent = t("live.dc.mic_listen");
  else if (!local.audio) status.textContent = t("live.dc.mic_unavailable");
  else status.textContent = heardSound ? t("live.dc.mic_heard") : t("live.dc.mic_speak");
}

const PROBLEM_STEPS = {
  denied: ["live.dc.fix_denied_1", "live.dc.fix_denied_2", "live.dc.fix_denied_3"],
  none: ["live.dc.fix_none_1", "live.dc.fix_none_2"],
  busy: ["live.dc.fix_busy_1", "live.dc.fix_busy_2"],
  insecure: ["live.dc.fix_insecure_1"],
  other: ["live.dc.fix_other_1"],
};

function showProblem() {
  const box = $("#dc-problem");
  const m = mode();
  // The worse of the two problems speaks for both when both failed alike.
  const videoProblem = m === "video" ? local.videoProblem : null;
  const audioProblem = m !== "listen" ? local.audioProblem : null;
  const problem = videoProblem || audioProblem;
  if (!problem) {
    box.hidden = true;
    return;
  }
  const what = videoProblem && audioProblem ? "both" : videoProblem ? "camera" : "microphone";
  $("#dc-problem-h").textContent = t(`live.dc.problem_${problem}`, { device: t(`live.dc.device_${what}`) });
  const way = audioProblem ? t("live.dc.way_listen") : t("live.dc.way_audio");
  $("#dc-problem-text").textContent = `${t(`live.dc.problem_${problem}_why`)} ${way}`;
  const list = $("#dc-problem-steps");
  list.replaceChildren(...PROBLEM_STEPS[problem].map((key) => h("li", { text: t(key) })));
  box.hidden = false;
}

function fillSelect(select, devices, chosen, fallbackLabel) {
  const options = devices.map((d, i) =>
    h("option", { value: d.deviceId, text: d.label || `${fallbackLabel} ${i + 1}` }),
  );
  if (!options.length) options.push(h("option", { value: "", text: t("live.dc.none_found") }));
  select.replaceChildren(...options);
  select.disabled = !devices.length;
  if (devices.some((d) => d.deviceId === chosen)) select.value = chosen;
}

async function fillDeviceLists() {
  const devices = await listDevices();
  const activeCamera = local.video ? local.video.getSettings().deviceId : prefs.cameraId;
  const activeMic = local.audio ? local.audio.getSettings().deviceId : prefs.microphoneId;
  fillSelect($("#dc-camera"), devices.videoinput, activeCamera, t("live.dc.camera"));
  fillSelect($("#dc-microphone"), devices.audioinput, activeMic, t("live.dc.microphone"));
  if (canChooseSpeaker() && devices.audiooutput.length) {
    fillSelect($("#dc-speaker"), devices.audiooutput, prefs.speakerId, t("live.dc.speaker"));
  } else {
    $("#dc-speaker-field").hidden = true;
  }
  $("#dc-camera").disabled ||= mode() !== "video";
  $("#dc-microphone").disabled ||= mode() === "listen";
}

$("#dc-camera").addEventListener("change", (e) => {
  prefs.cameraId = e.target.value;
  startDevices();
});
$("#dc-microphone").addEventListener("change", (e) => {
  prefs.microphoneId = e.target.value;
  startDevices();
});
$("#dc-speaker").addEventListener("change", (e) => {
  prefs.speakerId = e.target.value;
});
for (const radio of $$('input[name="dc-mode"]')) radio.addEventListener("change", () => startDevices());
$("#dc-retry").addEventListener("click", () => startDevices());

$("#dc-tone").addEventListener("click", async () => {
  const button = $("#dc-tone");
  const status = $("#dc-tone-status");
  button.disabled = true;
  status.textContent = t("live.dc.tone_playing");
  try {
    await playTestTone(prefs.speakerId);
    status.textContent = t("live.dc.tone_done");
  } catch {
    status.textContent = t("live.dc.tone_failed");
  } finally {
    button.disabled = false;
  }
});

$("#dc-next").addEventListener("click", async () => {
  if (opening) await opening;
  const m = mode();
  // Whatever could not be opened is joined without: a camera that failed means audio only,
  // a microphone that failed means listening.
  prefs.mode = m;
  prefs.video = m === "video" && Boolean(local.video);
  prefs.audio = m !== "listen" && Boolean(local.audio);
  if (local.video) prefs.cameraId = local.video.getSettings().deviceId || prefs.cameraId;
  if (local.audio) prefs.microphoneId = local.audio.getSettings().deviceId || prefs.microphoneId;
  savePrefs(prefs);
  next("device_check");
});

// ---------------------------------------------------------------- identity

function fieldErrors(form, summaryId, errors) {
  const summary = $(summaryId);
  for (const p of $$(".field-error", form)) {
    p.hidden = true;
    p.textContent = "";
  }
  for (const input of $$("input", form)) input.removeAttribute("aria-invalid");
  const entries = Object.entries(errors);
  if (!entries.length) {
    summary.hidden = true;
    return;
  }
  const items = [];
  for (const [name, message] of entries) {
    const input = $(`[name="${name}"]`, form);
    const p = input ? $(`#${input.id}-error`) : null;
    if (input && p) {
      input.setAttribute("aria-invalid", "true");
      p.textContent = message;
      p.hidden = false;
      items.push(h("li", {}, h("a", { href: `#${input.id}`, text: message })));
    } else {
      items.push(h("li", { text: message }));
    }
  }
  summary.replaceChildren(h("h2", { text: t("live.form_errors") }), h("ul", {}, items));
  summary.hidden = false;
  summary.focus();
}

const idForm = $("#id-form");
if (idForm) {
  if (config.identity_declared) {
    $("#id-done").textContent = t("live.id.already");
    $("#id-done").hidden = false;
  }
  idForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = $("#id-name").value.trim();
    const number = $("#id-number").value.trim().toUpperCase();
    const errors = {};
    if (!name) errors.name = t("live.id.name_required");
    if (!/^\d{17}[\dX]$/.test(number)) errors.id_number = t("live.id.number_format");
    fieldErrors(idForm, "#id-errors", errors);
    if (Object.keys(errors).length) return;
    const submit = $("#id-submit");
    submit.disabled = true;
    try {
      const out = await api(config, "POST", "/api/join/identity", { name, id_number: number });
      config.identity_declared = true;
      $("#id-done").textContent = t("live.id.declared", { name: out.declared_name, number: out.id_number_masked });
      $("#id-done").hidden = false;
      $("#id-number").value = "";
      next("identity");
    } catch (error) {
      const fields = error instanceof ApiError ? error.fields : {};
      const mapped = {};
      for (const [key, message] of Object.entries(fields)) mapped[key.split(".")[0]] = message;
      if (!Object.keys(mapped).length) mapped._ = error.message || t("live.error_generic");
      fieldErrors(idForm, "#id-errors", mapped);
    } finally {
      submit.disabled = false;
    }
  });
}

// ---------------------------------------------------------------- consent

let notice = null;

async function loadNotice() {
  if (notice) return;
  const box = $("#cs-text");
  try {
    notice = await api(config, "GET", "/api/join/notice");
    box.replaceChildren(...notice.text.split(/\n+/).filter(Boolean).map((line) => h("p", { text: line })));
    $("#cs-version").textContent = t("live.consent.version", { version: notice.version });
    if (config.consent) {
      $(`#cs-form input[value="${config.consent === "given" ? "yes" : "no"}"]`).checked = true;
    }
  } catch {
    box.replaceChildren(h("p", { text: t("live.consent.load_failed") }));
  }
}

const csForm = $("#cs-form");
if (csForm) {
  csForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const choice = $('#cs-form input[name="given"]:checked');
    if (!choice) {
      fieldErrors(csForm, "#cs-errors", { given: t("live.consent.choose") });
      return;
    }
    if (!notice) await loadNotice();
    const submit = $("#cs-submit");
    submit.disabled = true;
    try {
      const out = await api(config, "POST", "/api/join/consent", {
        notice_version: notice.version,
        given: choice.value === "yes",
      });
      config.consent = out.given ? "given" : "declined";
      fieldErrors(csForm, "#cs-errors", {});
      next("consent");
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        notice = null; // a newer text was published: show it and ask again
        await loadNotice();
      }
      fieldErrors(csForm, "#cs-errors", { _: error.message || t("live.error_generic") });
    } finally {
      submit.disabled = false;
    }
  });
}

// ---------------------------------------------------------------- ready

function fillSummary() {
  const items = [];
  if (prefs.video) items.push(t("live.ready.with_video"));
  else if (prefs.audio) items.push(t("live.ready.audio_only"));
  else items.push(t("live.ready.listen_only"));
  if (config.steps.includes("identity")) items.push(t("live.ready.identity_declared"));
  if (config.consent === "given") items.push(t("live.ready.consent_given"));
  if (config.consent === "declined") items.push(t("live.ready.consent_declined"));
  $("#rd-list").replaceChildren(...items.map((text) => h("li", { text })));
}

// ---------------------------------------------------------------- start

$("#join-noscript").hidden = true;
if (["video", "audio", "listen"].includes(prefs.mode)) setMode(prefs.mode);
show("device_check", false);
