// Formwork public forms: the proof of work. The page carries a challenge
// (its form token's nonce) and a number of bits; this finds a counter N
// such that SHA-256("CHALLENGE:N") starts with that many zero bits, while
// the visitor fills the form, and puts it in the _pow field. A person
// waits a fraction of a second once; a bot sending thousands of forms pays
// for each. Submitting before it is found waits for it.
(function () {
  "use strict";

  var K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ]);
  var W = new Uint32Array(64);

  function rotr(x, n) { return (x >>> n) | (x << (32 - n)); }

  // firstWord is the first 32 bits of the SHA-256 of an ASCII string
  // shorter than 56 characters (one block, which is all a challenge and
  // its counter need).
  function firstWord(s) {
    var n = s.length, i;
    for (i = 0; i < 16; i++) W[i] = 0;
    for (i = 0; i < n; i++) W[i >> 2] |= s.charCodeAt(i) << (24 - (i & 3) * 8);
    W[n >> 2] |= 0x80 << (24 - (n & 3) * 8);
    W[15] = n * 8;
    for (i = 16; i < 64; i++) {
      var x = W[i - 15], y = W[i - 2];
      W[i] = W[i - 16] + (rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3)) + W[i - 7] + (rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10));
    }
    var a = 0x6a09e667, b = 0xbb67ae85, c = 0x3c6ef372, d = 0xa54ff53a;
    var e = 0x510e527f, f = 0x9b05688c, g = 0x1f83d9ab, h = 0x5be0cd19;
    for (i = 0; i < 64; i++) {
      var t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
      var t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    return (0x6a09e667 + a) | 0;
  }

  function setup(form) {
    var challenge = form.getAttribute("data-challenge");
    var bits = parseInt(form.getAttribute("data-work"), 10);
    var out = form.querySelector("input[name=_pow]");
    var hint = document.getElementById("public-work");
    var button = form.querySelector("button[type=submit]");
    if (!challenge || !out || !(bits > 0)) return;
    var found = out.value !== "";
    var waiting = false;
    var next = 0;

    function search() {
      var end = next + 4000;
      for (; next < end; next++) {
        if (Math.clz32(firstWord(challenge + ":" + next)) >= bits) {
          out.value = String(next);
          found = true;
          form.setAttribute("data-ready", "true");
          if (waiting) form.submit();
          return;
        }
      }
      setTimeout(search, 0);
    }

    form.addEventListener("submit", function (ev) {
      if (found) return;
      ev.preventDefault();
      waiting = true;
      if (hint) hint.hidden = false;
      if (button) button.disabled = true;
    });
    if (found) form.setAttribute("data-ready", "true");
    else setTimeout(search, 0);
  }

  function init() {
    var forms = document.querySelectorAll("form[data-challenge]");
    for (var i = 0; i < forms.length; i++) setup(forms[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
