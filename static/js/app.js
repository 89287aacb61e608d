// Small progressive enhancements; every page works without this file.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  // Show that a slow action (a key test, a draft) is running, and prevent double submits.
  var button = event.submitter;
  if (button && button.hasAttribute("data-busy-text")) {
    var status = form.querySelector("[data-busy-status]");
    if (status) { status.textContent = button.getAttribute("data-busy-text"); }
    window.setTimeout(function () { button.disabled = true; }, 0);
  }
});

// The base URL only matters for providers whose address the user gives (the form lists
// them in data-base-url-providers): hide it for the others, in every form that has one.
document.querySelectorAll("select[data-base-url-providers]").forEach(function (provider) {
  var baseUrl = provider.form && provider.form.querySelector("input[name=base_url]");
  if (!baseUrl) { return; }
  var field = baseUrl.closest(".field");
  var takesBaseUrl = provider.getAttribute("data-base-url-providers").split(" ");
  function sync() { field.hidden = takesBaseUrl.indexOf(provider.value) === -1; }
  provider.addEventListener("change", sync);
  sync();
});

// Times: the page says them in UTC; show them in the viewer's own time zone instead.
(function () {
  if (!window.Intl || !Intl.DateTimeFormat) { return; }
  var format = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });
  document.querySelectorAll("time[data-local]").forEach(function (node) {
    var moment = new Date(node.getAttribute("datetime"));
    if (isNaN(moment)) { return; }
    node.title = node.textContent;  // the UTC time stays one hover away
    node.textContent = format.format(moment);
  });
})();
