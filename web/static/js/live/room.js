// Drawing the live page from the server's `state`: the waiting room, video tiles, the side
// panel (people, moderator tools, chat), controls, dialogs and announcements.
import { $, $$, api, h, icon } from "./common.js";

const PARTY_SIDE = new Set(["applicant", "respondent", "agent"]);

function initial(name) {
  return (name || "?").trim().slice(0, 1);
}

function timeOf(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export class Room {
  constructor(app) {
    this.app = app;
    this.t = app.t;
    this.tiles = new Map(); // key → <li>
    this.audios = new Map(); // mid → <audio>
    this.slots = [];
    this.chatIds = new Set();
    this.unread = 0;
    this.sideTab = null;
    this.publishState = "new";
    this.subscribeState = "new";
    this.lastWaiting = 0;
    this.prevLocation = null;
    this.refusedMessage = null;
  }

  init() {
    const app = this.app;
    $("#ctl-mic").addEventListener("click", () => app.toggleMic());
    $("#ctl-cam").addEventListener("click", () => app.toggleCamera());
    $("#ctl-screen").addEventListener("click", () => app.toggleScreen());
    $("#ctl-hand").addEventListener("click", () => app.toggleHand());
    $("#ctl-leave").addEventListener("click", () => app.leave());
    $("#ctl-people").addEventListener("click", () => this.toggleSide("people"));
    $("#ctl-chat").addEventListener("click", () => this.toggleSide("chat"));
    $("#side-close").addEventListener("click", () => this.toggleSide(null));
    $("#tab-people").addEventListener("click", () => this.openSide("people"));
    $("#tab-chat").addEventListener("click", () => this.openSide("chat"));
    for (const tab of $$('[role="tab"]')) {
      tab.addEventListener("keydown", (e) => {
        if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
          this.openSide(this.sideTab === "chat" ? "people" : "chat");
          $(`#tab-${this.sideTab}`).focus();
        }
      });
    }
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.sideTab && !$("#dialog").open) this.toggleSide(null);
    });
    $("#chat-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.sendChat();
    });
    $("#chat-text").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.sendChat();
      }
    });
    $("#admit-all").addEventListener("click", () => app.act("admit", { all: true }));
    $("#mute-all").addEventListener("click", () => app.act("mute", { participant_id: null, kind: "audio" }));
    $("#caucus-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const input = $("#caucus-label");
      const label = input.value.trim();
      if (!label) return;
      const ack = await app.act("open_caucus", { label });
      if (ack) {
        input.value = "";
        this.toast(this.t("live.mod.caucus_opened", { label }));
      }
    });
    this.show("connecting");
  }

  // ------------------------------------------------------------ views

  show(view) {
    $("#live-app").dataset.view = view;
    $("#connecting").hidden = view !== "connecting";
    $("#waiting").hidden = view !== "waiting";
    $("#ended").hidden = view !== "ended";
    $("#stage").hidden = view !== "room";
    $("#controls").hidden = view === "ended" || view === "connecting";
    if (view !== "room") this.toggleSide(null);
  }

  banner(text, tone = "info") {
    const el = $("#banner");
    el.hidden = !text;
    el.textContent = text || "";
    el.dataset.tone = tone;
    $("#live-app").dataset.connected = text ? "no" : "yes";
  }

  toast(text) {
    if (!text) return;
    const el = h("p", { class: "toast", text });
    $("#toasts").append(el);
    setTimeout(() => el.remove(), 6000);
  }

  mediaState(which, state) {
    if (which === "publish") this.publishState = state;
    else this.subscribeState = state;
    const failed = this.publishState === "failed" || this.subscribeState === "failed";
    $("#live-app").dataset.media = failed ? "failed" : this.subscribeState;
    if (failed) this.banner(this.t("live.room.media_failed"), "error");
  }

  showEnded(reason) {
    const known = ["left", "removed", "revoked", "replaced", "refused", "disconnected"];
    const key = known.includes(reason) ? reason : "disconnected";
    $("#ended-h").textContent = this.t(`live.ended.${key}`);
    $("#ended-text").textContent =
      key === "refused" && this.refusedMessage ? this.refusedMessage : this.t(`live.ended.${key}_text`);
    $("#ended-again").hidden = reason === "revoked" || reason === "refused" || reason === "removed";
    this.banner(null);
    for (const audio of this.audios.values()) audio.remove();
    this.audios.clear();
    this.show("ended");
    $("#ended-h").focus();
  }

  renderHosts(state) {
    const hosts = (state.moderators || []).filter((m) => m.connected);
    $("#waiting-hosts").textContent = hosts.length
      ? this.t("live.waiting.hosts", { names: hosts.map((m) => `${this.roleName(m.role)} ${m.name}`).join("、") })
      : this.t("live.waiting.no_host");
  }

  // ------------------------------------------------------------ state

  render(state) {
    const app = this.app;
    const previous = app.state;
    app.state = state;
    const me = app.me;
    if (!me) return;
    const myself = state.participants.find((p) => p.id === me.participant_id);
    const location = state.location;
    $("#live-app").dataset.location = location;
    $("#room-location").textContent = this.locationName(location, state);
    if (previous && previous.location !== location) this.prevLocation = previous.location;
    if (location === "waiting") {
      if ($("#live-app").dataset.view !== "waiting") {
        this.show("waiting");
        $("#waiting-preview").replaceChildren(this.selfTile("waiting"));
        $("#waiting-h").focus();
      }
    } else if ($("#live-app").dataset.view !== "room") {
      this.show("room");
    }
    if (location === "waiting") this.renderHosts(state);
    if (myself) this.app.handRaised = Boolean(myself.hand);
    this.renderTiles();
    this.renderPeople();
    this.renderControls();
  }

  locationName(location, state) {
    if (location === "waiting") return this.t("live.loc.waiting");
    if (location === "main") return this.t("live.loc.main");
    const found = (state.rooms || []).find((r) => r.id === location);
    return found ? this.t("live.loc.caucus", { label: found.label }) : location;
  }

  roleName(role) {
    return this.t(`hearing.role.${role}`);
  }

  /** Participants shown as tiles: connected, in my location, not me. */
  visible() {
    const { state, me } = this.app;
    if (!state || !me) return [];
    return state.participants.filter(
      (p) => p.id !== me.participant_id && p.connected && p.location === state.location,
    );
  }

  // ------------------------------------------------------------ tiles

  selfTile(where) {
    const app = this.app;
    const key = `self-${where}`;
    let tile = this.tiles.get(key);
    if (!tile) {
      tile = h(
        "div",
        { class: "tile tile-self", dataset: { self: "1" } },
        h("div", { class: "tile-media" }, h("div", { class: "tile-avatar" }, h("span", { text: initial(app.config.name) }))),
        h("div", { class: "tile-bar" }, h("span", { class: "tile-name", text: this.t("live.tile.you", { name: app.config.name }) }), h("span", { class: "tile-icons" })),
        h("div", { class: "self-level", "aria-hidden": "true" }, h("div", { class: "level-bar" })),
      );
      this.tiles.set(key, tile);
    }
    const media = $(".tile-media", tile);
    if (app.local.video) {
      let video = $("video", media);
      if (!video) {
        video = h("video", { autoplay: true, playsinline: true, class: "mirror" });
        video.muted = true;
        media.prepend(video);
      }
      if (video.srcObject?.getVideoTracks()[0] !== app.local.video) {
        video.srcObject = new MediaStream([app.local.video]);
      }
      tile.dataset.video = "on";
    } else {
      tile.dataset.video = "off";
    }
    const icons = $(".tile-icons", tile);
    icons.replaceChildren(...(app.micOn && app.local.audio ? [] : [this.flag("mic-off", this.t("live.tile.muted"))]));
    return tile;
  }

  renderSelf() {
    for (const key of ["self-room", "self-waiting"]) if (this.tiles.has(key)) this.selfTile(key.slice(5));
  }

  selfLevel(level) {
    for (const key of ["self-room", "self-waiting"]) {
      const tile = this.tiles.get(key);
      if (tile) $(".level-bar", tile).style.transform = `scaleX(${level.toFixed(3)})`;
    }
  }

  flag(name, text, cls = "") {
    return h("span", { class: `flag ${cls}`, title: text }, icon(name), h("span", { class: "visually-hidden", text }));
  }

  qualityFlag(quality) {
    if (!quality) return null;
    const bars = { good: 3, fair: 2, poor: 1 }[quality] || 0;
    const el = h("span", { class: `quality q-${quality}`, title: this.t(`live.quality.${quality}`) });
    for (let i = 1; i <= 3; i += 1) el.append(h("span", { class: i <= bars ? "bar on" : "bar", "aria-hidden": "true" }));
    el.append(h("span", { class: "visually-hidden", text: this.t(`live.quality.${quality}`) }));
    return el;
  }

  participantTile(p, screen) {
    const key = screen ? `screen-${p.id}` : `p-${p.id}`;
    let tile = this.tiles.get(key);
    if (!tile) {
      const video = h("video", { autoplay: true, playsinline: true });
      video.muted = true; // sound plays through the <audio> elements, on the chosen speaker
      tile = h(
        "li",
        { class: screen ? "tile tile-screen" : "tile", dataset: { participantId: String(p.id), kind: screen ? "screen" : "camera" } },
        h("div", { class: "tile-media" }, video, h("div", { class: "tile-avatar" }, h("span", { text: initial(p.name) }))),
        h("div", { class: "tile-bar" }, h("span", { class: "tile-name" }), h("span", { class: "tile-role" }), h("span", { class: "tile-icons" })),
      );
      this.tiles.set(key, tile);
    }
    const name = screen ? this.t("live.tile.screen_of", { name: p.name }) : p.name;
    $(".tile-name", tile).textContent = name;
    $(".tile-role", tile).textContent = screen ? "" : this.roleName(p.role);
    tile.setAttribute("aria-label", screen ? name : `${p.name}，${this.roleName(p.role)}`);
    if (!screen) {
      tile.classList.toggle("speaking", Boolean(p.speaking) && p.audio);
      tile.classList.toggle("hand", Boolean(p.hand));
      tile.dataset.video = p.video ? "on" : "off";
      const flags = [];
      if (p.hand) flags.push(this.flag("hand", this.t("live.tile.hand"), "flag-hand"));
      if (!p.audio) flags.push(this.flag("mic-off", this.t("live.tile.muted")));
      if (this.app.me?.moderator && p.consent === "declined") flags.push(this.flag("norec", this.t("live.tile.no_record"), "flag-norec"));
      const quality = this.qualityFlag(p.quality);
      if (quality) flags.push(quality);
      $(".tile-icons", tile).replaceChildren(...flags);
    }
    return tile;
  }

  renderTiles() {
    const list = $("#tiles");
    const people = this.visible();
    const screens = new Set(this.slots.filter((s) => s.label === "screen").map((s) => s.participantId));
    const wanted = [];
    for (const p of people) {
      if (p.screen && screens.has(p.id)) wanted.push(this.participantTile(p, true));
    }
    for (const p of people) wanted.push(this.participantTile(p, false));
    const self = this.selfTile("room");
    const selfItem = self.parentElement?.tagName === "LI" ? self.parentElement : h("li", { class: "tile-slot-self" }, self);
    wanted.push(selfItem);
    // Keep existing elements (their videos keep playing) and only reorder or drop.
    const keep = new Set(wanted);
    for (const child of Array.from(list.children)) if (!keep.has(child)) child.remove();
    wanted.forEach((el, i) => {
      if (list.children[i] !== el) list.insertBefore(el, list.children[i] || null);
    });
    for (const [key, tile] of this.tiles) {
      if (!key.startsWith("self") && !tile.isConnected) this.tiles.delete(key);
    }
    list.dataset.count = String(wanted.length);
    list.classList.toggle("has-screen", screens.size > 0);
    this.attachMedia();
  }

  setSlots(slots) {
    this.slots = slots;
    this.renderTiles();
  }

  attachMedia() {
    const speakerId = this.app.prefs.speakerId;
    const liveAudio = new Set();
    for (const slot of this.slots) {
      if (slot.label === "audio") {
        liveAudio.add(slot.mid);
        let audio = this.audios.get(slot.mid);
        if (!audio) {
          audio = h("audio", { autoplay: true, class: "remote-audio", dataset: { mid: slot.mid } });
          if (speakerId && audio.setSinkId) audio.setSinkId(speakerId).catch(() => {});
          document.body.append(audio);
          this.audios.set(slot.mid, audio);
        }
        if (audio.srcObject?.getAudioTracks()[0] !== slot.track) audio.srcObject = new MediaStream([slot.track]);
        audio.dataset.participantId = String(slot.participantId);
        continue;
      }
      const tile = this.tiles.get(slot.label === "screen" ? `screen-${slot.participantId}` : `p-${slot.participantId}`);
      if (!tile || !tile.isConnected) continue;
      const video = $("video", tile);
      if (video.srcObject?.getVideoTracks()[0] !== slot.track) video.srcObject = new MediaStream([slot.track]);
    }
    for (const [mid, audio] of this.audios) {
      if (!liveAudio.has(mid)) {
        audio.srcObject = null;
        audio.remove();
        this.audios.delete(mid);
      }
    }
  }

  // ------------------------------------------------------------ controls

  renderControls() {
    const app = this.app;
    const t = this.t;
    const mic = $("#ctl-mic");
    const micOn = Boolean(app.local.audio) && app.micOn;
    mic.dataset.on = micOn ? "1" : "0";
    $("use", mic).setAttribute("href", micOn ? "#i-mic" : "#i-mic-off");
    $(".ctl-text", mic).textContent = micOn ? t("live.controls.mute") : t("live.controls.unmute");
    mic.setAttribute("aria-pressed", micOn ? "false" : "true");
    mic.setAttribute("aria-label", t("live.controls.mic_label"));
    const cam = $("#ctl-cam");
    const camOn = Boolean(app.local.video);
    cam.dataset.on = camOn ? "1" : "0";
    $("use", cam).setAttribute("href", camOn ? "#i-cam" : "#i-cam-off");
    $(".ctl-text", cam).textContent = camOn ? t("live.controls.cam_off") : t("live.controls.cam_on");
    cam.setAttribute("aria-pressed", camOn ? "false" : "true");
    cam.setAttribute("aria-label", t("live.controls.cam_label"));
    const screen = $("#ctl-screen");
    screen.setAttribute("aria-pressed", app.local.screen ? "true" : "false");
    $(".ctl-text", screen).textContent = app.local.screen ? t("live.controls.screen_stop") : t("live.controls.screen");
    screen.hidden = !(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia) || $("#live-app").dataset.view === "waiting";
    $("#ctl-hand").setAttribute("aria-pressed", app.handRaised ? "true" : "false");
    const waiting = $("#live-app").dataset.view === "waiting";
    $("#ctl-hand").hidden = waiting;
    $("#ctl-people").hidden = waiting;
    $("#ctl-chat").hidden = waiting;
  }

  toggleSide(tab) {
    if (tab === null || this.sideTab === tab) {
      this.sideTab = null;
      $("#side").hidden = true;
      $("#ctl-people").setAttribute("aria-expanded", "false");
      $("#ctl-chat").setAttribute("aria-expanded", "false");
      $("#live-app").dataset.side = "closed";
      return;
    }
    this.openSide(tab);
  }

  openSide(tab) {
    this.sideTab = tab;
    $("#side").hidden = false;
    $("#live-app").dataset.side = "open";
    for (const name of ["people", "chat"]) {
      const selected = name === tab;
      const tabEl = $(`#tab-${name}`);
      tabEl.setAttribute("aria-selected", selected ? "true" : "false");
      tabEl.tabIndex = selected ? 0 : -1;
      $(`#pane-${name}`).hidden = !selected;
      $(`#ctl-${name}`).setAttribute("aria-expanded", selected ? "true" : "false");
    }
    if (tab === "chat") {
      this.unread = 0;
      this.renderUnread();
      $("#chat-text").focus();
    } else {
      $("#tab-people").focus();
    }
  }

  // ------------------------------------------------------------ people and moderator tools

  /** Redraw the side panel's lists without losing an open menu, the focus or a choice. */
  renderPeople() {
    const side = $("#side");
    const open = $$("details[open]", side).map((d) => d.dataset.key);
    const active = document.activeElement;
    const focusKey = active && side.contains(active) ? active.dataset.key : null;
    const choices = $$("select[data-key]", side).map((el) => [el.dataset.key, el.value]);
    this.drawPeople();
    for (const key of open) {
      const details = $(`details[data-key="${key}"]`, side);
      if (details) details.open = true;
    }
    for (const [key, value] of choices) {
      const select = $(`select[data-key="${key}"]`, side);
      if (select && Array.from(select.options).some((o) => o.value === value)) select.value = value;
    }
    if (focusKey) {
      const again = $(`[data-key="${focusKey}"]`, side);
      if (again) again.focus();
    }
  }

  drawPeople() {
    const { state, me } = this.app;
    if (!state || !me) return;
    const t = this.t;
    const moderator = Boolean(me.moderator);
    $("#mod-tools").hidden = !moderator;
    const here = moderator
      ? state.participants.filter((p) => p.location !== "waiting")
      : state.participants.filter((p) => p.location === state.location);
    $("#people-count").textContent = String(here.length);
    $("#here-h").textContent = moderator ? t("live.side.everyone") : t("live.side.here");
    $("#people-list").replaceChildren(...here.map((p) => this.personItem(p, moderator)));
    if (!moderator) {
      $("#ctl-people-badge").hidden = true;
      return;
    }
    const waiting = state.participants.filter((p) => p.location === "waiting" && p.connected);
    $("#wait-count").textContent = String(waiting.length);
    $("#admit-all").disabled = waiting.length === 0;
    $("#wait-list").replaceChildren(
      ...(waiting.length
        ? waiting.map((p) => this.waitingItem(p))
        : [h("li", { class: "empty", text: t("live.mod.nobody_waiting") })]),
    );
    const badge = $("#ctl-people-badge");
    badge.hidden = waiting.length === 0;
    badge.textContent = String(waiting.length);
    if (waiting.length > this.lastWaiting) this.toast(t("live.mod.someone_waiting", { name: waiting[waiting.length - 1].name }));
    this.lastWaiting = waiting.length;
    const rooms = [{ id: "main", label: t("live.loc.main") }, ...(state.rooms || []).filter((r) => r.id !== "main")];
    $("#room-list").replaceChildren(
      ...rooms.map((r) => {
        const count = state.participants.filter((p) => p.location === r.id && p.connected).length;
        const mine = state.location === r.id;
        const name = r.id === "main" ? r.label : t("live.loc.caucus", { label: r.label });
        return h(
          "li",
          { class: mine ? "room-item current" : "room-item", dataset: { room: r.id } },
          h("span", { class: "room-name", text: name }),
          h("span", { class: "room-count", text: t("live.mod.room_count", { count }) }),
          mine
            ? h("span", { class: "room-here", text: t("live.mod.you_are_here") })
            : h("button", { type: "button", class: "btn-small btn-quiet", dataset: { key: `go-${r.id}` }, text: t("live.mod.go"), "aria-label": t("live.mod.go_to", { room: name }), onclick: () => this.app.act("move", { participant_id: me.participant_id, room: r.id }) }),
          r.id === "main"
            ? null
            : h("button", { type: "button", class: "btn-small btn-quiet", dataset: { key: `close-${r.id}` }, text: t("live.mod.close_caucus"), "aria-label": t("live.mod.close_named", { room: name }), onclick: () => this.app.act("close_caucus", { room: r.id }) }),
        );
      }),
    );
  }

  waitingItem(p) {
    const t = this.t;
    return h(
      "li",
      { class: "person", dataset: { participantId: String(p.id) } },
      h("span", { class: "person-avatar", "aria-hidden": "true", text: initial(p.name) }),
      h("span", { class: "person-who" }, h("span", { class: "person-name", text: p.name }), h("span", { class: "person-role", text: this.roleName(p.role) }), this.consentNote(p)),
      h("button", { type: "button", class: "btn-small", dataset: { key: `admit-${p.id}` }, text: t("live.mod.admit"), "aria-label": t("live.mod.admit_named", { name: p.name }), onclick: () => this.app.act("admit", { participant_id: p.id }) }),
    );
  }

  consentNote(p) {
    if (p.consent !== "declined") return null;
    return h("span", { class: "person-flag norec" }, icon("norec"), this.t("live.tile.no_record"));
  }

  personItem(p, moderator) {
    const t = this.t;
    const me = this.app.me;
    const isMe = p.id === me.participant_id;
    const flags = [];
    if (p.hand) flags.push(this.flag("hand", t("live.tile.hand"), "flag-hand"));
    if (!p.audio) flags.push(this.flag("mic-off", t("live.tile.muted")));
    if (!p.video) flags.push(this.flag("cam-off", t("live.tile.camera_off")));
    if (moderator && p.identity_checked) flags.push(this.flag("shield", t("live.tile.identity_checked"), "flag-ok"));
    const quality = this.qualityFlag(p.quality);
    if (quality) flags.push(quality);
    const meta = [this.roleName(p.role)];
    if (moderator && p.location !== this.app.state.location) meta.push(this.locationName(p.location, this.app.state));
    if (!p.connected) meta.push(t("live.side.offline"));
    const item = h(
      "li",
      { class: p.connected ? "person" : "person offline", dataset: { participantId: String(p.id) } },
      h("span", { class: "person-avatar", "aria-hidden": "true", text: initial(p.name) }),
      h(
        "span",
        { class: "person-who" },
        h("span", { class: "person-name", text: isMe ? t("live.tile.you", { name: p.name }) : p.name }),
        h("span", { class: "person-role", text: meta.join(" · ") }),
        moderator ? this.consentNote(p) : null,
      ),
      h("span", { class: "person-flags" }, flags),
    );
    if (moderator && !isMe) item.append(this.actionsMenu(p));
    return item;
  }

  actionsMenu(p) {
    const t = this.t;
    const act = (event, payload) => this.app.act(event, payload);
    const state = this.app.state;
    // Each action closes the menu (the next state redraws the list anyway).
    const button = (text, onclick, cls = "") =>
      h("button", {
        type: "button",
        class: `menu-item ${cls}`,
        dataset: { key: `${p.id}-${text}` },
        text,
        onclick: (e) => {
          e.target.closest("details").open = false;
          onclick();
        },
      });
    const select = h(
      "select",
      { "aria-label": t("live.mod.move_where", { name: p.name }), dataset: { key: `move-to-${p.id}` } },
      [{ id: "main", label: t("live.loc.main") }, ...(state.rooms || []).filter((r) => r.id !== "main").map((r) => ({ id: r.id, label: t("live.loc.caucus", { label: r.label }) }))]
        .filter((r) => r.id !== p.location)
        .map((r) => h("option", { value: r.id, text: r.label })),
    );
    const items = [
      button(t("live.mod.ask_mute"), () => act("mute", { participant_id: p.id, kind: "audio" })),
      button(t("live.mod.ask_camera_off"), () => act("mute", { participant_id: p.id, kind: "video" })),
    ];
    if (PARTY_SIDE.has(p.role) && !p.identity_checked) {
      items.push(button(t("live.mod.confirm_identity"), () => this.confirmIdentity(p)));
    }
    items.push(button(t("live.mod.to_waiting"), () => act("send_to_waiting", { participant_id: p.id })));
    items.push(button(t("live.mod.remove"), () => this.removePerson(p), "danger"));
    const menu = h(
      "details",
      { class: "person-menu", dataset: { key: `menu-${p.id}` } },
      h("summary", { "aria-label": t("live.mod.actions_for", { name: p.name }), dataset: { key: `summary-${p.id}` } }, icon("dots"), h("span", { class: "visually-hidden", text: t("live.mod.actions") })),
      h(
        "div",
        { class: "menu" },
        items,
        select.options.length
          ? h("div", { class: "menu-move" }, select, h("button", { type: "button", class: "btn-small", dataset: { key: `move-${p.id}` }, text: t("live.mod.move"), onclick: () => act("move", { participant_id: p.id, room: select.value }) }))
          : null,
      ),
    );
    return menu;
  }

  async removePerson(p) {
    const ok = await this.confirm({
      title: this.t("live.mod.remove_title", { name: p.name }),
      body: this.t("live.mod.remove_body"),
      yes: this.t("live.mod.remove"),
      no: this.t("live.cancel"),
      danger: true,
    });
    if (ok) await this.app.act("remove", { participant_id: p.id });
  }

  async confirmIdentity(p) {
    const t = this.t;
    const config = this.app.config;
    let facts = [h("p", { text: t("live.mod.identity_loading") })];
    try {
      const hearing = await api(config, "GET", `/api/hearings/${config.hearing_id}`);
      const seat = hearing.participants.find((s) => s.id === p.id);
      const identity = seat && seat.identity;
      if (identity && identity.declared_name) {
        facts = [
          h(
            "dl",
            { class: "identity-facts" },
            h("div", {}, h("dt", { text: t("live.id.name") }), h("dd", { text: identity.declared_name })),
            h("div", {}, h("dt", { text: t("live.id.number") }), h("dd", { class: "mono", text: identity.id_number_masked })),
            identity.matches_case_record === null
              ? null
              : h("div", {}, h("dt", { text: t("live.mod.case_record") }), h("dd", { text: t(identity.matches_case_record ? "live.mod.matches" : "live.mod.differs") })),
          ),
        ];
      } else {
        facts = [h("p", { class: "alert alert-warn", text: t("live.mod.not_declared") })];
      }
    } catch {
      facts = [h("p", { text: t("live.mod.identity_unavailable") })];
    }
    const ok = await this.confirm({
      title: t("live.mod.identity_title", { name: p.name }),
      body: [h("p", { text: t("live.mod.identity_intro") }), ...facts],
      yes: t("live.mod.identity_yes"),
      no: t("live.cancel"),
    });
    if (ok && (await this.app.act("confirm_identity", { participant_id: p.id, method: "video" }))) {
      this.toast(t("live.mod.identity_done", { name: p.name }));
    }
  }

  // ------------------------------------------------------------ chat

  sendChat() {
    const input = $("#chat-text");
    const text = input.value.trim();
    if (!text) return;
    this.app.act("chat", { text }).then((ack) => {
      if (!ack) return;
      input.value = "";
      if (ack.message) this.addChat(ack.message);
    });
  }

  /** The newest messages of the current location, sent with `hello` (after a reconnect too). */
  chatHistory(messages) {
    for (const message of messages) this.addChat(message, false);
  }

  addChat(message, fresh = true) {
    if (!message || this.chatIds.has(message.id)) return;
    this.chatIds.add(message.id);
    const mine = this.app.me && message.from_id === this.app.me.participant_id;
    $("#chat-log").append(
      h(
        "li",
        { class: mine ? "chat-msg mine" : "chat-msg" },
        h("p", { class: "chat-meta" }, h("span", { class: "chat-from", text: mine ? this.t("live.chat.me") : message.from_name }), " ", h("time", { datetime: message.at, text: timeOf(message.at) })),
        h("p", { class: "chat-text", text: message.text }),
      ),
    );
    const log = $("#chat-log");
    log.scrollTop = log.scrollHeight;
    if (fresh && this.sideTab !== "chat" && !mine) {
      this.unread += 1;
      this.renderUnread();
    }
  }

  renderUnread() {
    for (const el of [$("#chat-unread"), $("#ctl-chat-badge")]) {
      el.hidden = this.unread === 0;
      el.textContent = String(this.unread);
    }
  }

  // ------------------------------------------------------------ prompts

  async muteRequested({ kind, by }) {
    const t = this.t;
    const audio = kind !== "video";
    const active = audio ? this.app.local.audio && this.app.micOn : Boolean(this.app.local.video);
    if (!active) return;
    const ok = await this.confirm({
      title: t(audio ? "live.mute.title_audio" : "live.mute.title_video", { by }),
      body: t("live.mute.body"),
      yes: t(audio ? "live.mute.yes_audio" : "live.mute.yes_video"),
      no: t("live.mute.no"),
    });
    if (ok) this.app.muteSelf(audio ? "audio" : "video");
  }

  moved(where) {
    const state = this.app.state || { rooms: [], location: null };
    // `moved` and the new `state` may come in either order.
    const from = state.location === where ? this.prevLocation : state.location;
    if (from === "waiting" && where === "main") this.toast(this.t("live.room.admitted"));
    else this.toast(this.t("live.room.moved", { room: this.locationName(where, state) }));
  }

  /** A modal question; resolves to true when the person says yes. */
  confirm({ title, body, yes, no, danger = false }) {
    const dialog = $("#dialog");
    if (dialog.open) dialog.close("no");
    $("#dialog-h").textContent = title;
    const content = Array.isArray(body) ? body : [h("p", { text: body })];
    $("#dialog-body").replaceChildren(...content);
    $("#dialog-actions").replaceChildren(
      h("button", { type: "submit", value: "no", class: "btn-secondary", text: no }),
      h("button", { type: "submit", value: "yes", class: danger ? "btn btn-danger" : "btn", text: yes }),
    );
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
      dialog.returnValue = "";
      dialog.showModal();
    });
  }
}
