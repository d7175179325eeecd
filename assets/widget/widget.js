// kontor widget loader (placeholder): the real loader arrives with the live-chat issue.
// It deliberately does nothing yet: no cookie, no storage, no network request.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.dataset.site) {
    return;
  }
  window.kontor = window.kontor || function () {};
})();
