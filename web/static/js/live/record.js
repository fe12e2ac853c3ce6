// The mediation record editor (调解笔录): a side panel in the live page for whoever presides,
// and the main column of the staff record page. It talks to the plain JSON API
// (/api/hearings/{id}/record, /api/records/{id}/...), never to socket.io.
//
// Autosave: every change is sent (debounced) with the version the editor last saw; the
// server answers 409 when someone else saved in between, with what they saved, and the
// editor merges its own unsaved lines into it. Saves never overlap.

const SAVE_DELAY_MS = 800;
const RETRY_DELAY_MS = 3000;

const panel = document.getElementById("record-panel");
if (panel) start(panel);

function start(panel) {
  const strings = JSON.parse(document.getElementById("record-strings").textContent);
  const t = (key, params = {}) =>
    (strings[key] ?? key).replace(/\{(\w+)\}/g, (whole, name) =>
      name in params ? String(params[name]) : whole,
    );
  const csrf =
    panel.dataset.csrf ||
    document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ||
    "";
  const el = (id) => document.getElementById(id);
  const list = el("record-statements");
  const form = el("record-form");
  const speakerSelect = el("record-speaker");
  const textBox = el("record-text");
  const savedFlag = el("record-saved");
  const signedNote = el("record-signed");
  const signOffButton = el("record-signoff");
  const emptyNote = el("record-empty");
  const toggle = el("record-toggle");

  const state = {
    record: null,
    items: [], // {id, key, speaker, text, baseText, baseSpeaker, offset_ms, said_at}
    version: 0,
    saving: false,
    dirty: false,
    timer: null,
    nextKey: 1,
  };

  // ---- the API -----------------------------------------------------------------------------
  async function call(method, path, body) {
    const headers = { Accept: "application/json" };
    const init = { method, headers, credentials: "same-origin" };
    if (method !== "GET") headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    let parsed = null;
    try {
      parsed = await response.json();
    } catch {
      parsed = null;
    }
    return { status: response.status, ok: response.ok, body: parsed };
  }

  // ---- showing the record ----------------------------------------------------------------
  const pad = (n) => String(n).padStart(2, "0");
  const wallTime = (iso) => {
    const d = new Date(iso);
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  };
  const clock = (ms) => {
    const s = Math.floor(ms / 1000);
    return `${Math.floor(s / 3600)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
  };

  function setSaved(state_, text) {
    savedFlag.dataset.state = state_;
    savedFlag.textContent = text;
  }

  function fromServer(statement) {
    return {
      id: statement.id,
      key: statement.client_key || `s${statement.id}`,
      speaker: statement.speaker_participant_id,
      text: statement.text,
      baseText: statement.text,
      baseSpeaker: statement.speaker_participant_id,
      offset_ms: statement.offset_ms,
      said_at: statement.said_at,
    };
  }

  function editable() {
    return Boolean(state.record && state.record.may_edit);
  }

  function speakerName(id) {
    const seat = state.record.speakers.find((s) => s.participant_id === id);
    return seat ? seat.name : "";
  }

  function speakerOptions(select, selected) {
    select.replaceChildren();
    for (const seat of state.record.speakers) {
      const option = document.createElement("option");
      option.value = String(seat.participant_id);
      const role = strings[`hearing.role.${seat.role}`] || seat.role;
      option.textContent = `${seat.name}（${role}）`;
      if (seat.participant_id === selected) option.selected = true;
      select.append(option);
    }
  }

  function stamp(item) {
    if (!item.said_at) return t("documents.record.unsaved_line");
    if (item.offset_ms !== null && item.offset_ms !== undefined) {
      return t("documents.record.at_clock", { clock: clock(item.offset_ms) });
    }
    return t("documents.record.at_time", { time: wallTime(item.said_at) });
  }

  function render() {
    const focusedKey = document.activeElement?.closest?.("[data-key]")?.dataset.key;
    const focusedField = document.activeElement?.dataset?.field;
    list.replaceChildren();
    state.items.forEach((item, index) => {
      const li = document.createElement("li");
      li.className = "statement";
      li.dataset.key = item.key;
      const meta = document.createElement("div");
      meta.className = "statement-meta";
      const number = document.createElement("span");
      number.textContent = `${index + 1}.`;
      meta.append(number);
      if (editable()) {
        const select = document.createElement("select");
        select.dataset.field = "speaker";
        select.setAttribute("aria-label", t("documents.record.speaker_of", { n: index + 1 }));
        speakerOptions(select, item.speaker);
        select.addEventListener("change", () => {
          item.speaker = Number(select.value);
          changed();
        });
        meta.append(select);
      } else {
        const who = document.createElement("strong");
        who.textContent = speakerName(item.speaker);
        meta.append(who);
      }
      const when = document.createElement("span");
      when.className = "statement-when";
      when.textContent = stamp(item);
      meta.append(when);
      if (editable()) {
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "btn-small btn-secondary statement-remove";
        remove.textContent = t("documents.record.remove");
        remove.setAttribute("aria-label", t("documents.record.remove_of", { n: index + 1 }));
        remove.addEventListener("click", () => {
          state.items = state.items.filter((other) => other !== item);
          changed();
          render();
          textBox.focus();
        });
        meta.append(remove);
      }
      li.append(meta);
      if (editable()) {
        const area = document.createElement("textarea");
        area.dataset.field = "text";
        area.rows = 2;
        area.maxLength = 5000;
        area.value = item.text;
        area.setAttribute("aria-label", t("documents.record.text_of", { n: index + 1 }));
        area.addEventListener("input", () => {
          item.text = area.value;
          changed();
        });
        li.append(area);
      } else {
        const p = document.createElement("p");
        p.textContent = item.text;
        li.append(p);
      }
      list.append(li);
    });
    emptyNote.hidden = state.items.length > 0;
    form.hidden = !editable();
    signOffButton.hidden = !(state.record && state.record.may_sign_off);
    const record = state.record;
    if (record && record.status !== "editing") {
      signedNote.hidden = false;
      signedNote.replaceChildren();
      signedNote.append(
        t("documents.record.signed_off", {
          name: record.signed_off_by_name,
          time: record.signed_off_at ? wallTime(record.signed_off_at) : "",
        }),
      );
      if (record.document_id) {
        const link = document.createElement("a");
        link.href = `/documents/${record.document_id}`;
        link.id = "record-document-link";
        link.textContent = t("documents.record.view_document");
        signedNote.append(" ", link);
      }
    } else {
      signedNote.hidden = true;
    }
    if (focusedKey) {
      const target = list.querySelector(`[data-key="${focusedKey}"] [data-field="${focusedField}"]`);
      if (target) target.focus();
    }
  }

  function apply(record) {
    state.record = record;
    state.version = record.version;
    state.items = record.statements.map(fromServer);
    const current = Number(speakerSelect.value) || null;
    speakerOptions(speakerSelect, current);
    render();
    setSaved("saved", t("documents.record.saved_at", { time: wallTime(record.saved_at) }));
    // Opened before the record arrived: the text box takes the focus once it is there.
    const idle = document.activeElement === toggle || document.activeElement === document.body;
    if (!panel.hidden && toggle && idle && editable()) textBox.focus();
  }

  // ---- saving ------------------------------------------------------------------------------
  function changed() {
    state.dirty = true;
    setSaved("dirty", t("documents.record.unsaved"));
    schedule(SAVE_DELAY_MS);
  }

  function schedule(delay) {
    clearTimeout(state.timer);
    state.timer = setTimeout(save, delay);
  }

  async function save() {
    if (state.saving || !state.dirty || !editable()) return;
    state.saving = true;
    state.dirty = false;
    setSaved("saving", t("documents.record.saving"));
    const sent = state.items.map((item) => ({
      item,
      body: {
        id: item.id,
        client_key: item.key,
        speaker_participant_id: item.speaker,
        text: item.text,
      },
    }));
    try {
      const answer = await call("PUT", `/api/records/${state.record.id}/statements`, {
        base_version: state.version,
        statements: sent.map((s) => s.body),
      });
      if (answer.ok) {
        saved(answer.body, sent);
      } else if (answer.status === 409 && answer.body && answer.body.record) {
        merge(answer.body.record);
      } else {
        state.dirty = true;
        const message = answer.body?.error?.message || `HTTP ${answer.status}`;
        setSaved("error", t("documents.record.save_failed", { reason: message }));
        if (answer.status >= 500 || answer.status === 0) schedule(RETRY_DELAY_MS);
      }
    } catch {
      state.dirty = true;
      setSaved("error", t("documents.record.offline"));
      schedule(RETRY_DELAY_MS);
    } finally {
      state.saving = false;
    }
    if (state.dirty) schedule(SAVE_DELAY_MS);
  }

  function saved(record, sent) {
    state.record = record;
    state.version = record.version;
    const byKey = new Map(record.statements.map((s) => [s.client_key || `s${s.id}`, s]));
    const byId = new Map(record.statements.map((s) => [s.id, s]));
    for (const { item, body } of sent) {
      const server = (item.id && byId.get(item.id)) || byKey.get(item.key);
      if (!server) continue;
      item.id = server.id;
      item.offset_ms = server.offset_ms;
      item.said_at = server.said_at;
      item.baseText = body.text;
      item.baseSpeaker = body.speaker_participant_id;
    }
    // Stamps of lines saved just now appear; what is being typed stays as it is.
    for (const li of list.querySelectorAll(".statement")) {
      const item = state.items.find((i) => i.key === li.dataset.key);
      const when = li.querySelector(".statement-when");
      if (item && when) when.textContent = stamp(item);
    }
    if (!state.dirty) {
      setSaved("saved", t("documents.record.saved_at", { time: wallTime(record.saved_at) }));
    }
  }

  // Someone else saved in between: take theirs, then lay our unsaved work on top — lines we
  // edited that they did not touch, and lines we added.
  function merge(record) {
    const mine = state.items;
    state.record = record;
    state.version = record.version;
    const theirs = record.statements.map(fromServer);
    const byId = new Map(theirs.map((i) => [i.id, i]));
    let carried = 0;
    for (const item of mine) {
      if (item.id === null || item.id === undefined) {
        theirs.push({ ...item });
        carried += 1;
      } else if (item.text !== item.baseText || item.speaker !== item.baseSpeaker) {
        const other = byId.get(item.id);
        if (other && other.text === item.baseText && other.speaker === item.baseSpeaker) {
          other.text = item.text;
          other.speaker = item.speaker;
          carried += 1;
        }
      }
    }
    state.items = theirs;
    render();
    setSaved("conflict", t("documents.record.merged"));
    if (carried > 0) {
      state.dirty = true;
      schedule(SAVE_DELAY_MS);
    }
  }

  // ---- adding, signing off -----------------------------------------------------------------
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = textBox.value.trim();
    const speaker = Number(speakerSelect.value);
    if (!text || !speaker) {
      textBox.focus();
      return;
    }
    state.items.push({
      id: null,
      key: `n${Date.now().toString(36)}${state.nextKey++}`,
      speaker,
      text,
      baseText: null,
      baseSpeaker: null,
      offset_ms: null,
      said_at: null,
    });
    textBox.value = "";
    render();
    textBox.focus();
    state.dirty = true;
    schedule(0);
  });

  textBox.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  signOffButton.addEventListener("click", async () => {
    if (!window.confirm(t("documents.record.sign_off_confirm"))) return;
    signOffButton.disabled = true;
    // Whatever is still unsaved goes first.
    // (a save answered with a conflict merges and saves again: a few rounds at most).
    for (let round = 0; round < 4 && (state.dirty || state.saving); round += 1) {
      clearTimeout(state.timer);
      while (state.saving) await new Promise((resolve) => setTimeout(resolve, 50));
      if (state.dirty) await save();
    }
    clearTimeout(state.timer);
    if (state.dirty) {
      signOffButton.disabled = false;
      return; // the indicator says why it could not be saved
    }
    const answer = await call("POST", `/api/records/${state.record.id}/sign-off`);
    signOffButton.disabled = false;
    if (answer.ok) {
      apply(answer.body);
      setSaved("saved", t("documents.record.signed_short"));
      signedNote.focus();
    } else {
      const message = answer.body?.error?.message || `HTTP ${answer.status}`;
      setSaved("error", message);
    }
  });

  // ---- the side panel in the live page -----------------------------------------------------
  if (toggle) {
    const open = (show) => {
      panel.hidden = !show;
      toggle.setAttribute("aria-expanded", String(show));
      if (show) textBox.focus();
      else toggle.focus();
    };
    toggle.addEventListener("click", () => open(panel.hidden));
    el("record-close")?.addEventListener("click", () => open(false));
    panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") open(false);
    });
  }
  window.addEventListener("beforeunload", (event) => {
    if (state.dirty || state.saving) event.preventDefault();
  });

  (async () => {
    setSaved("loading", t("documents.record.loading"));
    const answer = await call("GET", `/api/hearings/${panel.dataset.hearingId}/record`);
    if (answer.ok) {
      apply(answer.body);
    } else {
      setSaved("error", answer.body?.error?.message || `HTTP ${answer.status}`);
    }
  })();
}
