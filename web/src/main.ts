import "./style.css";
import { initLang } from "./i18n.js";

initLang();
const root = document.getElementById("app");
if (root) {
  // One page, two apps: the operator console is loaded only on /operator (the edge serves
  // index.html for any path without an extension).
  if (location.pathname.replace(/\/+$/, "") === "/operator") {
    void import("./operator.js").then((m) => m.mountOperator(root));
  } else {
    void import("./player.js").then((m) => m.mountPlayer(root));
  }
}
