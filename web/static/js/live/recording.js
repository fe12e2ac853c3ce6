// Recording in the live page: the flag everyone sees (red dot + "正在录制"), the notice when a
// recording stopped on its own (disk low), and the moderator's start/pause/resume/stop buttons.
// The server decides and tells everyone with the `recording` event; buttons only ask.

const $ = (selector) => document.querySelector(selector);

export class RecordingUi {
  constructor(app) {
    this.app = app;
    this.t = app.t;
    this.status = "stopped";
    this.busy = false;
  }

  init() {
    const ask = (event) => async () => {
      if (this.busy) return;
      this.busy = true;
      this.draw();
      try {
        const ack = await this.app.act(event, {});
        if (ack && ack.recording) this.update(ack.recording);
      } finally {
        this.busy = false;
        this.draw();
      }
    };
    $("#ctl-rec-start").addEventListener("click", ask("recording_start"));
    $("#ctl-rec-pause").addEventListener("click", ask("recording_pause"));
    $("#ctl-rec-resume").addEventListener("click", ask("recording_resume"));
    $("#ctl-rec-stop").addEventListener("click", async () => {
      const ok = await this.app.confirm({
        title: this.t("live.rec.stop_title"),
        body: this.t("live.rec.stop_body"),
        yes: this.t("live.rec.stop"),
        no: this.t("live.cancel"),
        danger: true,
      });
      if (ok) await ask("recording_stop")();
    });
  }

  /** The `recording` event (or an ack): `{active, status, since, reason?, message?}`. */
  update(payload) {
    const status = payload.status || (payload.active ? "recording" : "stopped");
    const changed = status !== this.status;
    this.status = status;
    const notice = $("#rec-notice");
    if (payload.message) {
      notice.textContent = payload.message;
      notice.hidden = false;
    } else if (status !== "stopped") {
      notice.hidden = true;
    }
    if (changed && status === "recording") notice.hidden = true;
    this.draw();
  }

  draw() {
    const flag = $("#rec-flag");
    flag.dataset.status = this.status;
    const declined = this.app.config.consent === "declined";
    const key =
      this.status === "recording"
        ? declined
          ? "live.rec.recording_not_you"
          : "live.rec.recording"
        : this.status === "paused"
          ? "live.rec.paused"
          : "live.rec.stopped";
    flag.querySelector(".rec-text").textContent = this.t(key);
    const moderator = Boolean(this.app.me && this.app.me.moderator);
    $("#rec-controls").hidden = !moderator;
    const show = (id, visible) => {
      const button = $(id);
      button.hidden = !visible;
      button.disabled = this.busy;
    };
    show("#ctl-rec-start", this.status === "stopped");
    show("#ctl-rec-pause", this.status === "recording");
    show("#ctl-rec-resume", this.status === "paused");
    show("#ctl-rec-stop", this.status !== "stopped");
  }
}
