// Media: one publish RTCPeerConnection (the browser offers) and one subscribe connection (the
// server offers). aiortc takes no trickled candidates, so every description is sent only once
// ICE gathering is complete.

export const CAMERA_MAX_BITRATE = 800_000;
export const SCREEN_MAX_BITRATE = 1_500_000;

function rtcConfig(iceServers) {
  return { iceServers: iceServers || [], bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" };
}

/** Resolves when `pc` has gathered all its candidates (or after `timeoutMs`, e.g. a dead STUN). */
export function gatheringComplete(pc, timeoutMs = 4000) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      pc.removeEventListener("icegatheringstatechange", check);
      pc.removeEventListener("icecandidate", onCandidate);
      clearTimeout(timer);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    const onCandidate = (event) => {
      if (!event.candidate) done();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener("icegatheringstatechange", check);
    pc.addEventListener("icecandidate", onCandidate);
  });
}

/** Runs async jobs one after another (negotiations must not overlap). */
class Queue {
  constructor() {
    this.tail = Promise.resolve();
  }
  run(job) {
    const result = this.tail.then(job, job);
    this.tail = result.catch(() => {});
    return result;
  }
}

async function capBitrate(sender, maxBitrate, screen) {
  if (!sender.track) return;
  const params = sender.getParameters();
  if (!params.encodings || !params.encodings.length) params.encodings = [{}];
  params.encodings[0].maxBitrate = maxBitrate;
  if (screen) params.degradationPreference = "maintain-resolution";
  try {
    await sender.setParameters(params);
  } catch (error) {
    console.warn("setParameters failed", error);
  }
}

/** The publish connection: microphone, camera and (when shared) screen, in that m-line order. */
export class Publisher {
  constructor(iceServers, signal, onState) {
    this.signal = signal;
    this.pc = new RTCPeerConnection(rtcConfig(iceServers));
    this.queue = new Queue();
    this.audio = null;
    this.camera = null;
    this.screen = null;
    this.pc.addEventListener("connectionstatechange", () => onState(this.pc.connectionState));
  }

  /** Offer the tracks we have; an m-line without a track is inactive until it gets one.
   * A listener with neither publishes nothing until a device is turned on. */
  start({ audio, video }) {
    this.pending = { audio, video };
    if (!audio && !video) return Promise.resolve();
    this.audio = this.pc.addTransceiver(audio || "audio", { direction: audio ? "sendonly" : "inactive" });
    this.camera = this.pc.addTransceiver(video || "video", { direction: video ? "sendonly" : "inactive" });
    return this.negotiate();
  }

  get started() {
    return Boolean(this.audio);
  }

  negotiate() {
    return this.queue.run(async () => {
      if (this.pc.signalingState === "closed") return;
      const offer = await this.pc.createOffer();
      await this.pc.setLocalDescription(offer);
      await gatheringComplete(this.pc);
      // Name each m-line's track, so a screen share is never taken for a camera.
      const labels = {};
      if (!this.audio) return;
      if (this.audio.mid) labels[this.audio.mid] = "audio";
      if (this.camera.mid) labels[this.camera.mid] = "video";
      if (this.screen && this.screen.mid) labels[this.screen.mid] = "screen";
      const ack = await this.signal.request("publish", { sdp: this.pc.localDescription.sdp, labels });
      await this.pc.setRemoteDescription({ type: "answer", sdp: ack.sdp });
      await capBitrate(this.camera.sender, CAMERA_MAX_BITRATE, false);
      if (this.screen) await capBitrate(this.screen.sender, SCREEN_MAX_BITRATE, true);
    });
  }

  async _set(transceiver, track) {
    await transceiver.sender.replaceTrack(track);
    const wanted = track ? "sendonly" : transceiver.direction;
    if (transceiver.direction !== wanted) {
      transceiver.direction = wanted;
      await this.negotiate();
    }
  }

  /** A new microphone track (device change or turned on for the first time). */
  setAudio(track) {
    if (!this.started) return this.start({ ...this.pending, audio: track });
    return this._set(this.audio, track);
  }

  /** A new camera track, or null when the camera is turned off (no renegotiation then). */
  async setCamera(track) {
    if (!this.started) {
      if (track) await this.start({ ...this.pending, video: track });
      return;
    }
    await this._set(this.camera, track);
    if (track) await capBitrate(this.camera.sender, CAMERA_MAX_BITRATE, false);
  }

