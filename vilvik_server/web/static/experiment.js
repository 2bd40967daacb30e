// The experiment page reloads itself every few seconds until every run has ended.
(function () {
  "use strict";
  var status = document.getElementById("experiment-status");
  if (!status || status.dataset.status === "finished" || status.dataset.status === "cancelled") {
    return;
  }
  window.setTimeout(function () { window.location.reload(); }, 3000);
}());
