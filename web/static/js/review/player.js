// The review page's player: every track of a recording session on one master clock.
//
// Each track plays from its own MediaSource. Segment files are complete WebM (or fragmented
// MP4) files whose timestamps are already on the session clock, so appending them in
// "segments" mode puts the media at the right session time; the element's currentTime *is*
// the session time (in seconds). Only the segments around the playhead are fetched (about
// 20 s ahead), and what lies far behind is evicted: opening a one-hour session loads a few
// hundred kilobytes, never the hour.
//
// The master clock runs on the wall clock while playing; every element follows it (a drift
// over 100 ms is corrected by seeking, a smaller one by nudging playbackRate), and the clock
// waits while a track that has media at the playhead is still loading.

import { Timeline } from "./timeline.js";
import { Panels } from "./panels.js";
import { formatTime } from "./time.js";

const AHEAD_MS = 20_000; // fetch this far ahead of the playhead
const BEHIND_MS = 30_000; // evict media this far behind it
const WINDOW_MS = 120_000; // segment lists are asked for in windows of this length
const HARD_DRIFT_S = 0.1;
const SOFT_DRIFT_S = 0.03;
const TICK_MS = 100;
const STALL_GIVE_UP_MS = 4_000; // a track that cannot load stops holding the clock back
const RETRY_MS = 5_000;

const root = document.getElementById("review");
const strings = JSON.parse(document.getElementById("review-strings").textContent);
const sessionId = root.dataset.session;
const viewKey = root.dataset.view;
const statusLine = document.getElementById("review-status");

