// A live hint while a new password is typed, for both apps' forms: this one module, no
// inline script (CSP script-src 'self'), no request to any endpoint. The server decides
// (auth_utils.password_policy): it refuses the commonly used passwords, which this module
// does not know, and says why on the re-rendered form, so everything works without
// JavaScript. Here: the length rule, the "built from your username or this site's name"
// rule (the same definition as the server's), and a rough length-and-variety estimate.
//
// Markup: <p data-strength-for="INPUT-ID" data-strength-words="site words" hidden>;
// the username is the form's `username` field, when it has one.

const MIN = 8;

const fold = (text) => text.normalize("NFKC").toLowerCase();
const letters = (text) => Array.from(fold(text)).filter((c) => /\p{L}/u.test(c)).join("");

function wordsOf(texts) {
  const found = new Set();
  for (const text of texts) {
    const folded = fold(text);
    for (const word of [letters(folded), ...(folded.match(/\p{L}+/gu) || [])]) {
      if (word) found.add(word);
    }
  }
  return found;
}

// `text` is a concatenation of `words` (each any number of times).
function madeOf(text, words) {
  if (!text || words.size === 0) return false;
  const ends = [true];
  for (let i = 1; i <= text.length; i += 1) {
    ends[i] = false;
    for (const word of words) {
      if (word.length <= i && ends[i - word.length] && text.slice(i - word.length, i) === word) {
        ends[i] = true;
        break;
      }
    }
  }
  return ends[text.length];
}

// Bits from the character classes used and the length, repeats counted once.
function estimate(password) {
  const chars = Array.from(password);
  let pool = 0;
  if (/[a-z]/.test(password)) pool += 26;
  if (/[A-Z]/.test(password)) pool += 26;
  if (/[0-9]/.test(password)) pool += 10;
  if (/[^A-Za-z0-9]/.test(password)) pool += 33;
  const collapsed = chars.filter((c, i) => c !== chars[i - 1]).length;
  const effective = Math.min(collapsed, 2 * new Set(chars).size);
  return effective * Math.log2(Math.max(pool, 2));
}

function judge(password, username, site) {
  const length = Array.from(password).length;
  if (length === 0) return null;
  if (length < MIN) {
    return ["weak", `Too short: ${MIN - length} more character${MIN - length === 1 ? "" : "s"} needed.`];
  }
  const text = letters(password);
  const siteWords = wordsOf(site);
  if (madeOf(text, siteWords)) return ["weak", "Built from this site's name: it will be refused."];
  if (username && madeOf(text, new Set([...siteWords, ...wordsOf([username])]))) {
    return ["weak", "Built from your username: it will be refused."];
  }
  const bits = estimate(password);
  const checked = " Checked against the most common passwords when you submit.";
  if (bits < 40) return ["weak", `Weak: a few unrelated words make a stronger one.${checked}`];
  if (bits < 60) return ["fair", `Fair: longer is stronger.${checked}`];
  return ["strong", `Strong.${checked}`];
}

for (const output of document.querySelectorAll("[data-strength-for]")) {
  const input = document.getElementById(output.dataset.strengthFor);
  if (!input) continue;
  const site = (output.dataset.strengthWords || "").split(/\s+/).filter(Boolean);
  const update = () => {
    const username = input.form && input.form.elements.username;
    const verdict = judge(input.value, username ? username.value.trim() : "", site);
    output.hidden = verdict === null;
    output.dataset.strength = verdict ? verdict[0] : "";
    output.textContent = verdict ? verdict[1] : "";
  };
  input.addEventListener("input", update);
  const username = input.form && input.form.elements.username;
  if (username && username.addEventListener) username.addEventListener("input", update);
  update();
}
