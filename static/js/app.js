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

// A broadcast's progress refreshes itself while it is sending (without JavaScript, reloading
// the page shows the same).
(function () {
  var section = document.querySelector("[data-broadcast-progress]");
  if (!section || !window.fetch) { return; }
  var url = section.getAttribute("data-broadcast-progress");
  function set(name, value) {
    var el = section.querySelector("[data-field=" + name + "]");
    if (el) { el.textContent = value; }
  }
  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var bar = section.querySelector("progress");
        if (bar) { bar.value = data.progress; bar.textContent = data.progress + "%"; }
        set("progress_text", data.progress + "%");
        set("status_words", data.status_words);
        var reason = section.querySelector("[data-field=pause_reason]");
        if (reason) { reason.textContent = data.pause_reason; reason.hidden = !data.pause_reason; }
        Object.keys(data.counts).forEach(function (key) {
          var count = section.querySelector("[data-count=" + key + "]");
          if (count) { count.textContent = data.counts[key]; }
        });
        if (data.active) { window.setTimeout(refresh, 2000); }
      })
      .catch(function () { window.setTimeout(refresh, 5000); });
  }
  window.setTimeout(refresh, 2000);
})();
