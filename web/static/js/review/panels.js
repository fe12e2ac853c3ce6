// The side panels of the review page: transcript (click a line to seek; the current line is
// highlighted), bookmarks (add at the current time, seek, delete one's own) and releasing a
// caucus room to the court (with a confirm step).

import { fill, formatTime } from "./time.js";

async function send(method, url, csrf, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    let message = String(response.status);
    try {
      message = (await response.json()).error.message;
    } catch {
      // not JSON: the status says enough
    }
    throw new Error(message);
  }
  return response.status === 204 ? null : response.json();
}

export class Panels {
  constructor(root, data, strings, sessionId, player) {
    this.data = data;
    this.strings = strings;
    this.player = player;
    this.csrf = root.dataset.csrf;
    this.base = `/api/recordings/${sessionId}`;
    this.lines = [];
    this.current = null;
    this.renderTranscript();
    this.bookmarks = [...data.bookmarks];
    this.renderBookmarks();
    document.getElementById("rv-bookmark-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.addBookmark();
    });
    this.setUpRelease();
  }

  seekButton(ms) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn-link time-link";
    button.textContent = formatTime(ms);
    button.setAttribute("aria-label", fill(this.strings.seek_to, { time: formatTime(ms) }));
    button.addEventListener("click", () => this.player.seek(ms));
    return button;
  }

  renderTranscript() {
    const lines = this.data.transcript;
    if (!lines.length) return;
    document.getElementById("rv-transcript-panel").hidden = false;
    const list = document.getElementById("rv-transcript");
    for (const line of lines) {
      const item = document.createElement("li");
      item.className = "line";
      item.dataset.start = String(line.start_ms);
      item.dataset.end = String(line.end_ms);
      const speaker = document.createElement("span");
      speaker.className = "speaker";
      speaker.textContent = line.speaker;
      const text = document.createElement("button");
      text.type = "button";
      text.className = "line-text";
      text.textContent = line.text;
      text.addEventListener("click", () => this.player.seek(line.start_ms));
      item.append(this.seekButton(line.start_ms), " ", speaker, " ");
      if (line.status === "machine_draft") {
        const draft = document.createElement("span");
        draft.className = "badge badge-draft";
        draft.textContent = this.strings.machine_draft;
        item.append(draft, " ");
      }
      item.append(text);
      list.append(item);
      this.lines.push({ item, start: line.start_ms, end: line.end_ms });
    }
  }

  highlight(ms) {
    const hit = this.lines.find((l) => l.start <= ms && ms < l.end) || null;
    if (hit === this.current) return;
    if (this.current) this.current.item.removeAttribute("aria-current");
    this.current = hit;
    if (hit) {
      hit.item.setAttribute("aria-current", "true");
      const list = hit.item.parentElement;
      const top = hit.item.offsetTop - list.offsetTop;
      if (top < list.scrollTop || top > list.scrollTop + list.clientHeight - hit.item.offsetHeight) {
        list.scrollTop = Math.max(0, top - list.clientHeight / 3);
      }
    }
  }

  renderBookmarks() {
    const list = document.getElementById("rv-bookmarks");
    list.replaceChildren();
    this.bookmarks.sort((a, b) => a.offset_ms - b.offset_ms || a.id - b.id);
    for (const mark of this.bookmarks) {
      const item = document.createElement("li");
      item.className = "bookmark";
      item.dataset.bookmark = String(mark.id);
      const note = document.createElement("span");
      note.className = "bookmark-note";
      note.textContent = mark.note;
      const who = document.createElement("span");
      who.className = "muted";
      who.textContent = ` · ${mark.staff_name}`;
      item.append(this.seekButton(mark.offset_ms), " ", note, who);
      if (mark.own) {
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "btn-link danger";
        remove.textContent = this.strings.delete;
        remove.setAttribute("aria-label", fill(this.strings.delete_label, { time: formatTime(mark.offset_ms) }));
        remove.addEventListener("click", () => this.deleteBookmark(mark));
        item.append(" ", remove);
      }
      list.append(item);
    }
    document.getElementById("rv-bookmarks-empty").hidden = this.bookmarks.length > 0;
  }

  async addBookmark() {
    const input = document.getElementById("rv-bookmark-note");
    try {
      const mark = await send("POST", `${this.base}/bookmarks`, this.csrf, {
        offset_ms: Math.round(this.player.now()),
        note: input.value,
      });
      this.bookmarks.push(mark);
      input.value = "";
      this.renderBookmarks();
      this.player.say(this.strings.added);
    } catch (error) {
      this.player.say(fill(this.strings.error, { message: error.message }));
    }
  }

  async deleteBookmark(mark) {
    try {
      await send("DELETE", `${this.base}/bookmarks/${mark.id}`, this.csrf);
      this.bookmarks = this.bookmarks.filter((m) => m.id !== mark.id);
      this.renderBookmarks();
      this.player.say(this.strings.deleted);
    } catch (error) {
      this.player.say(fill(this.strings.error, { message: error.message }));
    }
  }

  setUpRelease() {
    const form = document.getElementById("rv-release-form");
    if (!form) return;
    const select = document.getElementById("rv-release-room");
    const releasable = new Set(this.data.releasable_rooms);
    for (const option of [...select.options]) {
      if (!releasable.has(option.value)) option.remove();
    }
    const none = document.getElementById("rv-release-none");
    if (!select.options.length) {
      form.hidden = true;
      none.hidden = false;
      return;
    }
    const confirm = document.getElementById("rv-release-confirm");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!form.reportValidity()) return;
      confirm.hidden = false;
      document.getElementById("rv-release-yes").focus();
    });
    document.getElementById("rv-release-no").addEventListener("click", () => {
      confirm.hidden = true;
      select.focus();
    });
    document.getElementById("rv-release-yes").addEventListener("click", async () => {
      try {
        await send("POST", `${this.base}/releases`, this.csrf, {
          sub_room: select.value,
          reason: document.getElementById("rv-release-reason").value,
          confirm: true,
        });
        confirm.hidden = true;
        select.selectedOptions[0].remove();
        document.getElementById("rv-release-reason").value = "";
        if (!select.options.length) {
          form.hidden = true;
          none.hidden = false;
        }
        this.player.say(this.strings.released);
      } catch (error) {
        this.player.say(fill(this.strings.error, { message: error.message }));
      }
    });
  }
}
