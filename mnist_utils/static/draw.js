// The browser side of mnist_utils.draw.DigitPad: a canvas to draw on, the digit as the model
// sees it, and ten probability bars. Python prepares the digit and runs the model.

function el(tag, className, parent) {
  const node = document.createElement(tag);
  node.className = className;
  parent?.appendChild(node);
  return node;
}

function toBase64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096));
  }
  return btoa(text);
}

function render({ model, el: root }) {
  const size = model.get("size");
  const pad = el("div", "mnist-pad", root);

  // The drawing: white ink on black, drawn with pointer events (mouse, pen or finger).
  const left = el("div", "mnist-pad-column", pad);
  el("div", "mnist-pad-caption", left).textContent = "Draw a digit";
  const canvas = el("canvas", "mnist-pad-canvas", left);
  canvas.width = canvas.height = size;
  const ink = canvas.getContext("2d", { willReadFrequently: true });
  const clear = el("button", "mnist-pad-clear", left);
  clear.type = "button";
  clear.textContent = "Clear";

  // What the model sees: 28x28, shown enlarged with square pixels.
  const middle = el("div", "mnist-pad-column", pad);
  el("div", "mnist-pad-caption", middle).textContent = "What the model sees (28×28)";
  const preview = el("canvas", "mnist-pad-preview", middle);
  preview.width = preview.height = 28;
  const small = preview.getContext("2d");

  // The ten probabilities.
  const right = el("div", "mnist-pad-column", pad);
  el("div", "mnist-pad-caption", right).textContent = "The model's probabilities";
  const bars = el("div", "mnist-pad-bars", right);
  const rows = [...Array(10).keys()].map((digit) => {
    const row = el("div", "mnist-pad-row", bars);
    el("span", "mnist-pad-label", row).textContent = digit;
    const track = el("span", "mnist-pad-track", row);
    const bar = el("span", "mnist-pad-bar", track);
    const value = el("span", "mnist-pad-value", row);
    return { row, bar, value };
  });

  function blank() {
    ink.fillStyle = "black";
    ink.fillRect(0, 0, size, size);
  }

  function send() {
    const rgba = ink.getImageData(0, 0, size, size).data;
    const bytes = new Uint8Array(size * size);
    for (let i = 0; i < bytes.length; i++) bytes[i] = rgba[4 * i]; // red = ink
    model.set("pixels", toBase64(bytes));
    model.save_changes();
  }

  // Send while drawing, at most every 120 ms, and once more when the stroke ends.
  let drawing = false, last = null, timer = null;
  function sendSoon() {
    if (timer === null) timer = setTimeout(() => { timer = null; send(); }, 120);
  }
  function point(event) {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * size / box.width,
            (event.clientY - box.top) * size / box.height];
  }
  function stroke(event) {
    const [x, y] = point(event);
    ink.strokeStyle = ink.fillStyle = "white";
    ink.lineWidth = size / 13;
    ink.lineCap = ink.lineJoin = "round";
    ink.beginPath();
    if (last) { ink.moveTo(...last); ink.lineTo(x, y); ink.stroke(); }
    else { ink.arc(x, y, ink.lineWidth / 2, 0, 2 * Math.PI); ink.fill(); }
    last = [x, y];
  }
  canvas.addEventListener("pointerdown", (event) => {
    drawing = true;
    last = null;
    canvas.setPointerCapture(event.pointerId);
    stroke(event);
    sendSoon();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    stroke(event);
    sendSoon();
  });
  const stop = () => {
    if (!drawing) return;
    drawing = false;
    last = null;
    clearTimeout(timer);
    timer = null;
    send();
  };
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  clear.addEventListener("click", () => {
    blank();
    model.set("pixels", "");
    model.save_changes();
  });

  function show() {
    const digit = model.get("preview");
    const image = small.createImageData(28, 28);
    for (let i = 0; i < 28 * 28; i++) {
      const v = Math.round(255 * (digit[i] ?? 0));
      image.data.set([v, v, v, 255], 4 * i);
    }
    small.putImageData(image, 0, 0);

    const probabilities = model.get("probabilities");
    const best = probabilities.length ? probabilities.indexOf(Math.max(...probabilities)) : -1;
    rows.forEach(({ row, bar, value }, digit) => {
      const p = probabilities[digit];
      bar.style.width = p === undefined ? "0%" : `${(100 * p).toFixed(1)}%`;
      value.textContent = p === undefined ? "" : `${(100 * p).toFixed(1)}%`;
      row.classList.toggle("mnist-pad-best", digit === best);
    });
  }

  blank();
  show();
  model.on("change:preview", show);
  model.on("change:probabilities", show);
  return () => {
    model.off("change:preview", show);
    model.off("change:probabilities", show);
  };
}

export default { render };
