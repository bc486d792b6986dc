/* Scan registration receipts into the receipt box with the phone's camera, where the browser
   has the BarcodeDetector API (Chrome on Android). Elsewhere the button stays hidden and the
   codes are typed, or a keyboard-wedge scanner types them. Each code read is added once. */
(function () {
  function setup() {
    var button = document.getElementById("scan-receipt");
    var box = document.getElementById("id_receipt_codes");
    var video = document.getElementById("scan-video");
    if (!button || !box || !video || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;
    button.hidden = false;
    var stream = null;
    var detector = new window.BarcodeDetector({ formats: ["qr_code", "code_128"] });
    function stop() {
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      stream = null;
      video.hidden = true;
    }
    function add(code) {
      code = (code || "").trim().toUpperCase();
      var m = code.match(/[A-Z0-9]{4,16}$/);  // a receipt link ends with its code
      if (!m) return;
      var have = box.value.split(/[\s,;]+/).filter(Boolean);
      if (have.indexOf(m[0]) < 0) have.push(m[0]);
      box.value = have.join("\n");
    }
    function tick() {
      if (!stream) return;
      detector.detect(video).then(function (found) {
        if (found.length) { add(found[0].rawValue); stop(); return; }
        window.requestAnimationFrame(tick);
      }).catch(stop);
    }
    button.addEventListener("click", function () {
      if (stream) { stop(); return; }
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
        stream = s;
        video.srcObject = s;
        video.hidden = false;
        video.play();
        tick();
      }).catch(stop);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
