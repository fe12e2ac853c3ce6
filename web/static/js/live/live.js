// The live page: waiting room and hearing. Connects to the signalling server, publishes the
// camera and microphone, answers the server's subscribe offers, and draws what `state` says.
import { readConfig, translator } from "./common.js";
import { loadPrefs, meterLevel, openDevices, stopTracks } from "./media.js";
import { Publisher, Subscriber } from "./rtc.js";
import { Signal } from "./signal.js";
import { Room } from "./room.js";
import { RecordingUi } from "./recording.js";

const config = readConfig();
const t = translator(config.strings);
const prefs = loadPrefs();

const app = {
  config,
  t,
  prefs,
  signal: null,
  publisher: null,
  subscriber: null,
  me: null,
  state: null,
  local: { audio: null, video: null, screen: null },
  micOn: false,
  handRaised: false,
  speaking: false,
  ended: null,
  connectedOnce: false,
  firstFrameAt: null,
};
const room = new Room(app);
const recordingUi = new RecordingUi(app);
app.confirm = (options) => room.confirm(options);

// ---------------------------------------------------------------- local media

async function openLocal() {
  const result = await openDevices({
    audio: prefs.audio !== false,
    video: prefs.video !== false,
    cameraId: prefs.cameraId,
    microphoneId: prefs.microphoneId,
  });
  app.local.audio = result.audio;
  app.local.video = result.video;
  app.micOn = Boolean(result.audio);
  const lost = [];
  if (prefs.video !== false && !result.video) lost.push(t("live.dc.device_camera"));
  if (prefs.audio !== false && !result.audio) lost.push(t("live.dc.device_microphone"));
  if (lost.length) room.toast(t("live.room.device_lost", { devices: lost.join("、") }));
  startSpeakingDetector();
}

let stopMeter = null;
let lastSpeakingSent = 0;

function startSpeakingDetector() {
  if (stopMeter) stopMeter();
  stopMeter = null;
  if (!app.local.audio) return;
  let loud = 0;
  let quiet = 0;
  stopMeter = meterLevel(app.local.audio, (level) => {
    const active = app.micOn && level > 0.38;
    loud = active ? loud + 1 : 0;
    quiet = active ? 0 : quiet + 1;
    room.selfLevel(app.micOn ? level : 0);
    let next = app.speaking;
    if (!app.speaking && loud >= 2) next = true;
    if (app.speaking && quiet >= 12) next = false;
    const now = Date.now();
    // The contract allows 4 a second; a change waits its turn rather than being lost.
    if (next !== app.speaking && now - lastSpeakingSent >= 260) {
      app.speaking = next;
      lastSpeakingSent = now;
      app.signal.send("speaking", { active: next });
    }
  });
}

function mediaState() {
  return {
    audio: Boolean(app.local.audio) && app.micOn,
    video: Boolean(app.local.video),
    screen: Boolean(app.local.screen),
  };
}

function reportMedia() {
  room.renderControls();
  room.renderSelf();
  if (app.signal && app.signal.connected) app.signal.send("media_state", mediaState());
}

// ---------------------------------------------------------------- controls

app.toggleMic = async () => {
  if (!app.local.audio) {
    const result = await openDevices({ audio: true, video: false, microphoneId: prefs.microphoneId });
    if (!result.audio) {
      room.toast(t(`live.dc.problem_${result.audioProblem || "other"}`, { device: t("live.dc.device_microphone") }));
      return;
    }
    app.local.audio = result.audio;
    app.micOn = true;
    startSpeakingDetector();
    if (app.publisher) await app.publisher.setAudio(result.audio);
  } else {
    app.micOn = !app.micOn;
    app.local.audio.enabled = app.micOn;
  }
  reportMedia();
};

app.muteSelf = (kind) => {
  if (kind === "audio" && app.local.audio && app.micOn) {
    app.micOn = false;
    app.local.audio.enabled = false;
  }
  if (kind === "video" && app.local.video) {
    stopTracks(app.local.video);
    app.local.video = null;
    if (app.publisher) app.publisher.setCamera(null);
  }
  reportMedia();
};

app.toggleCamera = async () => {
  if (app.local.video) {
    app.muteSelf("video");
    return;
  }
  const result = await openDevices({ audio: false, video: true, cameraId: prefs.cameraId });
  if (!result.video) {
    room.toast(t(`live.dc.problem_${result.videoProblem || "other"}`, { device: t("live.dc.device_camera") }));
    return;
  }
  app.local.video = result.video;
  if (app.publisher) await app.publisher.setCamera(result.video);
  reportMedia();
};

app.toggleScreen = async () => {
  if (app.local.screen) {
    stopScreen();
    return;
  }
  if (!navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia) {
    room.toast(t("live.room.screen_unsupported"));
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 10, max: 15 } }, audio: false });
  } catch {
    return; // the person cancelled the picker
  }
  const track = stream.getVideoTracks()[0];
  track.contentHint = "detail";
  track.addEventListener("ended", () => {
    if (app.local.screen === track) stopScreen();
  });
  app.local.screen = track;
  reportMedia();
  try {
    if (app.publisher) await app.publisher.setScreen(track);
  } catch (error) {
    room.toast(error.message || t("live.error_generic"));
    stopScreen();
  }
};

