// Camera scanning for the verification form. The server decodes the frames with
// the same code as uploads: each frame is posted as a JPEG to the verification API,
// and the first frame whose verdict is not NO_QR_FOUND is submitted with the form,
// so the result page is rendered by the server as for any upload.
"use strict";

(function () {
  const FRAME_INTERVAL_MS = 1000;
  const JPEG_QUALITY = 0.85;

  const section = document.getElementById("camera");
  const form = document.getElementById("verify-form");
  const fileInput = document.getElementById("file");
  if (!section || !form || !fileInput) {
    return;
  }
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return;
  }
  section.hidden = false;

  const startButton = document.getElementById("camera-start");
  const stopButton = document.getElementById("camera-stop");
  const video = document.getElementById("camera-video");
  const canvas = document.getElementById("camera-canvas");
  const status = document.getElementById("camera-status");
  let stream = null;
  let timer = null;

  function sleep(milliseconds) {
    return new Promise((resolve) => setTimeout(resolve, milliseconds));
  }

  function stop() {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    if (stream !== null) {
      stream.getTracks().forEach((track) => track.stop());
      stream = null;
    }
    video.hidden = true;
    stopButton.hidden = true;
    startButton.hidden = false;
  }

  function grabFrame() {
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITY));
  }

  async function verifyFrame(blob) {
    const body = new FormData();
    body.append("file", blob, "camera.jpg");
    const response = await fetch("/api/v1/verifications", { method: "POST", body: body });
    if (response.status === 429) {
      const seconds = Number(response.headers.get("Retry-After")) || 5;
      await sleep(seconds * 1000);
      return null;
    }
    if (!response.ok) {
      return null;
    }
    return response.json();
  }

  function submitFrame(blob) {
    const transfer = new DataTransfer();
    transfer.items.add(new File([blob], "camera.jpg", { type: "image/jpeg" }));
    fileInput.files = transfer.files;
    // The prototype's method, in case a control named "submit" shadows form.submit.
    HTMLFormElement.prototype.submit.call(form);
  }

  async function scanOnce() {
    timer = null;
    if (stream === null) {
      return;
    }
    if (video.videoWidth > 0) {
      const blob = await grabFrame();
      const verdict = blob ? await verifyFrame(blob) : null;
      if (stream === null) {
        return;
      }
      if (verdict && verdict.status !== "NO_QR_FOUND") {
        stop();
        submitFrame(blob);
        return;
      }
    }
    timer = setTimeout(scanOnce, FRAME_INTERVAL_MS);
  }

  async function start() {
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment", width: { ideal: 1920 }, height: { ideal: 1080 } },
        audio: false,
      });
    } catch (error) {
      status.textContent = section.dataset.denied;
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    startButton.hidden = true;
    stopButton.hidden = false;
    status.textContent = section.dataset.searching;
    await video.play();
    timer = setTimeout(scanOnce, FRAME_INTERVAL_MS / 2);
  }

  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", () => {
    stop();
    status.textContent = "";
  });
})();
