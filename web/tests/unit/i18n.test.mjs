import assert from "node:assert/strict";
import { test } from "node:test";
import { detectLang, keysOf } from "../../build/unit/i18n.js";

test("French and English have the same texts", () => {
  assert.deepEqual(keysOf("fr"), keysOf("en"));
});

test("the language is the player's choice, else the browser's, else French", () => {
  assert.equal(detectLang("en", ["fr-FR"]), "en");
  assert.equal(detectLang(null, ["de-DE", "en-US"]), "en");
  assert.equal(detectLang(null, ["fr-BE"]), "fr");
  assert.equal(detectLang(null, ["de-DE"]), "fr");
  assert.equal(detectLang("xx", []), "fr");
});