function stopScreen() {
  const track = app.local.screen;
  app.local.screen = null;
  stopTracks(track);
  reportMedia();
  if (app.publisher) app.publisher.setScreen(null).catch(() => {});
}

app.toggleHand = async () => {
  const raised = !app.handRaised;
  try {
    await app.signal.request("hand", { raised });
    app.handRaised = raised;
    room.renderControls();
  } catch (error) {
    room.toast(error.message);
  }
};

/** A moderator's or anyone's request; refusals are shown, not thrown. */
app.act = async (event, payload) => {
  try {
    return await app.signal.request(event, payload);
  } catch (error) {
    room.toast(error.message || t(error.code));
    return null;
  }
};

app.leave = async () => {
  const ok = await room.confirm({
    title: t("live.leave.title"),
    body: t("live.leave.body"),
    yes: t("live.leave.yes"),
    no: t("live.cancel"),
    danger: true,
  });
  if (!ok) return;
  app.leaving = true; // the server disconnects right after its ack: that is no drop
  await app.act("leave", {});
  end("left");
};

// ---------------------------------------------------------------- connection

function closeMedia() {
  if (app.publisher) app.publisher.close();
  if (app.subscriber) app.subscriber.close();
  app.publisher = null;
  app.subscriber = null;
  room.setSlots([]);
}

function end(reason) {
  if (app.ended) return;
  app.ended = reason;
  if (app.signal) app.signal.close();
  closeMedia();
  if (stopMeter) stopMeter();
  stopTracks(app.local.audio, app.local.video, app.local.screen);
  app.local = { audio: null, video: null, screen: null };
  room.showEnded(reason);
}

async function onConnect() {
  if (app.ended) return;
  room.banner(null);
  closeMedia();
  // A new signalling connection is a new server-side participant connection: both peer
  // connections start over (the server's old ones are gone).
  app.subscriber = new Subscriber(
    config.ice_servers,
    app.signal,
    (slots) => room.setSlots(slots),
    (state) => room.mediaState("subscribe", state),
  );
  let hello;
  try {
    hello = await app.signal.request("hello", {});
  } catch (error) {
    room.banner(error.message || t("live.error_generic"), "error");
    return;
  }
  app.me = hello.you;
  recordingUi.draw();
  app.connectedOnce = true;
  // TURN credentials are per participant and short-lived: the server hands them out here.
  const iceServers = hello.ice_servers || config.ice_servers;
  app.subscriber.iceServers = iceServers;
  room.render(hello.state);
  room.chatHistory(hello.chat || []);
  app.signal.send("media_state", mediaState());
  if (app.handRaised) app.signal.send("hand", { raised: true });
  const publisher = new Publisher(iceServers, app.signal, (state) => room.mediaState("publish", state));
  app.publisher = publisher;
  try {
    await publisher.start({ audio: app.local.audio, video: app.local.video });
    if (app.local.screen && app.publisher === publisher) await publisher.setScreen(app.local.screen);
  } catch (error) {
    if (app.publisher === publisher) room.banner(t("live.room.publish_failed", { reason: error.message }), "error");
  }
}

function connect() {
  const signal = new Signal(config);
  app.signal = signal;
  signal.on("connect", onConnect);
  signal.on("disconnect", (reason) => {
    if (app.ended || app.leaving) return;
    if (reason === "io server disconnect") {
      // Disconnected on purpose without a reason given: treat it as the end.
      end("disconnected");
      return;
    }
    room.banner(t("live.room.reconnecting"), "warn");
  });
  signal.on("connect_error", (error) => {
    if (app.ended) return;
    if (!signal.socket.active) {
      // Refused by the server (no valid session: link revoked or expired; no seat).
      room.refusedMessage = error && error.data && error.data.message;
      end("refused");
      return;
    }
    room.banner(t(app.connectedOnce ? "live.room.reconnecting" : "live.room.cannot_reach"), "warn");
  });
  signal.on("state", (state) => room.render(state));
  signal.on("subscribe_offer", (offer) => {
    if (!app.subscriber) return;
    app.subscriber.handleOffer(offer).catch((error) => {
      console.warn("subscribe offer failed", error);
      room.banner(t("live.room.media_failed"), "error");
    });
  });
  signal.on("chat", (message) => room.addChat(message));
  signal.on("mute_requested", (request) => room.muteRequested(request));
  signal.on("moved", ({ room: where }) => room.moved(where));
  signal.on("removed", ({ reason }) => end(reason || "removed"));
  signal.on("recording", (payload) => recordingUi.update(payload || {}));
}

// Tests and support staff read decoding progress here (the e2e suite uses getStats through it).
window.bilinLive = {
  inbound: () => (app.subscriber ? app.subscriber.inbound() : Promise.resolve({})),
  totals: () => (app.subscriber ? app.subscriber.totals() : Promise.resolve({ packets: 0, frames: 0, samples: 0 })),
  state: () => app.state,
  me: () => app.me,
  ended: () => app.ended,
  // Which worker's socket.io path the page reached ("/socket.io/" with one process).
  socketPath: () => (app.signal ? app.signal.socketPath : null),
};

window.addEventListener("pagehide", () => {
  // A reload or closed tab: say nothing; the server sees the connection go and keeps the seat.
  if (app.publisher) app.publisher.close();
});

(async () => {
  room.init();
  recordingUi.init();
  recordingUi.draw();
  await openLocal();
  room.renderControls();
  room.renderSelf();
  connect();
})();