  /** Start (track) or stop (null) sharing the screen: a re-offer either way. */
  async setScreen(track) {
    if (!this.started) {
      if (!track) return;
      // The screen needs the microphone and camera m-lines before it (their order names them).
      this.audio = this.pc.addTransceiver("audio", { direction: "inactive" });
      this.camera = this.pc.addTransceiver("video", { direction: "inactive" });
    }
    if (track) {
      if (!this.screen) {
        this.screen = this.pc.addTransceiver(track, { direction: "sendonly" });
      } else {
        await this.screen.sender.replaceTrack(track);
        this.screen.direction = "sendonly";
      }
    } else if (this.screen) {
      await this.screen.sender.replaceTrack(null);
      this.screen.direction = "inactive";
    }
    await this.negotiate();
  }

  close() {
    this.pc.close();
  }
}

/** The subscribe connection: what the server forwards to us, slot by slot (m-line by m-line). */
export class Subscriber {
  constructor(iceServers, signal, onSlots, onState) {
    this.iceServers = iceServers;
    this.signal = signal;
    this.onSlots = onSlots;
    this.onState = onState;
    this.queue = new Queue();
    this.pc = null;
    this.tracks = {};
  }

  _create() {
    if (this.pc) this.pc.close();
    this.pc = new RTCPeerConnection(rtcConfig(this.iceServers));
    const pc = this.pc;
    pc.addEventListener("connectionstatechange", () => {
      if (pc === this.pc) this.onState(pc.connectionState);
    });
  }

  /** Apply a `subscribe_offer` and answer it. A fresh offer (a new server-side connection,
   * e.g. after a reconnect) that the current connection cannot take gets a new connection. */
  handleOffer(offer) {
    return this.queue.run(async () => {
      if (!this.pc) this._create();
      try {
        await this.pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
      } catch {
        this._create();
        await this.pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
      }
      await this.pc.setLocalDescription(await this.pc.createAnswer());
      await gatheringComplete(this.pc);
      this.tracks = offer.tracks || {};
      this.onSlots(this.slots());
      await this.signal.request("subscribe_answer", { sdp: this.pc.localDescription.sdp });
    });
  }

  /** What each active m-line carries now: participant, label and the receiving track. */
  slots() {
    if (!this.pc) return [];
    const out = [];
    for (const transceiver of this.pc.getTransceivers()) {
      const info = this.tracks[transceiver.mid];
      if (!info || transceiver.currentDirection === "inactive" || transceiver.stopped) continue;
      out.push({
        mid: transceiver.mid,
        participantId: info.participant_id,
        label: normaliseLabel(info.label),
        track: transceiver.receiver.track,
        receiver: transceiver.receiver,
      });
    }
    return out;
  }

  /** Decoding progress per participant, from getStats(): frames decoded, audio samples. */
  async inbound() {
    const out = {};
    for (const slot of this.slots()) {
      const entry = (out[slot.participantId] ||= { video: 0, screen: 0, audio: 0, packets: 0 });
      const report = await slot.receiver.getStats();
      report.forEach((stat) => {
        if (stat.type !== "inbound-rtp") return;
        entry.packets += stat.packetsReceived || 0;
        if (stat.kind === "video") entry[slot.label === "screen" ? "screen" : "video"] += stat.framesDecoded || 0;
        if (stat.kind === "audio") entry.audio += stat.totalSamplesReceived || 0;
      });
    }
    return out;
  }

  /** Everything received on the whole connection, whatever the slots say: packets, frames
   * decoded, audio samples (support staff and tests check isolation with it). */
  async totals() {
    const out = { packets: 0, frames: 0, samples: 0 };
    if (!this.pc) return out;
    (await this.pc.getStats()).forEach((stat) => {
      if (stat.type !== "inbound-rtp") return;
      out.packets += stat.packetsReceived || 0;
      out.frames += stat.framesDecoded || 0;
      out.samples += stat.totalSamplesReceived || 0;
    });
    return out;
  }

  close() {
    if (this.pc) this.pc.close();
    this.pc = null;
    this.tracks = {};
  }
}

/** The contract names labels audio/video/screen; the media layer microphone/camera/screen. */
export function normaliseLabel(label) {
  if (label === "microphone") return "audio";
  if (label === "camera") return "video";
  return label;
}
