// The page's side of staying calm: the connection banner and indicator, the
// retries that are safe to make, drafts that outlive a failed submit, and an
// Idempotency-Key on every write. It listens to htmx's request events; htmx
// itself does the requests and the swaps.
(function () {
  "use strict";

  const script = document.currentScript;
  const settings = {
    healthUrl: script.dataset.healthUrl,
    heartbeat: Number(script.dataset.heartbeat || 30000),
    firstRetry: 1000,
    longestRetry: 4000,
    jitter: 0.25,
    restoredFor: 4000,
    autoRetry: true,
  };
  const UNREACHABLE = new Set([502, 503, 504]);
  const DRAFT_PREFIX = "track:draft:";

  const state = {
    lost: false,
    announced: false,
    attempt: 0,
    last: null,
    retryTimer: null,
    countdownTimer: null,
    limitTimer: null,
    paused: false,
    dismissed: false,
    inFlight: new Set(),
    retries: new WeakSet(),
  };

  // Elements of base.html, looked up once the page has loaded.
  let ui = null;

  // --- small helpers ---------------------------------------------------------

  function newKey() {
    // crypto.randomUUID exists only on https and localhost; this works on any
    // page, in every browser that has crypto.getRandomValues.
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return [0, 8, 12, 16, 20]
      .map((start, i, cuts) => hex.slice(start, cuts[i + 1]))
      .join("-");
  }

  function seconds(value, fallback) {
    const parsed = Number.parseInt(value, 10);
    return Number.isFinite(parsed) && parsed >= 0 ? parsed : fallback;
  }

  function serverMessage(xhr) {
    try {
      const body = JSON.parse(xhr.responseText);
      if (body && typeof body.error === "string") return body.error;
    } catch (_) {
      // Not JSON: a page or plain text.
    }
    const text = (xhr.responseText || "").trim();
    return text && text.length < 300 && !text.startsWith("<")
      ? text
      : `The server answered ${xhr.status}.`;
  }

  function canResend(elt) {
    // Every request is safe to send again: a read changes nothing, and every
    // write carries an Idempotency-Key, so the server answers a repeat with
    // the first outcome instead of doing the work twice.
    return Boolean(elt && elt.isConnected);
  }

  function resend(elt) {
    elt.dataset.retry = "true";
    if (elt instanceof HTMLFormElement) {
      elt.requestSubmit();
    } else {
      elt.click();
    }
  }

  function announce(text) {
    // One live region, rewritten, is read out reliably; banners appearing
    // and disappearing are not.
    ui.announcer.textContent = "";
    window.setTimeout(() => {
      ui.announcer.textContent = text;
    }, 50);
  }

  function show(banner) {
    banner.hidden = false;
    banner.classList.remove("fading");
  }

  function hide(banner) {
    banner.hidden = true;
  }

  function setIndicator(connected) {
    // The header is swapped with each page htmx loads, so it is looked up
    // each time rather than kept.
    const indicator = document.getElementById("connection-status");
    if (!indicator) return;
    indicator.textContent = connected ? "Connected" : "Reconnecting";
    indicator.classList.toggle("conn-ok", connected);
    indicator.classList.toggle("conn-lost", !connected);
  }

  function countdown(element, until, onZero) {
    // Answers the interval's id; it stops by itself at zero.
    let timer = null;
    const tick = () => {
      const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      element.textContent = String(left);
      if (left > 0) return;
      window.clearInterval(timer);
      if (onZero) onZero();
    };
    timer = window.setInterval(tick, 250);
    tick();
    return timer;
  }

  // --- connection lost and restored -----------------------------------------

  function retryDelay(attempt) {
    const base = Math.min(
      settings.longestRetry,
      settings.firstRetry * 2 ** Math.max(0, attempt - 1),
    );
    const spread = base * settings.jitter;
    return Math.round(base - spread + Math.random() * 2 * spread);
  }

  function connectionLost(elt, { announced }) {
    const firstFailure = !state.lost;
    state.lost = true;
    state.attempt += 1;
    if (elt) state.last = elt;
    setIndicator(false);

    if (announced && !state.announced && !state.dismissed) {
      state.announced = true;
      hide(ui.restored);
      hide(ui.limited);
      show(ui.down);
      announce(
        "Connection lost - server temporarily unavailable. " +
          "The page will try again by itself.",
      );
    } else if (firstFailure && !announced) {
      announce("Reconnecting to the server.");
    }
    scheduleRetry();
  }

  function scheduleRetry() {
    window.clearTimeout(state.retryTimer);
    if (!settings.autoRetry) {
      ui.next.textContent = "Not trying again by itself.";
      return;
    }
    const delay = retryDelay(state.attempt);
    const at = Date.now() + delay;
    ui.next.innerHTML = "Trying again in <span data-seconds></span> s.";
    window.clearInterval(state.countdownTimer);
    state.countdownTimer = countdown(ui.next.querySelector("[data-seconds]"), at);
    state.retryTimer = window.setTimeout(retryNow, delay);
  }

  function retryNow() {
    window.clearTimeout(state.retryTimer);
    window.clearInterval(state.countdownTimer);
    ui.next.textContent = "Trying again now…";
    if (canResend(state.last)) {
      resend(state.last);
    } else {
      probe();
    }
  }

  function probe() {
    fetch(settings.healthUrl, { cache: "no-store", credentials: "omit" })
      .then((response) => {
        if (response.ok) {
          restored();
        } else {
          connectionLost(null, { announced: state.announced });
        }
      })
      .catch(() => connectionLost(null, { announced: state.announced }));
  }

  function restored() {
    if (!state.lost) return;
    const wasAnnounced = state.announced;
    window.clearTimeout(state.retryTimer);
    window.clearInterval(state.countdownTimer);
    Object.assign(state, {
      lost: false,
      announced: false,
      dismissed: false,
      attempt: 0,
      last: null,
      paused: false,
    });
    setIndicator(true);
    hide(ui.down);
    if (!wasAnnounced) return;

    show(ui.restored);
    announce("Connection restored.");
    window.setTimeout(() => ui.restored.classList.add("fading"), settings.restoredFor);
    window.setTimeout(() => hide(ui.restored), settings.restoredFor + 600);
  }

  function tryAgain() {
    // Held off while the retry runs: requests made meanwhile, and those that
    // htmx queued behind one that failed, are dropped.
    state.paused = true;
    for (const elt of state.inFlight) {
      if (elt !== state.last) htmx.trigger(elt, "htmx:abort");
    }
    retryNow();
  }

  // --- rate limited, server errors, other answers ----------------------------

  function rateLimited(elt, wait) {
    const unit = wait === 1 ? "second" : "seconds";
    ui.limitedUnit.textContent = unit;
    show(ui.limited);
    announce(`You are going a bit fast; you can continue in ${wait} ${unit}.`);

    window.clearInterval(state.limitTimer);
    const counter = ui.limited.querySelector("[data-countdown]");
    state.limitTimer = countdown(counter, Date.now() + wait * 1000, () => {
      hide(ui.limited);
      // A refused request did nothing: sending it once more is safe.
      if (canResend(elt)) resend(elt);
    });
  }

  function serverError(elt, xhr, verb, path) {
    const requestId = xhr.getResponseHeader("X-Request-ID") || "";
    ui.errorId.textContent = requestId || "not given";
    ui.error.dataset.details = [
      `Request id: ${requestId}`,
      `Time: ${new Date().toISOString()}`,
      `Page: ${window.location.href}`,
      `Request: ${verb.toUpperCase()} ${path}`,
      `Message: the server answered ${xhr.status}.`,
    ].join("\n");
    show(ui.error);
    announce("Something went wrong on our side. What you typed is still here.");
  }

  function answerMessage(elt, xhr) {
    const message = serverMessage(xhr);
    const form = elt && elt.closest ? elt.closest("form") : null;
    const slot = form && form.querySelector("[data-form-message]");
    if (slot) {
      slot.textContent = message;
      slot.hidden = false;
      return;
    }
    ui.noticeText.textContent = message;
    show(ui.notice);
    announce(message);
  }

  function copyDetails(button) {
    const details = button.closest("[data-details]").dataset.details;
    const done = () => {
      button.textContent = "Copied";
      window.setTimeout(() => {
        button.textContent = "Copy details";
      }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(details).then(done, () => selectForCopy(details));
    } else {
      selectForCopy(details);
      done();
    }
  }

  function selectForCopy(text) {
    // Without the clipboard API (plain http), the text is put where the
    // person can copy it by hand.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "copy-fallback";
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }

  // --- drafts ----------------------------------------------------------------

  const drafts = {
    storageKey(form) {
      return DRAFT_PREFIX + form.dataset.draft;
    },

    read(form) {
      try {
        return JSON.parse(localStorage.getItem(this.storageKey(form))) || null;
      } catch (_) {
        return null;
      }
    },

    write(form, draft) {
      try {
        localStorage.setItem(this.storageKey(form), JSON.stringify(draft));
      } catch (_) {
        // Storage full or refused: the page still holds what was typed.
      }
    },

    fields(form) {
      return Array.from(form.elements).filter(
        (field) =>
          field.name &&
          field.name !== "csrfmiddlewaretoken" &&
          !["submit", "button", "hidden", "file"].includes(field.type),
      );
    },

    save(form) {
      const draft = this.read(form) || { key: newKey() };
      draft.values = Object.fromEntries(
        this.fields(form).map((field) => [field.name, field.value]),
      );
      draft.savedAt = Date.now();
      this.write(form, draft);
    },

    key(form) {
      const draft = this.read(form) || { values: {} };
      if (!draft.key) {
        draft.key = newKey();
        this.write(form, draft);
      }
      return draft.key;
    },

    restore(form) {
      const draft = this.read(form);
      if (!draft || !draft.values || form.dataset.draftRestore !== "true") return;
      let restoredAny = false;
      for (const field of this.fields(form)) {
        const value = draft.values[field.name];
        if (value !== undefined && value !== field.value) {
          field.value = value;
          restoredAny = true;
        }
      }
      const note = form.querySelector("[data-draft-note]");
      if (restoredAny && note) note.hidden = false;
    },

    renewKey(form) {
      const draft = this.read(form);
      if (!draft) return;
      draft.key = newKey();
      this.write(form, draft);
    },

    clear(form) {
      localStorage.removeItem(this.storageKey(form));
    },

    clearAll() {
      for (const name of Object.keys(localStorage)) {
        if (name.startsWith(DRAFT_PREFIX)) localStorage.removeItem(name);
      }
    },
  };

  function idempotencyKey(elt) {
    const form = elt.closest("form");
    if (form && form.dataset.draft) return drafts.key(form);
    // Other writes (a delete, sign out) keep one key per page for retries.
    const holder = form || elt;
    if (!holder.dataset.idempotencyKey) holder.dataset.idempotencyKey = newKey();
    return holder.dataset.idempotencyKey;
  }

  function prepareDrafts(root) {
    if (!(root instanceof Element)) return;
    const forms = Array.from(root.querySelectorAll("form[data-draft]"));
    if (root.matches("form[data-draft]")) forms.push(root);
    for (const form of forms) {
      drafts.restore(form);
      form.addEventListener("input", () => drafts.save(form));
      form.addEventListener("change", () => drafts.save(form));
      const discard = form.querySelector("[data-draft-discard]");
      if (discard) {
        discard.addEventListener("click", () => {
          drafts.clear(form);
          window.location.reload();
        });
      }
    }
  }

  // --- htmx's events ---------------------------------------------------------

  function onConfigRequest(event) {
    const { verb, elt, headers } = event.detail;
    if (verb !== "get") headers["Idempotency-Key"] = idempotencyKey(elt);
  }

  function onBeforeRequest(event) {
    const elt = event.detail.elt;
    const isRetry = elt.dataset.retry === "true";
    delete elt.dataset.retry;
    if (state.paused && !isRetry) {
      event.preventDefault();
      return;
    }
    state.inFlight.add(elt);
    if (isRetry) {
      state.retries.add(elt);
    } else {
      state.retries.delete(elt);
    }
  }

  function failed(elt) {
    // A person's own request that fails brings a dismissed banner back; the
    // page's retries failing do not.
    if (!state.retries.has(elt)) state.dismissed = false;
    state.paused = false;
    connectionLost(elt, { announced: true });
  }

  function dismiss(banner) {
    hide(banner);
    if (banner === ui.down) {
      state.announced = false;
      state.dismissed = true;
    }
  }

  function onAfterRequest(event) {
    const { elt, xhr, requestConfig } = event.detail;
    state.inFlight.delete(elt);
    if (!xhr || xhr.status === 0) return;

    // Any answer at all means the server is reachable again.
    if (!UNREACHABLE.has(xhr.status)) {
      if (state.lost) restored();
      state.paused = false;
    }
    const form = elt.closest && elt.closest("form[data-draft]");
    if (form && xhr.status < 300) {
      if (xhr.getResponseHeader("HX-Redirect")) {
        drafts.clear(form);
      } else {
        // The form came back with its errors: nothing was saved, and the
        // corrected entry is a new request with a key of its own.
        drafts.renewKey(form);
      }
    }
    if (requestConfig && xhr.status < 400) hide(ui.notice);
  }

  function onBeforeSwap(event) {
    // A boosted link that lands on a page of another layout (the admin, a
    // download) has no #app to swap in: the browser loads it as a whole.
    const { boosted, xhr } = event.detail;
    if (boosted && xhr.status < 400 && !xhr.responseText.includes('id="app"')) {
      event.preventDefault();
      window.location.assign(xhr.responseURL);
    }
  }

  function onSendError(event) {
    failed(event.detail.elt);
  }

  function onResponseError(event) {
    const { elt, xhr, requestConfig } = event.detail;
    const status = xhr.status;
    const retryAfter = seconds(xhr.getResponseHeader("Retry-After"), 1);

    if (UNREACHABLE.has(status)) {
      failed(elt);
    } else if (status === 429) {
      rateLimited(elt, Math.max(1, retryAfter));
    } else if (status === 409 && xhr.getResponseHeader("Retry-After")) {
      // The first send of this entry is still being saved: ask again shortly,
      // and the server answers with its outcome.
      window.setTimeout(() => canResend(elt) && resend(elt), retryAfter * 1000);
    } else if (status >= 500) {
      serverError(elt, xhr, requestConfig.verb, requestConfig.path);
    } else {
      answerMessage(elt, xhr);
    }
  }

  // --- the heartbeat -----------------------------------------------------------

  function heartbeat() {
    if (document.visibilityState === "visible" && !state.lost) {
      fetch(settings.healthUrl, { cache: "no-store", credentials: "omit" })
        .then((response) => {
          if (!response.ok) connectionLost(null, { announced: false });
        })
        .catch(() => connectionLost(null, { announced: false }));
    }
  }

  // --- wiring ------------------------------------------------------------------

  function start() {
    const region = document.getElementById("connection");
    if (!region || !window.htmx) return;
    ui = {
      announcer: region.querySelector("[data-announcer]"),
      down: region.querySelector("[data-banner=down]"),
      next: region.querySelector("[data-next]"),
      restored: region.querySelector("[data-banner=restored]"),
      limited: region.querySelector("[data-banner=limited]"),
      limitedUnit: region.querySelector("[data-unit]"),
      error: region.querySelector("[data-banner=error]"),
      errorId: region.querySelector("[data-error-id]"),
      notice: region.querySelector("[data-banner=notice]"),
      noticeText: region.querySelector("[data-notice-text]"),
    };

    region.addEventListener("click", (event) => {
      const action = event.target.closest("[data-action]");
      if (!action) return;
      const banner = action.closest("[data-banner]");
      switch (action.dataset.action) {
        case "retry":
          tryAgain();
          break;
        case "refresh":
          window.location.reload();
          break;
        case "dismiss":
          dismiss(banner);
          break;
      }
    });
    region.addEventListener("keydown", (event) => {
      const banner = event.target.closest("[data-banner]");
      if (event.key === "Escape" && banner) dismiss(banner);
    });
    document.addEventListener("click", (event) => {
      const button = event.target.closest("[data-copy-details]");
      if (button) copyDetails(button);
    });
    // Signing out leaves no one's unsent hours in a shared browser.
    document.addEventListener("submit", (event) => {
      if (event.target.matches("[data-clears-drafts]")) drafts.clearAll();
    });

    document.body.addEventListener("htmx:configRequest", onConfigRequest);
    document.body.addEventListener("htmx:beforeRequest", onBeforeRequest);
    document.body.addEventListener("htmx:afterRequest", onAfterRequest);
    document.body.addEventListener("htmx:beforeSwap", onBeforeSwap);
    document.body.addEventListener("htmx:sendError", onSendError);
    document.body.addEventListener("htmx:timeout", onSendError);
    document.body.addEventListener("htmx:responseError", onResponseError);
    htmx.onLoad((root) => {
      prepareDrafts(root);
      setIndicator(!state.lost);
    });

    window.addEventListener("offline", () => connectionLost(null, { announced: false }));
    window.addEventListener("online", () => state.lost && retryNow());
    document.addEventListener("visibilitychange", heartbeat);
    window.setInterval(heartbeat, settings.heartbeat);
  }

  // Seen by the browser tests, and useful in a console: the state and the
  // settings of this page's connection.
  window.trackConnection = { settings, state, retryNow };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
