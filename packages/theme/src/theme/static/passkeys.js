// Passkeys (WebAuthn) for both apps: this one module, no inline script (CSP script-src
// 'self'). Without JavaScript or WebAuthn the passkey controls stay hidden and the
// password forms work as before. The server (py_webauthn) checks everything.

const supported = typeof window.PublicKeyCredential === "function";

const b64url = {
  decode(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(base64 + "===".slice((base64.length + 3) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0)).buffer;
  },
  encode(buffer) {
    let raw = "";
    for (const byte of new Uint8Array(buffer)) raw += String.fromCharCode(byte);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
};

function creationOptions(json) {
  return {
    ...json,
    challenge: b64url.decode(json.challenge),
    user: { ...json.user, id: b64url.decode(json.user.id) },
    excludeCredentials: (json.excludeCredentials || []).map((c) => ({ ...c, id: b64url.decode(c.id) })),
  };
}

function requestOptions(json) {
  return {
    ...json,
    challenge: b64url.decode(json.challenge),
    allowCredentials: (json.allowCredentials || []).map((c) => ({ ...c, id: b64url.decode(c.id) })),
  };
}

function credentialJSON(credential) {
  const r = credential.response;
  const response = { clientDataJSON: b64url.encode(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = b64url.encode(r.attestationObject);
    response.transports = r.getTransports ? r.getTransports() : [];
  } else {
    response.authenticatorData = b64url.encode(r.authenticatorData);
    response.signature = b64url.encode(r.signature);
    if (r.userHandle) response.userHandle = b64url.encode(r.userHandle);
  }
  return {
    id: credential.id, rawId: b64url.encode(credential.rawId), type: credential.type,
    response, clientExtensionResults: credential.getClientExtensionResults(),
    authenticatorAttachment: credential.authenticatorAttachment || undefined,
  };
}

async function post(url, body) {
  const token = document.querySelector("input[name=csrfmiddlewaretoken]");
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  if (token) headers["X-CSRFToken"] = token.value;  // Django's CSRF check (web app)
  const response = await fetch(url, { method: "POST", headers, body: JSON.stringify(body),
                                       credentials: "same-origin" });
  const data = await response.json().catch(() => ({}));
  if (data.redirect && (response.ok || response.status === 403)) {
    window.location.assign(data.redirect);
    return null;
  }
  if (!response.ok) throw new Error(data.error || "Something went wrong. Please try again.");
  return data;
}

function showError(root, error) {
  const box = root.querySelector("[data-passkey-error]") || document.querySelector("[data-passkey-error]");
  if (!box) return;
  box.textContent = error.name === "NotAllowedError"
    ? "The passkey request was cancelled or timed out." : error.message;
  box.hidden = false;
}

let conditional = null;  // the autofill request, aborted when a button is used

async function logIn(button, mediation) {
  const next = button.dataset.next || "";
  const options = await post(button.dataset.options, {});
  if (!options) return;
  const request = { publicKey: requestOptions(options) };
  if (mediation) {
    conditional = new AbortController();
    request.mediation = "conditional";
    request.signal = conditional.signal;
  }
  const credential = await navigator.credentials.get(request);
  await post(button.dataset.verify, { credential: credentialJSON(credential), next });
}

async function register(form) {
  const options = await post(form.dataset.options, {});
  if (!options) return;
  const credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
  const name = form.querySelector("input[name=name]").value;
  await post(form.dataset.verify, { credential: credentialJSON(credential), name });
}

// "Passkeys need JavaScript": said only when it is true.
for (const note of document.querySelectorAll("[data-passkey-unavailable]")) {
  if (supported) note.hidden = true;
  else note.textContent = "This browser cannot use passkeys.";
}

if (supported) {
  for (const element of document.querySelectorAll("[data-passkey]")) element.hidden = false;
  for (const button of document.querySelectorAll("button[data-passkey=login]")) {
    button.addEventListener("click", (event) => {
      event.preventDefault();
      if (conditional) conditional.abort();
      logIn(button, false).catch((error) => showError(button.parentElement, error));
    });
  }
  for (const form of document.querySelectorAll("form[data-passkey=register]")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      register(form).catch((error) => showError(form, error));
    });
  }
  const autofill = document.querySelector("button[data-passkey=login][data-autofill]");
  const username = document.querySelector("input[autocomplete=username]");
  if (autofill && username && PublicKeyCredential.isConditionalMediationAvailable) {
    PublicKeyCredential.isConditionalMediationAvailable().then((available) => {
      if (!available) return;
      // The browser offers passkeys in the username field's autofill list.
      username.setAttribute("autocomplete", "username webauthn");
      logIn(autofill, true).catch(() => {});  // a cancelled autofill is fine
    });
  }
}
