// Cameras, microphones and speakers: opening them with fallbacks, naming what went wrong,
// the microphone level meter, the speaker test tone, and the person's saved choices.

const PREFS_KEY = "bilin.live.devices";

/** The person's device choices, kept in this browser between the join and live pages. */
export function loadPrefs() {
  const defaults = { cameraId: "", microphoneId: "", speakerId: "", video: true, audio: true };
  try {
    return { ...defaults, ...JSON.parse(localStorage.getItem(PREFS_KEY) || "{}") };
  } catch {
    return defaults;
  }
}

export function savePrefs(prefs) {
  try {
    localStorage.setItem(PREFS_KEY, JSON.stringify(prefs));
  } catch {
    // Private mode or storage disabled: the choices last for this page only.
  }
}

/** What a failed getUserMedia means to a person: denied, none, busy, insecure or other. */
export function problemOf(error) {
  if (!error) return null;
  switch (error.name) {
    case "NotAllowedError":
    case "PermissionDeniedError":
    case "SecurityError":
      return "denied";
    case "NotFoundError":
    case "DevicesNotFoundError":
    case "OverconstrainedError":
      return "none";
    case "NotReadableError":
    case "TrackStartError":
    case "AbortError":
      return "busy";
    case "InsecureContext":
      return "insecure";
    default:
      return "other";
  }
}

export const CAMERA_CONSTRAINTS = {
  width: { ideal: 640 },
  height: { ideal: 360 },
  frameRate: { ideal: 24, max: 30 },
};

function videoConstraints(cameraId) {
  return cameraId ? { ...CAMERA_CONSTRAINTS, deviceId: { exact: cameraId } } : { ...CAMERA_CONSTRAINTS };
}

function audioConstraints(microphoneId) {
  const base = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  return microphoneId ? { ...base, deviceId: { exact: microphoneId } } : base;
}

async function getOne(kind, deviceId) {
  const constraints = kind === "video" ? { video: videoConstraints(deviceId) } : { audio: audioConstraints(deviceId) };
  try {
    return { track: (await navigator.mediaDevices.getUserMedia(constraints)).getTracks()[0], problem: null };
  } catch (error) {
    if (deviceId && (error.name === "OverconstrainedError" || error.name === "NotFoundError")) {
      // The saved device is gone (unplugged, another computer): take the default one.
      return getOne(kind, "");
    }
    return { track: null, problem: problemOf(error) };
  }
}

/**
 * Open the microphone and camera that `want` asks for. One permission prompt when both work;
 * when the pair fails, each is tried alone so a missing camera does not cost the microphone.
 * Resolves to `{ audio, video, audioProblem, videoProblem }` (tracks or null).
 */
export async function openDevices(want) {
  const result = { audio: null, video: null, audioProblem: null, videoProblem: null };
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    if (want.audio) result.audioProblem = "insecure";
    if (want.video) result.videoProblem = "insecure";
    return result;
  }
  if (!want.audio && !want.video) return result;
  if (want.audio && want.video) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: audioConstraints(want.microphoneId),
        video: videoConstraints(want.cameraId),
      });
      result.audio = stream.getAudioTracks()[0] || null;
      result.video = stream.getVideoTracks()[0] || null;
      return result;
    } catch (error) {
      if (problemOf(error) === "denied") {
        result.audioProblem = result.videoProblem = "denied";
        return result;
      }
    }
  }
  if (want.audio) {
    const { track, problem } = await getOne("audio", want.microphoneId);
    result.audio = track;
    result.audioProblem = problem;
  }
  if (want.video) {
    const { track, problem } = await getOne("video", want.cameraId);
    result.video = track;
    result.videoProblem = problem;
  }
  return result;
}

/** The devices of each kind, labelled (labels appear once permission was given). */
export async function listDevices() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) {
    return { videoinput: [], audioinput: [], audiooutput: [] };
  }
  const all = await navigator.mediaDevices.enumerateDevices();
  const out = { videoinput: [], audioinput: [], audiooutput: [] };
  for (const device of all) {
    if (out[device.kind] && device.deviceId) out[device.kind].push(device);
  }
  return out;
}

/** Whether audio output can be chosen in this browser. */
export function canChooseSpeaker() {
  return typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;
}

let sharedContext = null;

/** One AudioContext per page (browsers limit them), resumed on first use. */
export function audioContext() {
  if (!sharedContext) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    sharedContext = new Ctx();
  }
  if (sharedContext.state === "suspended") sharedContext.resume().catch(() => {});
  return sharedContext;
}

/**
 * Microphone level through a Web Audio AnalyserNode: calls `onLevel(0..1)` about 15 times a
 * second. Returns a function that stops it.
 */
export function meterLevel(track, onLevel) {
  const ctx = audioContext();
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    const rms = Math.sqrt(sum / samples.length);
    // Speech sits around -40..-10 dBFS: map -60..0 dB onto 0..1.
    const db = 20 * Math.log10(rms || 1e-8);
    onLevel(Math.max(0, Math.min(1, (db + 60) / 60)));
  }, 66);
  return () => {
    clearInterval(timer);
    source.disconnect();
    analyser.disconnect();
  };
}

/**
 * A short two-note chime generated with Web Audio (no sound file), on the chosen speaker when
 * the browser can route audio. Resolves when it has played.
 */
export async function playTestTone(speakerId) {
  const ctx = new (window.AudioContext || window.webkitAudioContext)();
  try {
    if (speakerId && typeof ctx.setSinkId === "function") await ctx.setSinkId(speakerId);
    await ctx.resume();
    const gain = ctx.createGain();
    gain.connect(ctx.destination);
    const start = ctx.currentTime + 0.05;
    [
      [660, 0],
      [880, 0.45],
    ].forEach(([freq, offset]) => {
      const osc = ctx.createOscillator();
      osc.type = "sine";
      osc.frequency.value = freq;
      const env = ctx.createGain();
      env.gain.setValueAtTime(0, start + offset);
      env.gain.linearRampToValueAtTime(0.25, start + offset + 0.03);
      env.gain.exponentialRampToValueAtTime(0.001, start + offset + 0.4);
      osc.connect(env).connect(gain);
      osc.start(start + offset);
      osc.stop(start + offset + 0.42);
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
  } finally {
    ctx.close().catch(() => {});
  }
}

export function stopTracks(...tracks) {
  for (const track of tracks) if (track) track.stop();
}
