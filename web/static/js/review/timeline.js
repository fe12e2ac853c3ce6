// The session's timeline: marks on the seek bar (gaps as hatched ranges) and a list of
// events, each a button that seeks there.

import { fill, formatTime } from "./time.js";

export class Timeline {
  constructor(data, strings, seek) {
    this.data = data;
    this.strings = strings;
    this.seek = seek;
    this.marks = document.getElementById("rv-marks");
    this.list = document.getElementById("rv-events");
  }

  label(event) {
    const name = this.strings.events[event.kind] || event.kind;
    return event.participant_name ? `${name} · ${event.participant_name}` : name;
  }

  render() {
    const duration = Math.max(1, this.data.duration_ms);
    const percent = (ms) => `${Math.min(100, Math.max(0, (ms / duration) * 100))}%`;
    this.marks.replaceChildren();
    this.list.replaceChildren();
    for (const event of this.data.events) {
      if (event.kind === "gap" && Number.isFinite(event.detail.from_ms) && Number.isFinite(event.detail.to_ms)) {
        const gap = document.createElement("span");
        gap.className = "mark-gap";
        gap.style.left = percent(event.detail.from_ms);
        gap.style.width = `${Math.max(0.3, ((event.detail.to_ms - event.detail.from_ms) / duration) * 100)}%`;
        gap.title = this.label(event);
        this.marks.append(gap);
      } else {
        const mark = document.createElement("span");
        mark.className = `mark mark-${event.kind}`;
        mark.style.left = percent(event.offset_ms);
        mark.title = `${formatTime(event.offset_ms)} ${this.label(event)}`;
        this.marks.append(mark);
      }
      const item = document.createElement("li");
      item.className = `event event-${event.kind}`;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn-link";
      button.textContent = formatTime(event.offset_ms);
      button.setAttribute("aria-label", fill(this.strings.seek_to, { time: formatTime(event.offset_ms) }));
      button.addEventListener("click", () => this.seek(event.offset_ms));
      const text = document.createElement("span");
      text.textContent = ` ${this.label(event)}`;
      item.append(button, text);
      this.list.append(item);
    }
  }
}
