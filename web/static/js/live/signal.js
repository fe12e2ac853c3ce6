// The signalling connection: socket.io (vendored, global `io`) to the `/live` namespace, with
// acknowledged requests. Reconnection is socket.io's own; the caller re-runs hello/publish.

/** A refused request: `code` is a catalogue key, `message` already translated. */
export class SignalError extends Error {
  constructor(error, event) {
    super((error && error.message) || event);
    this.code = (error && error.code) || "live.error.request_failed";
    this.event = event;
  }
}

export class Signal {
  constructor(config) {
    // eslint-disable-next-line no-undef
    this.socket = io(config.namespace, {
      path: config.socket_path,
      // Staff may hold seats in several hearings: name the one (the server checks the seat).
      auth: { hearing_id: config.hearing_id },
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 3000,
      randomizationFactor: 0.3,
      timeout: 8000,
    });
  }

  on(event, handler) {
    this.socket.on(event, handler);
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

  close() {
    this.socket.io.opts.reconnection = false;
    this.socket.disconnect();
  }
}
