// The signalling connection: socket.io (vendored, global `io`) to the `/live` namespace, with
// acknowledged requests. Reconnection is socket.io's own; the caller re-runs hello/publish.
//
// With several media workers the hearing's room lives on one of them: before connecting, and
// again whenever reconnecting keeps failing (its worker died), the page asks the server where
// the room is (`/api/live/worker`) and opens socket.io there. A worker that does not hold the
// room refuses with `error.live_wrong_worker` and the path to use.

/** A refused request: `code` is a catalogue key, `message` already translated. */
export class SignalError extends Error {
  constructor(error, event) {
    super((error && error.message) || event);
    this.code = (error && error.code) || "live.error.request_failed";
    this.event = event;
  }
}

const WRONG_WORKER = "error.live_wrong_worker";

export class Signal {
  constructor(config) {
    this.config = config;
    this.handlers = [];
    this.failures = 0;
    this.path = config.socket_path;
    this.closed = false;
    this.socket = this.open(this.path);
    this.locate().then((path) => {
      if (this.closed) return;
      if (path && path !== this.path) this.relocate(path);
      else this.socket.connect();
    });
  }

  open(path) {
    // eslint-disable-next-line no-undef
    const socket = io(this.config.namespace, {
      path,
      // Staff may hold seats in several hearings: name the one (the server checks the seat).
      auth: { hearing_id: this.config.hearing_id },
      autoConnect: false,
      forceNew: true,
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 3000,
      randomizationFactor: 0.3,
      timeout: 8000,
    });
    socket.on("connect", () => {
      this.failures = 0;
    });
    socket.on("connect_error", (error) => this.onConnectError(error));
    for (const [event, handler] of this.handlers) {
      if (event === "connect_error") continue;
      socket.on(event, handler);
    }
    return socket;
  }

  /** Where the hearing's room is now (the current path when the server cannot say). */
  async locate() {
    if (!this.config.worker_url) return this.path;
    try {
      const response = await fetch(this.config.worker_url, { credentials: "same-origin" });
      if (!response.ok) return this.path;
      const body = await response.json();
      return body.socket_path || this.path;
    } catch (error) {
      return this.path;
    }
  }

  relocate(path) {
    const old = this.socket;
    old.off();
    old.io.opts.reconnection = false;
    old.disconnect();
    this.path = path;
    this.socket = this.open(path);
    this.socket.connect();
  }

  async onConnectError(error) {
    const data = (error && error.data) || {};
    if (data.code === WRONG_WORKER && data.socket_path) {
      // Not this worker's hearing: go where the server says, without bothering the person.
      this.relocate(data.socket_path);
      return;
    }
    for (const [event, handler] of this.handlers) {
      if (event === "connect_error") handler(error);
    }
    if (!this.socket.active || this.closed) return;
    this.failures += 1;
    if (this.failures >= 2) {
      // Still failing: its worker may have died and the room moved.
      const path = await this.locate();
      if (!this.closed && path !== this.path) this.relocate(path);
    }
  }

  on(event, handler) {
    this.handlers.push([event, handler]);
    if (event !== "connect_error") this.socket.on(event, handler);
  }

  /** Send `event` and wait for its ack; rejects with SignalError when refused or unanswered. */
  request(event, payload = {}, timeoutMs = 15000) {
    return new Promise((resolve, reject) => {
      this.socket.timeout(timeoutMs).emit(event, payload, (err, ack) => {
        if (err) reject(new SignalError({ code: "live.error.timeout" }, event));
        else if (!ack || ack.ok !== true) reject(new SignalError(ack && ack.error, event));
        else resolve(ack);
      });
    });
  }

  /** Fire-and-forget for chatty updates (speaking, media state): errors only logged. */
  send(event, payload = {}) {
    if (!this.socket.connected) return;
    this.request(event, payload).catch((error) => console.warn(event, error.code));
  }

  get connected() {
    return this.socket.connected;
  }

  /** Which socket.io path the page uses now (tests read which worker it reached). */
  get socketPath() {
    return this.path;
  }

  close() {
    this.closed = true;
    this.socket.io.opts.reconnection = false;
    this.socket.disconnect();
  }
}
