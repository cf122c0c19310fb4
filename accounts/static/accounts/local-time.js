// Shows each <time data-local> in the browser's own time zone (the page's text says UTC without it).
(function () {
  var options = { hour: "2-digit", minute: "2-digit" };
  document.querySelectorAll("time[data-local]").forEach(function (element) {
    var moment = new Date(element.getAttribute("datetime"));
    if (isNaN(moment)) { return; }
    var withDate = element.getAttribute("data-local") === "date";
    var text = withDate ? moment.toLocaleString([], Object.assign({ year: "numeric", month: "short", day: "numeric" }, options))
                        : moment.toLocaleTimeString([], options);
    var sameDay = moment.toDateString() === new Date().toDateString();
    if (!withDate && !sameDay) { text = moment.toLocaleDateString([], { month: "short", day: "numeric" }) + " " + text; }
    element.textContent = text;
    element.title = "Your local time";
  });
})();