function say(text) {
  statusLine.textContent = text;
}

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${response.status} ${url}`);
  return response.json();
}

/** The master clock: session time in ms, advancing with the wall clock while running. */
class Clock {
  constructor() {
    this.base = 0;
    this.since = performance.now();
    this.running = false;
  }
  now() {
    return this.running ? this.base + (performance.now() - this.since) : this.base;
  }
  set(ms) {
    this.base = ms;
    this.since = performance.now();
  }
  run(yes) {
    if (yes === this.running) return;
    this.base = this.now();
    this.since = performance.now();
    this.running = yes;
  }
}

/** Which segments exist, per track, learnt window by window from the API. */
class SegmentIndex {
  constructor() {
    this.byTrack = new Map(); // track id -> Map(segment id -> {id, start, end})
    this.windows = []; // [from, to] already asked
    this.pending = null;
  }
  covered(from, to) {
    return this.windows.some(([a, b]) => a <= from && b >= to);
  }
  async ensure(fromMs, toMs) {
    const from = Math.max(0, fromMs);
    if (this.covered(from, toMs)) return;
    if (this.pending) {
      await this.pending;
      if (this.covered(from, toMs)) return;
    }
    const to = from + WINDOW_MS;
    this.pending = getJson(`/api/recordings/${sessionId}/segments?from_ms=${Math.floor(from)}&to_ms=${Math.floor(to)}`)
      .then((body) => this.add(body))
      .finally(() => {
        this.pending = null;
      });
    await this.pending;
  }
  /** Take in one answer of the segments API. */
  add(body) {
    for (const [trackId, rows] of Object.entries(body.tracks)) {
      if (!this.byTrack.has(trackId)) this.byTrack.set(trackId, new Map());
      const known = this.byTrack.get(trackId);
      for (const [id, start, end] of rows) known.set(id, { id, start, end });
    }
    this.windows.push([body.from_ms, body.to_ms]);
  }
  /** Segments of a track overlapping [from, to], in time order. */
  between(trackId, from, to) {
    const known = this.byTrack.get(String(trackId));
    if (!known) return [];
    return [...known.values()].filter((s) => s.start <= to && s.end > from).sort((a, b) => a.start - b.start);
  }
  /** Whether the track has recorded media at ``ms``. */
  hasMedia(trackId, ms) {
    return this.between(trackId, ms, ms).length > 0;
  }
}

/** One track: a media element fed from a MediaSource, segment by segment. */
class TrackPlayer {
  constructor(track, element, index) {
    this.track = track;
    this.element = element;
    this.index = index;
    this.appended = new Set();
    this.busy = false;
    this.failed = false;
    this.waitingSince = null;
    this.correctedAt = 0;
    this.source = new MediaSource();
    this.buffer = null;
    this.ready = new Promise((resolve) => {
      this.source.addEventListener("sourceopen", () => {
        this.buffer = this.source.addSourceBuffer(track.mime);
        this.buffer.mode = "segments";
        resolve();
      }, { once: true });
    });
    element.src = URL.createObjectURL(this.source);
  }

  bufferedAt(ms) {
    const t = ms / 1000;
    const ranges = this.element.buffered;
    for (let i = 0; i < ranges.length; i++) {
      if (ranges.start(i) <= t + 0.05 && ranges.end(i) >= t + 0.08) return true;
    }
    return false;
  }

  async append(data) {
    await new Promise((resolve, reject) => {
      const done = () => { cleanup(); resolve(); };
      const fail = () => { cleanup(); reject(new Error("append failed")); };
      const cleanup = () => {
        this.buffer.removeEventListener("updateend", done);
        this.buffer.removeEventListener("error", fail);
      };
      this.buffer.addEventListener("updateend", done);
      this.buffer.addEventListener("error", fail);
      this.buffer.appendBuffer(data);
    });
  }

  async remove(fromS, toS) {
    if (toS <= fromS) return;
    await new Promise((resolve) => {
      this.buffer.addEventListener("updateend", resolve, { once: true });
      this.buffer.remove(fromS, toS);
    });
  }

  /** Fetch and append the next segment the playhead needs; evict what is far behind. */
  async fill(index, playheadMs) {
    if (this.busy || this.failed) return;
    this.busy = true;
    try {
      const wanted = index.between(this.track.id, playheadMs, playheadMs + AHEAD_MS - 1);
      const next = wanted.find((s) => !this.appended.has(s.id));
      if (next) {
        // The request goes out at once; the MediaSource opens meanwhile.
        const response = await fetch(`/recordings/${sessionId}/segments/${next.id}?v=${viewKey}`, { credentials: "same-origin" });
        if (!response.ok) throw new Error(`segment ${next.id}: ${response.status}`);
        const data = await response.arrayBuffer();
        await this.ready;
        await this.append(data);
        this.appended.add(next.id);
        loadedBytes.value += Number(response.headers.get("Content-Length") || 0);
      } else if (this.buffer) {
        await this.evict(index, playheadMs);
      }
    } catch (error) {
      console.error(error);
      // Shown on the tile; tried again a little later (a network blip need not end it).
      this.failed = true;
      setTimeout(() => { this.failed = false; }, RETRY_MS);
    } finally {
      this.busy = false;
    }
  }

  async evict(index, playheadMs) {
    const ranges = this.element.buffered;
    if (!ranges.length) return;
    // Cut on segment boundaries, so a segment is either whole in the buffer or forgotten
    // (and fetched again if the playhead comes back to it).
    let keepFromMs = playheadMs - BEHIND_MS;
    let keepToMs = playheadMs + AHEAD_MS + WINDOW_MS;
    for (const s of index.between(this.track.id, keepFromMs, keepFromMs)) keepFromMs = Math.min(keepFromMs, s.start);
    for (const s of index.between(this.track.id, keepToMs, keepToMs)) keepToMs = Math.max(keepToMs, s.end);
    const keepFrom = keepFromMs / 1000;
    const keepTo = keepToMs / 1000;
    const start = ranges.start(0);
    const end = ranges.end(ranges.length - 1);
    if (start < keepFrom - 1) {
      await this.remove(start, keepFrom);
      this.forget(index, 0, keepFrom * 1000);
    } else if (end > keepTo + 1) {
      await this.remove(keepTo, end);
      this.forget(index, keepTo * 1000, Infinity);
    }
  }

  forget(index, fromMs, toMs) {
    for (const s of index.between(this.track.id, fromMs, toMs)) {
      if (s.start >= fromMs && s.end <= toMs) this.appended.delete(s.id);
    }
  }

  /** Follow the master clock; returns whether this track holds the clock back. */
  follow(index, playheadMs, playing) {
    const el = this.element;
    const has = index.hasMedia(this.track.id, playheadMs);
    const here = has && this.bufferedAt(playheadMs);
    this.setState(here ? "playing" : has ? (this.failed ? "failed" : "loading") : "empty");
    const t = playheadMs / 1000;
    if (!here) {
      if (!el.paused) el.pause();
      if (has && !this.failed) {
        this.waitingSince ??= performance.now();
        return performance.now() - this.waitingSince < STALL_GIVE_UP_MS;
      }
      this.waitingSince = null;
      return false;
    }
    this.waitingSince = null;
    const drift = el.currentTime - t;
    const now = performance.now();
    if (Math.abs(drift) > HARD_DRIFT_S && now - this.correctedAt > 300) {
      el.currentTime = t;
      el.playbackRate = 1;
      this.correctedAt = now;
    } else if (Math.abs(drift) > SOFT_DRIFT_S) {
      el.playbackRate = Math.min(1.1, Math.max(0.9, 1 - drift * 2));
    } else if (el.playbackRate !== 1) {
      el.playbackRate = 1;
    }
    if (playing && el.paused) {
      el.currentTime = t;
      el.play().catch(() => {});
    } else if (!playing && !el.paused) {
      el.pause();
    }
    return false;
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    const tile = this.element.closest("[data-track]");
    const marker = tile.querySelector("[data-state]");
    marker.dataset.state = state;
    const isVideo = this.track.kind === "video";
    const text = {
      empty: isVideo ? strings.no_media : strings.no_audio,
      loading: strings.buffering,
      failed: strings.load_failed,
      playing: "",
    }[state];
    const span = marker.querySelector("span") || marker;
    span.textContent = text;
    marker.hidden = state === "playing";
  }
}

const loadedBytes = { value: 0 };

class Player {
  constructor(data, firstWindow) {
    this.data = data;
    this.clock = new Clock();
    this.index = new SegmentIndex();
    if (firstWindow) this.index.add(firstWindow);
    this.wantPlaying = false;
    this.duration = data.duration_ms;
    this.tracks = [];
    // Pictures first: the browser opens six connections per server, and a tile's first
    // frame matters more than the first syllable.
    const ordered = [...data.tracks].sort((a, b) => (a.kind === "video" ? 0 : 1) - (b.kind === "video" ? 0 : 1));
    for (const track of ordered) {
      const holder = root.querySelector(`[data-track="${track.id}"]`);
      if (!holder) continue;
      const element = holder.querySelector("video, audio");
      this.tracks.push(new TrackPlayer(track, element, this.tracks.length));
    }
    this.playButton = document.getElementById("rv-play");
    this.seekBar = document.getElementById("rv-seek");
    this.timeOut = document.getElementById("rv-time");
    this.playButton.addEventListener("click", () => this.toggle());
    this.seekBar.addEventListener("input", () => this.seek(Number(this.seekBar.value)));
    document.addEventListener("keydown", (event) => this.key(event));
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.tick();
  }

  key(event) {
    const target = event.target;
    const typing = target instanceof HTMLElement && (target.isContentEditable || ["TEXTAREA", "SELECT"].includes(target.tagName) || (target.tagName === "INPUT" && target.type !== "range"));
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === " " || event.code === "Space") {
      if (target.tagName === "BUTTON" && target !== this.playButton) return;
      event.preventDefault();
      this.toggle();
    } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      event.preventDefault();
      this.seek(this.clock.now() + (event.key === "ArrowLeft" ? -5000 : 5000));
    }
  }

  toggle() {
    this.wantPlaying = !this.wantPlaying;
    if (!this.wantPlaying) this.clock.run(false);
    this.playButton.textContent = this.wantPlaying ? strings.pause : strings.play;
    this.playButton.setAttribute("aria-pressed", String(this.wantPlaying));
    this.tick();
  }

  seek(ms) {
    const target = Math.max(0, Math.min(this.duration, ms));
    this.clock.set(target);
    for (const player of this.tracks) {
      if (player.bufferedAt(target)) player.element.currentTime = target / 1000;
      player.correctedAt = 0;
    }
    this.tick();
  }

  tick() {
    let now = this.clock.now();
    if (now >= this.duration && this.clock.running) {
      this.clock.set(this.duration);
      this.clock.run(false);
      this.wantPlaying = false;
      this.playButton.textContent = strings.play;
      now = this.duration;
    }
    this.index.ensure(now - 5_000, now + AHEAD_MS + 10_000).catch(() => say(strings.load_failed));
    let holding = false;
    for (const player of this.tracks) {
      if (player.follow(this.index, now, this.clock.running)) holding = true;
      player.fill(this.index, now);
    }
    // Start (or keep) the clock only when every track with media here can play it.
    this.clock.run(this.wantPlaying && !holding);
    if (holding && this.wantPlaying) say(strings.buffering);
    else if (statusLine.textContent === strings.buffering) say("");
    if (document.activeElement !== this.seekBar || this.clock.running) this.seekBar.value = String(Math.round(now));
    const text = `${formatTime(now)} / ${formatTime(this.duration)}`;
    if (this.timeOut.textContent !== text) this.timeOut.textContent = text;
    this.seekBar.setAttribute("aria-valuetext", formatTime(now));
    this.onTick?.(now);
  }

  /** What tests and the benchmark read: the master clock and every element's time. */
  state() {
    return {
      masterMs: this.clock.now(),
      playing: this.clock.running,
      bytes: loadedBytes.value,
      tiles: this.tracks.map((p) => ({
        track: p.track.id,
        kind: p.track.kind,
        currentTime: p.element.currentTime,
        paused: p.element.paused,
        state: p.state,
        frames: p.element.getVideoPlaybackQuality ? p.element.getVideoPlaybackQuality().totalVideoFrames : null,
        width: p.element.videoWidth ?? null,
      })),
    };
  }
}

async function main() {
  if (!("MediaSource" in window)) {
    say(strings.unsupported);
    return;
  }
  // The page brings the session's data and the first two minutes' segments with it.
  const embedded = JSON.parse(document.getElementById("review-data").textContent);
  const data = embedded.review;
  const player = new Player(data, embedded.window);
  const timeline = new Timeline(data, strings, (ms) => player.seek(ms));
  const panels = new Panels(root, data, strings, sessionId, {
    seek: (ms) => player.seek(ms),
    now: () => player.clock.now(),
    say,
  });
  player.onTick = (ms) => panels.highlight(ms);
  timeline.render();
  window.bilinReview = player;
  // A link to a moment (e.g. a transcript line elsewhere): /recordings/<id>#t=<ms>.
  const seekToHash = () => {
    const match = /^#t=(\d+)$/.exec(window.location.hash);
    if (match) player.seek(Number(match[1]));
  };
  window.addEventListener("hashchange", seekToHash);
  seekToHash();
}

main();
