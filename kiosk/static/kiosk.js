// The kiosk page: reads a QR code from the camera, a hand-held scanner or a file,
// sends it to the local kiosk server, and shows the result screen.
//
// The page keeps nothing of a document: the result is cleared from the page when
// the start screen returns, and the server's responses forbid caching.
//
// Timing of the camera path is recorded with the User Timing API as the measure
// "kiosk-frame-to-verdict", from the frame's capture to the painted result.
"use strict";

(() => {
  const body = document.body;
  const settings = {
    returnSeconds: Number(body.dataset.returnSeconds),
    rescanDelayMs: Number(body.dataset.rescanDelayMs),
    frameIntervalMs: Number(body.dataset.frameIntervalMs),
    rating: body.dataset.rating === "on",
  };
  // Frames are reduced to this width before JPEG encoding: enough pixels per
  // module for a QR code that fills a third of the picture, and quick to send.
  const MAX_FRAME_WIDTH = 1280;
  const JPEG_QUALITY = 0.85;
  const TRUST_REFRESH_MS = 60000;

  const $ = (id) => document.getElementById(id);
  const screens = { start: $("start"), busy: $("busy"), result: $("result") };
  const scanner = $("scanner");
  const video = $("camera");
  const canvas = $("frame");

  let current = "start";
  let busy = false; // a scanner or file check is running
  let frameInFlight = false;
  let resumeAt = 0;
  let countdownTimer = null;
  let ratingToken = null;

  function show(name) {
    current = name;
    for (const [key, element] of Object.entries(screens)) {
      element.hidden = key !== name;
    }
    body.dataset.screen = name;
  }

  function setText(id, text) {
    $(id).textContent = text || "";
  }

  // Result screen.

  function showResult(data, frameCapturedAt) {
    const screen = data.screen;
    const result = screens.result;
    result.dataset.outcome = screen.outcome;
    result.dataset.status = screen.status;

    setText("headline-ar", screen.headline.ar);
    setText("headline-en", screen.headline.en);
    setText("status-ar", screen.status_text.ar);
    setText("status-en", screen.status_text.en);
    setText("explanation-ar", screen.explanation ? screen.explanation.ar : "");
    setText("explanation-en", screen.explanation ? screen.explanation.en : "");
    setText("next-ar", screen.next_step.ar);
    setText("next-en", screen.next_step.en);
    fillFields(screen.fields);

    ratingToken = data.rating_token;
    $("rating").hidden = !(settings.rating && ratingToken);
    $("rating-thanks").hidden = true;
    for (const button of document.querySelectorAll(".rate")) {
      button.disabled = false;
    }

    show("result");
    setText("announce", `${screen.headline.ar}. ${screen.status_text.ar}`);
    startCountdown();
    if (frameCapturedAt !== undefined) {
      // A task queued from the next animation frame runs once that frame, which
      // contains the result, has been painted.
      requestAnimationFrame(() => setTimeout(() => {
        performance.measure("kiosk-frame-to-verdict", {
          start: frameCapturedAt,
          end: performance.now(),
        });
      }, 0));
    }
  }

  function fillFields(fields) {
    const rows = $("fields");
    rows.replaceChildren();
    for (const field of fields) {
      const row = document.createElement("tr");
      const label = document.createElement("th");
      label.scope = "row";
      label.append(field.label_ar);
      const english = document.createElement("span");
      english.className = "en";
      english.lang = "en";
      english.dir = "ltr";
      english.textContent = field.label_en;
      label.append(english);
      // <bdi> lays out each value in its own direction: dates and numbers read
      // left to right inside the Arabic page.
      const value = document.createElement("td");
      const valueArabic = document.createElement("bdi");
      valueArabic.textContent = field.value_ar;
      value.append(valueArabic);
      if (field.value_en !== field.value_ar) {
        const valueEnglish = english.cloneNode();
        valueEnglish.textContent = field.value_en;
        value.append(valueEnglish);
      }
      row.append(label, value);
      rows.append(row);
    }
    $("fields-box").hidden = fields.length === 0;
  }

  function startCountdown() {
    let remaining = settings.returnSeconds;
    const tick = () => {
      setText("countdown-ar", `تعود الشاشة إلى البداية خلال ${remaining} ثانية`);
      setText("countdown-en", `Returns to the start screen in ${remaining} s`);
      if (remaining <= 0) {
        returnToStart();
        return;
      }
      remaining -= 1;
    };
    clearInterval(countdownTimer);
    tick();
    countdownTimer = setInterval(tick, 1000);
  }

  function returnToStart() {
    clearInterval(countdownTimer);
    countdownTimer = null;
    // Remove every trace of the document from the page.
    for (const id of [
      "headline-ar", "headline-en", "status-ar", "status-en", "explanation-ar",
      "explanation-en", "next-ar", "next-en", "countdown-ar", "countdown-en",
      "announce",
    ]) {
      setText(id, "");
    }
    $("fields").replaceChildren();
    delete screens.result.dataset.outcome;
    delete screens.result.dataset.status;
    ratingToken = null;
    resumeAt = performance.now() + settings.rescanDelayMs;
    show("start");
    scanner.focus();
  }

  // Sending inputs.

  async function post(path, payload, contentType) {
    const response = await fetch(path, {
      method: "POST",
      body: payload,
      headers: { "Content-Type": contentType },
      cache: "no-store",
    });
    if (!response.ok) {
      throw new Error(`${path} returned HTTP ${response.status}`);
    }
    return response.json();
  }

  async function check(path, payload, contentType) {
    if (busy) {
      return;
    }
    busy = true;
    clearInterval(countdownTimer);
    show("busy");
    try {
      showResult(await post(path, payload, contentType));
    } catch (error) {
      console.error("check failed:", error.message);
      returnToStart();
    } finally {
      busy = false;
    }
  }

  // Hand-held scanner in keyboard mode: it types the QR text, then Enter.

  // QR codes of court documents use the alphanumeric set 0-9 A-Z space $%*+-./:
  // A scanner sends key positions, so on an Arabic keyboard layout it would type
  // Arabic letters. The tables below restore the characters of a US layout.
  const SHIFTED = { Digit4: "$", Digit5: "%", Digit8: "*", Equal: "+", Semicolon: ":" };
  const UNSHIFTED = { Minus: "-", Period: ".", Slash: "/", Space: " ", Semicolon: ";" };

  function latinCharacter(event) {
    const code = event.code || "";
    if (code.startsWith("Key") && code.length === 4) {
      const letter = code.slice(3);
      return event.shiftKey ? letter : letter.toLowerCase();
    }
    if (event.shiftKey && SHIFTED[code]) {
      return SHIFTED[code];
    }
    if (code.startsWith("Digit") && !event.shiftKey) {
      return code.slice(5);
    }
    return UNSHIFTED[code] || null;
  }

  scanner.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      const text = scanner.value.trim();
      scanner.value = "";
      if (text) {
        check("/kiosk/text", JSON.stringify({ qr_text: text }), "application/json");
      }
      return;
    }
    if (event.key === "Escape" && current === "result") {
      returnToStart();
      return;
    }
    const latin = latinCharacter(event);
    if (latin !== null && event.key.length === 1 && event.key !== latin
        && !/^[\x20-\x7e]$/.test(event.key)) {
      event.preventDefault();
      scanner.setRangeText(latin, scanner.selectionStart, scanner.selectionEnd, "end");
    }
  });

  // Keep the scanner field focused, so a scan is never lost, except while the file
  // chooser is open.
  let choosingFile = false;
  function refocus() {
    if (!choosingFile && document.activeElement !== scanner) {
      scanner.focus({ preventScroll: true });
    }
  }
  scanner.addEventListener("blur", () => setTimeout(refocus, 0));
  document.addEventListener("click", () => setTimeout(refocus, 0));

  // A file from a USB stick.

  const fileInput = $("file");
  $("file-button").addEventListener("click", () => {
    choosingFile = true;
  });
  fileInput.addEventListener("cancel", () => {
    choosingFile = false;
    refocus();
  });
  fileInput.addEventListener("change", () => {
    choosingFile = false;
    const file = fileInput.files[0];
    fileInput.value = "";
    refocus();
    if (file) {
      check("/kiosk/file", file, "application/octet-stream");
    }
  });

  // Rating and the back button.

  for (const button of document.querySelectorAll(".rate")) {
    button.addEventListener("click", async () => {
      if (!ratingToken) {
        return;
      }
      const token = ratingToken;
      ratingToken = null;
      for (const other of document.querySelectorAll(".rate")) {
        other.disabled = true;
      }
      $("rating-thanks").hidden = false;
      try {
        await post(
          "/kiosk/rating",
          JSON.stringify({ token, rating: button.dataset.rating }),
          "application/json",
        );
      } catch (error) {
        console.error("rating failed:", error.message);
      }
    });
  }
  $("back").addEventListener("click", returnToStart);

  // Camera.

  async function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      cameraUnavailable();
      return;
    }
    try {
      video.srcObject = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } },
        audio: false,
      });
      await video.play();
      setTimeout(scanFrames, settings.frameIntervalMs);
    } catch (error) {
      console.error("camera unavailable:", error.name);
      cameraUnavailable();
    }
  }

  function cameraUnavailable() {
    body.dataset.camera = "unavailable";
    setText("camera-note", "");
    $("camera-note").append(
      "الكاميرا غير متاحة: استخدم الماسح اليدوي أو اختر ملفًا",
    );
    const english = document.createElement("span");
    english.className = "en";
    english.lang = "en";
    english.dir = "ltr";
    english.textContent = "The camera is not available: use the scanner or choose a file";
    $("camera-note").append(english);
  }

  function grabFrame() {
    const width = video.videoWidth;
    const height = video.videoHeight;
    if (!width || !height) {
      return null;
    }
    const scale = Math.min(1, MAX_FRAME_WIDTH / width);
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITY));
  }

  async function scanFrames() {
    const started = performance.now();
    if (current === "start" && !busy && !frameInFlight && started >= resumeAt) {
      frameInFlight = true;
      try {
        const blob = await grabFrame();
        const data = blob ? await post("/kiosk/frame", blob, "image/jpeg") : null;
        // A scanner or file check may have started while the frame was decoded.
        if (data && data.found && current === "start" && !busy) {
          showResult(data, started);
        }
      } catch (error) {
        console.error("frame failed:", error.message);
      } finally {
        frameInFlight = false;
      }
    }
    const elapsed = performance.now() - started;
    setTimeout(scanFrames, Math.max(0, settings.frameIntervalMs - elapsed));
  }

  // Trust data age on the start screen.

  async function refreshTrust() {
    try {
      const response = await fetch("/kiosk/status", { cache: "no-store" });
      const status = await response.json();
      const trust = status.trust;
      const element = $("trust");
      element.textContent = trust.text.ar;
      const english = document.createElement("span");
      english.className = "en";
      english.lang = "en";
      english.dir = "ltr";
      english.textContent = trust.text.en;
      element.append(english);
      element.classList.toggle("warning", !trust.usable);
      body.dataset.trust = trust.usable ? "usable" : "unusable";
    } catch (error) {
      console.error("status failed:", error.message);
    }
  }

  show("start");
  scanner.focus();
  refreshTrust();
  setInterval(refreshTrust, TRUST_REFRESH_MS);
  startCamera();
})();
