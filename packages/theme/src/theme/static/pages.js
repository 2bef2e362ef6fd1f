// Small helpers both apps' pages share: Copy and Print buttons. One module served from
// the theme package (CSP script-src 'self', nothing inline). Without JavaScript every
// page works as before: the buttons this module wires stay hidden, the text stays
// selectable, and the recovery codes still download as a file.

// The line next to a button that says what happened (a polite live region).
function say(button, text) {
  const status = button.parentElement.querySelector("[data-copy-status]");
  if (status) status.textContent = text;
}

// <button data-copy="ID" [data-copy-compact]>: copies the element's text (without
// spaces when compact: the authenticator key is shown in groups of four).
for (const button of document.querySelectorAll("button[data-copy]")) {
  if (!navigator.clipboard || !window.isSecureContext) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    const source = document.getElementById(button.dataset.copy);
    if (!source) return;
    let text = source.innerText.trim();
    if ("copyCompact" in button.dataset) text = text.replace(/\s+/g, "");
    try {
      await navigator.clipboard.writeText(text);
      say(button, "Copied.");
    } catch {
      say(button, "Could not copy: select the text and copy it by hand.");
    }
  });
}

// <button data-print>: the browser's print dialog (the print style sheet shows only the
// page's content).
for (const button of document.querySelectorAll("button[data-print]")) {
  if (typeof window.print !== "function") continue;
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}

// Every password field gets a "Show password" toggle (aria-pressed) inside its box: the
// box keeps its size, so nothing moves when this module arrives.
for (const input of document.querySelectorAll("main input[type=password]:not([hidden])")) {
  const box = document.createElement("div");
  box.className = "reveal-box";
  input.replaceWith(box);
  box.append(input);
  input.classList.add("revealable");
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "reveal";
  toggle.textContent = "Show password";
  toggle.setAttribute("aria-pressed", "false");
  toggle.setAttribute("aria-controls", input.id);
  toggle.addEventListener("click", () => {
    const show = input.type === "password";
    input.type = show ? "text" : "password";
    toggle.setAttribute("aria-pressed", String(show));
  });
  // Sent as a password whatever it shows (a browser may offer to save it).
  input.form?.addEventListener("submit", () => { input.type = "password"; });
  box.append(toggle);
}
