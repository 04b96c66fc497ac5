/*
 * The sigopt-ai dashboard: fills the page shell (page.html) from the /v1 JSON API.
 *
 * A classic script, no build step, no framework. <body data-page="experiments|experiment|run" data-id="...">
 * says which page to build. Every user string goes into the DOM with textContent; chart tooltips escape
 * theirs (esc). When every plot and table of the page has rendered, body.dataset.ready = "1"; each live
 * refresh re-renders and increments body.dataset.refreshed.
 *
 * Data: api(path) reads the self-contained report's map (<script type="application/json" id="sigopt-data">,
 * {"/v1/path?query": response}) when the page has one, else fetches with the session cookie. The requests
 * the experiment page makes at load, in this exact form (sigopt_ai/dashboard/_requests.py lists the same
 * for the report):
 *   /v1/experiments/ID                    (its "progress" gives the counts)
 *   /v1/experiments/ID/sigopt_ai/analysis?points=2000
 *   /v1/experiments/ID/sigopt_ai/failure_map          (empty axes without two numeric parameters)
 *   /v1/experiments/ID/sigopt_ai/runs?offset=0&limit=50&sort=created&order=desc
 *   /v1/experiments/ID/sigopt_ai/experiment.yml       (text: the report stores it as a JSON string)
 */
(function () {
  "use strict";

  // ---------------------------------------------------------------------------------------------- constants
  var POLL_MS = 2000;
  var POINTS = 2000;
  var PAGE_SIZE = 50;
  var LARGE = 150; // a scatter series of more points is drawn as one SVG path
  var MAX_LINES = 400; // parallel coordinates draw at most this many of the server's sampled points
  // Fixed colours per failure kind, used in every plot and table (style.css has the same as .kind-*).
  var KIND_COLORS = {
    oom: "#e8590c",
    diverged: "#7b2cbf",
    invalid_assignment: "#d6336c",
    other: "#495057",
  };
  var KIND_SYMBOLS = { oom: "triangle", diverged: "diamond", invalid_assignment: "rect", other: "pin" };
  // Successes coloured by value: light (bad) to dark (good); never close to a kind's colour.
  var VALUE_COLORS = ["#c6dbef", "#6baed6", "#2171b5", "#08306b"];
  var SUCCESS_COLOR = "#1c7ed6";
  var BEST_COLOR = "#2b8a3e";
  var AXIS_COLOR = "#adb5bd";
  var TEXT_COLOR = "#495057";
  var GRID_LINE = "#eef0f3";
  // ECharts measures text on a canvas, which does not resolve "inherit": the same stack as style.css.
  var FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
  // P(success) bands under the failure map's points: pale, so the points stay readable.
  var PSUCCESS_PIECES = [
    { gte: 0, lt: 0.2, color: "#f5c2c7", label: "< 0.2" },
    { gte: 0.2, lt: 0.4, color: "#fadbd8", label: "0.2 – 0.4" },
    { gte: 0.4, lt: 0.6, color: "#f1f3f5", label: "0.4 – 0.6" },
    { gte: 0.6, lt: 0.8, color: "#dcefe0", label: "0.6 – 0.8" },
    { gte: 0.8, lte: 1, color: "#c3e6cb", label: "≥ 0.8" },
  ];

  var body = document.body;
  var main = document.getElementById("main");
  var embedded = document.getElementById("sigopt-data");
  var REPORT = embedded ? JSON.parse(embedded.textContent) : null;
  var charts = [];

  // ------------------------------------------------------------------------------------------- data layer
  function ApiError(status, message, path) {
    this.name = "ApiError";
    this.status = status;
    this.message = message;
    this.path = path;
  }
  ApiError.prototype = Object.create(Error.prototype);

  /** The response of GET path: the report's copy when the page is a report, else the server's. */
  function api(path, asText) {
    if (REPORT) {
      if (Object.prototype.hasOwnProperty.call(REPORT, path)) return Promise.resolve(REPORT[path]);
      return Promise.reject(new ApiError(0, "This report holds only the page as it was written; open the dashboard for more.", path));
    }
    return fetch(path, { credentials: "same-origin", headers: { Accept: asText ? "text/plain, */*" : "application/json" } }).then(
      function (response) {
        if (response.status === 401) {
          window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
          return new Promise(function () {}); // the page is going away: never settle
        }
        if (!response.ok) {
          return response.text().then(function (text) {
            var message = text;
            try {
              var parsed = JSON.parse(text);
              message = parsed.message || parsed.detail || text;
              if (typeof message !== "string") message = JSON.stringify(message);
            } catch (ignored) {
              /* not JSON: the text itself */
            }
            throw new ApiError(response.status, message || response.statusText, path);
          });
        }
        return asText ? response.text() : response.json();
      }
    );
  }

  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (key) {
      var value = params[key];
      if (value !== null && value !== undefined && value !== "") {
        parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(value));
      }
    });
    return parts.length ? "?" + parts.join("&") : "";
  }

  function enc(id) {
    return encodeURIComponent(String(id));
  }

  // ---------------------------------------------------------------------------------------------- DOM
  /** An element: el("td", {class: "num", "data-col": "best"}, child...). Strings become text nodes. */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === null || value === undefined || value === false) return;
        if (key === "text") node.textContent = String(value);
        else if (key === "class") node.className = value;
        else node.setAttribute(key, value === true ? "" : String(value));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  /** Append each child (a node, a string as text, an array of them; null and false skipped); returns node. */
  function append(node) {
    for (var i = 1; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) child.forEach(function (c) { append(node, c); });
      else if (typeof child === "object") node.appendChild(child);
      else node.appendChild(document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) {
    // A chart leaving the page is disposed (its listeners and instance would outlive it).
    if (window.echarts && node.querySelectorAll) {
      node.querySelectorAll("div.plot").forEach(function (div) {
        var instance = window.echarts.getInstanceByDom(div);
        if (instance) instance.dispose();
      });
      charts = charts.filter(function (c) { return !c.isDisposed(); });
    }
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  /** The plot div named name inside holder: the one there (its chart is redrawn), else a new one. */
  function ownPlot(holder, name) {
    var div = holder.querySelector('div.plot[data-plot="' + name + '"]');
    if (div) {
      Array.prototype.slice.call(holder.children).forEach(function (child) { if (child !== div) holder.removeChild(child); });
      return div;
    }
    clear(holder);
    return append(holder, plotDiv(name)).lastChild;
  }

  function esc(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function kindKey(kind) {
    return Object.prototype.hasOwnProperty.call(KIND_COLORS, kind) ? kind : "other";
  }

  function kindColor(kind) {
    return KIND_COLORS[kindKey(kind)];
  }

  function kindChip(kind, count) {
    var label = count === undefined ? kind : kind + " " + count;
    return el("span", { class: "kind kind-" + kindKey(kind), "data-kind": kind, text: label });
  }

  function card(title, extraClass) {
    var head = el("div", { class: "card-head" }, el("h2", { text: title }));
    var node = el("section", { class: "card" + (extraClass ? " " + extraClass : "") }, head);
    node.head = head;
    return node;
  }

  function plotDiv(name) {
    return el("div", { class: "plot", "data-plot": name });
  }

  function message(node, text, cls) {
    append(node, el("p", { class: cls || "muted", text: text }));
  }

  /** A link to a page of the dashboard; text alone in a report (a file has no dashboard behind it). */
  function link(href, text) {
    return href && !REPORT ? el("a", { href: href, text: text }) : el("span", { text: text });
  }

  function setCrumbs(items) {
    var nav = clear(document.getElementById("crumbs"));
    items.forEach(function (item, i) {
      if (i) append(nav, el("span", { class: "sep", text: "/" }));
      append(nav, link(item.href, item.text));
    });
    var last = items[items.length - 1];
    document.title = (last ? last.text + " · " : "") + "sigopt-ai";
  }

  function showError(node, error) {
    var text = error instanceof ApiError ? error.message : "Something went wrong: " + (error && error.message);
    append(node, el("p", { class: "error", text: text }));
    if (!(error instanceof ApiError)) console.error(error); // eslint-disable-line no-console
  }

  // ------------------------------------------------------------------------------------------- formatting
  function fmt(value) {
    if (value === null || value === undefined) return "–";
    if (typeof value !== "number") return String(value);
    if (Number.isInteger(value)) return String(value);
    var abs = Math.abs(value);
    if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(3).replace(/\.?0+e/, "e");
    return String(Number(value.toPrecision(5)));
  }

  function fmtDuration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    if (seconds < 1) return (seconds * 1000).toFixed(seconds < 0.01 ? 2 : 0) + " ms";
    if (seconds < 60) return seconds.toFixed(1) + " s";
    var m = Math.floor(seconds / 60);
    if (m < 60) return m + " min " + Math.round(seconds - m * 60) + " s";
    return Math.floor(m / 60) + " h " + (m % 60) + " min";
  }

  function fmtDate(epoch) {
    if (!epoch) return "–";
    var d = new Date(epoch * 1000);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " + two(d.getHours()) + ":" + two(d.getMinutes());
  }

  function fmtAge(epoch) {
    if (!epoch) return "–";
    var s = Math.max(0, Date.now() / 1000 - epoch);
    if (s < 60) return "just now";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    return Math.floor(s / 86400) + " d ago";
  }

  function fmtBytes(n) {
    if (n === null || n === undefined) return "–";
    var units = ["B", "KB", "MB", "GB", "TB"];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : String(n)) + " " + units[i];
  }

  function kindsText(byKind) {
    var kinds = Object.keys(byKind || {}).filter(function (k) { return byKind[k]; });
    return kinds.map(function (k) { return k + " " + byKind[k]; }).join(", ");
  }

  // --------------------------------------------------------------------------------------------- charts
  var queued = [];
  var batching = false;

  /** Draw option in div (an ECharts instance, svg renderer): now, or at flushCharts() inside batch(). */
  function chart(div, option) {
    queued.push([div, option]);
    if (!batching) flushCharts();
  }

  /** Run render(), drawing its charts together at the end: their sizes are read in one layout (ECharts
   * reads each container's computed style at init, and each init's writes would force a new layout). */
  function batch(render) {
    batching = true;
    try {
      return render();
    } finally {
      batching = false;
      flushCharts();
    }
  }

  function flushCharts() {
    var jobs = queued;
    queued = [];
    var sizes = jobs.map(function (job) { return { width: job[0].clientWidth, height: job[0].clientHeight }; });
    jobs.forEach(function (job, i) {
      var div = job[0], option = job[1];
      var instance = window.echarts.getInstanceByDom(div);
      if (!instance) {
        instance = window.echarts.init(div, null, { renderer: "svg", width: sizes[i].width, height: sizes[i].height });
        charts.push(instance);
      } else if (instance.getWidth() !== sizes[i].width || instance.getHeight() !== sizes[i].height) {
        instance.resize(sizes[i]);
      }
      option.animation = false;
      // Everything drawn in this call (ready means rendered): no progressive chunks; a big scatter of
      // one colour as one path (the server sends at most a few thousand points).
      (option.series || []).forEach(function (s) {
        s.progressive = 0;
        if (s.type === "scatter" && !s.byValue && s.data.length > LARGE) { s.large = true; s.largeThreshold = 0; }
        delete s.byValue;
      });
      option.textStyle = { fontFamily: FONT, color: TEXT_COLOR };
      instance.setOption(option, { notMerge: true });
    });
  }

  // Sortable headers answer the keyboard as buttons do.
  document.addEventListener("keydown", function (event) {
    var th = event.target.closest && event.target.closest("th[data-sort]");
    if (th && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      th.click();
    }
  });

  window.addEventListener("resize", function () {
    charts.forEach(function (c) {
      if (!c.isDisposed()) c.resize({ width: c.getDom().clientWidth, height: c.getDom().clientHeight });
    });
  });

  function valueAxis(extra) {
    var axis = {
      type: "value",
      scale: true,
      axisLine: { lineStyle: { color: AXIS_COLOR } },
      axisLabel: { color: TEXT_COLOR, formatter: fmt, hideOverlap: true },
      splitLine: { lineStyle: { color: GRID_LINE } },
      nameTextStyle: { color: TEXT_COLOR },
    };
    return Object.assign(axis, extra || {});
  }

  function tooltipRows(title, rows) {
    var html = '<div class="tt"><div class="tt-title">' + esc(title) + "</div>";
    rows.forEach(function (row) {
      if (row) html += '<div class="tt-row"><span>' + esc(row[0]) + "</span><b>" + esc(row[1]) + "</b></div>";
    });
    return html + "</div>";
  }

  /** Every tooltip goes through a formatter that escapes: ECharts' default one writes inline styles,
   * which the Content-Security-Policy refuses, and would print the series name unescaped. */
  function tooltip(formatter) {
    return { trigger: "item", confine: true, className: "tt-box", formatter: formatter || defaultTip, transitionDuration: 0 };
  }

  function defaultTip(p) {
    var value = Array.isArray(p.value) ? p.value.map(fmt).join(", ") : fmt(p.value);
    return tooltipRows(p.seriesName || "", [[p.name || "value", value]]);
  }

  /** Values on a log axis when they are all positive and span more than 3 decades. */
  function logScaled(values) {
    var lo = Infinity, hi = -Infinity;
    values.forEach(function (v) {
      if (v !== null && v !== undefined) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    });
    return lo > 0 && hi / lo > 1000;
  }

  /** Label an axis's explicit bounds only when they are round: 512 beside the tick 500 would overlap it. */
  function boundLabels(label, min, max) {
    function round(v) { return v === 0 || Number(Number(v).toPrecision(1)) === v; }
    label.showMinLabel = round(min);
    label.showMaxLabel = round(max);
    return label;
  }

  function isNumeric(param) {
    return param.type === "int" || param.type === "double";
  }

  function pointTooltip(point, metricNames) {
    var rows = [];
    if (point.failed) rows.push(["failed", point.kind || "other"]);
    (metricNames || []).forEach(function (name) {
      if (point.values && point.values[name] !== undefined) rows.push([name, fmt(point.values[name])]);
    });
    Object.keys(point.assignments || {}).forEach(function (name) {
      rows.push([name, fmt(point.assignments[name])]);
    });
    return tooltipRows("observation " + point.index, rows);
  }

  /** At most max of list, evenly spread, in order; items whose index is in keep are always kept. */
  function thin(list, max, keep) {
    if (list.length <= max) return list;
    var wanted = {};
    (keep || []).forEach(function (i) { wanted[i] = true; });
    var step = list.length / max, next = 0;
    return list.filter(function (item, i) {
      if (i >= next) { next += step; return true; }
      return wanted[item.index] === true;
    });
  }

  // ----------------------------------------------------------------------------------------- live polling
  var poller = null;
  function startPolling(tick) {
    stopPolling();
    var live = document.getElementById("live");
    if (REPORT) return;
    if (live) live.hidden = false;
    var busy = false;
    poller = window.setInterval(function () {
      if (busy || document.visibilityState !== "visible") return;
      busy = true;
      tick().then(
        function (keepGoing) {
          busy = false;
          if (live) live.textContent = "live";
          if (!keepGoing) stopPolling();
        },
        function () {
          // The server went away for a moment (a restart): say so on the badge, try again next tick.
          busy = false;
          if (live) live.textContent = "reconnecting";
        }
      );
    }, POLL_MS);
  }

  function stopPolling() {
    if (poller !== null) window.clearInterval(poller);
    poller = null;
    var live = document.getElementById("live");
    if (live) live.hidden = true;
  }

  function ready() {
    body.dataset.ready = "1";
  }

  function refreshed() {
    body.dataset.refreshed = String(Number(body.dataset.refreshed || "0") + 1);
    ready();
  }

  // ================================================================================ experiments page
  function experimentsPage() {
    setCrumbs([{ text: "Experiments" }]);
    var state = { rows: [], sort: "age", order: "desc", filter: "" };
    clear(main);
    var section = card("Experiments", "wide");
    var filter = el("input", { id: "filter", type: "search", placeholder: "Filter by name or project", "aria-label": "Filter" });
    append(section.head, filter);
    var columns = [
      ["name", "Name"], ["project", "Project"], ["progress", "Progress"], ["failed", "Failed"],
      ["active", "Active"], ["best", "Best value"], ["age", "Created"],
    ];
    var headRow = el("tr");
    columns.forEach(function (col) {
      append(headRow, el("th", { "data-sort": col[0], tabindex: 0, class: ["name", "project", "progress"].indexOf(col[0]) >= 0 ? "" : "num", text: col[1] }));
    });
    var tbody = el("tbody");
    var table = el("table", { id: "experiments", class: "table" }, el("thead", null, headRow), tbody);
    var empty = el("p", { class: "muted", hidden: true, text: "No experiments yet." });
    append(section, el("div", { class: "table-wrap" }, table), empty);
    append(main, section);

    function key(row, col) {
      switch (col) {
        case "name": return row.name.toLowerCase();
        case "project": return String(row.project || "").toLowerCase();
        case "progress": return row.budget ? row.observation_count / row.budget : row.observation_count;
        case "failed": return row.failed;
        case "active": return row.active_run_count;
        case "best": return row.best_value === null ? null : row.best_value;
        default: return row.created;
      }
    }

    function render() {
      var needle = state.filter.trim().toLowerCase();
      var rows = state.rows.filter(function (row) {
        return !needle || row.name.toLowerCase().indexOf(needle) >= 0 || String(row.project || "").toLowerCase().indexOf(needle) >= 0;
      });
      var sign = state.order === "asc" ? 1 : -1;
      rows.sort(function (a, b) {
        var ka = key(a, state.sort), kb = key(b, state.sort);
        if (ka === kb) return 0;
        if (ka === null) return 1; // blanks last, whatever the order
        if (kb === null) return -1;
        return ka < kb ? -sign : sign;
      });
      headRow.querySelectorAll("th").forEach(function (th) {
        th.classList.toggle("sorted", th.dataset.sort === state.sort);
        th.classList.toggle("asc", th.dataset.sort === state.sort && state.order === "asc");
        if (th.dataset.sort === state.sort) th.setAttribute("aria-sort", state.order === "asc" ? "ascending" : "descending");
        else th.removeAttribute("aria-sort");
      });
      clear(tbody);
      rows.forEach(function (row) { append(tbody, experimentRow(row)); });
      empty.hidden = state.rows.length > 0;
    }

    headRow.addEventListener("click", function (event) {
      var th = event.target.closest("th[data-sort]");
      if (!th) return;
      if (state.sort === th.dataset.sort) state.order = state.order === "asc" ? "desc" : "asc";
      else { state.sort = th.dataset.sort; state.order = th.dataset.sort === "name" || th.dataset.sort === "project" ? "asc" : "desc"; }
      render();
    });
    filter.addEventListener("input", function () { state.filter = filter.value; render(); });

    var path = null;
    function load() {
      return api(path).then(function (response) {
        state.rows = response.data;
        render();
        return state.rows.some(function (row) { return !row.done; });
      });
    }

    api("/v1/tokens/self")
      .then(function (token) {
        path = "/v1/clients/" + enc(token.client) + "/sigopt_ai/experiments";
        return load();
      })
      .then(function (live) {
        ready();
        if (live) startPolling(function () { return load().then(function (more) { refreshed(); return more; }); });
      })
      .catch(function (error) { showError(section, error); ready(); });
  }

  function experimentRow(row) {
    var href = "/experiments/" + enc(row.id);
    var progress = el("td", { "data-col": "progress", class: "progress-cell" });
    var total = row.budget || row.observation_count || 1;
    var bar = el("div", { class: "bar", title: row.observation_count + " of " + (row.budget === null ? "no budget" : row.budget) });
    var ok = row.observation_count - row.failed;
    append(bar, el("span", { class: "seg ok", "data-width": ok / total }));
    Object.keys(row.failed_by_kind || {}).sort().forEach(function (kind) {
      append(bar, el("span", { class: "seg kind-bg-" + kindKey(kind), "data-width": row.failed_by_kind[kind] / total, title: kind + " " + row.failed_by_kind[kind] }));
    });
    bar.querySelectorAll(".seg").forEach(function (seg) { seg.style.width = Math.min(100, 100 * Number(seg.dataset.width)) + "%"; });
    append(progress, bar, el("span", { class: "progress-text", text: row.observation_count + " / " + (row.budget === null ? "–" : row.budget) }));
    if (!row.done) append(progress, el("span", { class: "pill live-pill", text: "running" }));
    var failed = el("td", { "data-col": "failed", class: "num" });
    if (row.failed) {
      append(failed, el("span", { class: "count", text: row.failed }));
      Object.keys(row.failed_by_kind || {}).sort().forEach(function (kind) {
        append(failed, " ", kindChip(kind, row.failed_by_kind[kind]));
      });
    } else append(failed, el("span", { class: "muted", text: "0" }));
    var best = el("td", { "data-col": "best", class: "num mono" });
    if (row.best_value !== null && row.best_value !== undefined) {
      append(best, fmt(row.best_value));
      if (row.metric) append(best, el("span", { class: "unit", text: " " + row.metric.name }));
    } else append(best, el("span", { class: "muted", text: row.metric ? "–" : "Pareto" }));
    return el(
      "tr",
      { "data-id": row.id },
      el("td", { "data-col": "name" }, el("a", { href: href, text: row.name }), el("span", { class: "id", text: " #" + row.id })),
      el("td", { "data-col": "project", text: row.project || "" }),
      progress,
      failed,
      el("td", { "data-col": "active", class: "num", text: row.active_run_count }),
      best,
      el("td", { "data-col": "age", class: "num", title: fmtDate(row.created), text: fmtAge(row.created) })
    );
  }

  // ================================================================================= experiment page
  function experimentPage(id) {
    var base = "/v1/experiments/" + enc(id);
    var paths = {
      experiment: base,
      analysis: base + "/sigopt_ai/analysis?points=" + POINTS,
      yml: base + "/sigopt_ai/experiment.yml",
    };
    var view = { id: id, base: base, runs: { offset: 0, limit: PAGE_SIZE, sort: "created", order: "desc", state: "" }, mapAxes: null };
    setCrumbs([{ text: "Experiments", href: "/" }, { text: "Experiment " + id }]);
    clear(main);
    var layout = buildExperimentLayout();
    view.layout = layout;

    function loadAll(first) {
      var experiment = api(paths.experiment);
      var analysis = api(paths.analysis);
      // Asked at once, beside the others (it holds the one costly step, the model's fit); without two
      // numeric parameters the server answers an empty map (no axes).
      var map = api(failureMapPath(view.mapAxes)).then(
        function (found) { return found.x ? found : { none: true }; },
        function (error) { return { error: error }; }
      );
      return Promise.all([
        experiment,
        analysis,
        map,
        api(runsPath(view)).catch(function (error) { return { error: error }; }),
        first ? api(paths.yml, true).catch(function (error) { return { error: error }; }) : Promise.resolve(null),
      ]).then(function (results) {
        var progress = results[0].progress;
        view.analysis = results[1];
        batch(function () {
          renderHeader(layout, results[0], progress, results[1]);
          renderHistory(layout.history, results[1]);
          layout.historyNote.textContent = results[1].sampled
            ? "A sample of " + results[1].history.x.length + " of " + results[1].count + " observations is plotted (every change of the best kept); the line is exact."
            : "";
          renderParallel(layout.parallel, results[1]);
          renderFailureMap(layout, view, results[1], results[2]);
          renderPareto(layout, results[1]);
          renderBest(layout.best, results[1]);
          renderRuns(layout, view, results[1], results[3]);
          if (results[4] !== null) renderYml(layout.yml, results[4]);
        });
        return progress;
      });
    }

    function isLive(experiment, progress) {
      var budgetLeft = progress.observation_budget === null || progress.observation_count < progress.observation_budget;
      return (experiment.state === "active" && budgetLeft) || progress.active_run_count > 0;
    }

    var last = null;
    function signature(progress) {
      return [progress.observation_count, progress.active_run_count, progress.total_run_count].join(",");
    }

    loadAll(true)
      .then(function (progress) {
        last = signature(progress);
        ready();
        if (isLive(view.experiment, progress)) {
          startPolling(function () {
            return api(paths.experiment).then(function (e) {
              var live = isLive(e, e.progress);
              if (signature(e.progress) === last) return live;
              last = signature(e.progress);
              return loadAll(false).then(function () { refreshed(); return live; });
            });
          });
        }
      })
      .catch(function (error) {
        clear(main);
        showError(main, error);
        ready();
      });

    function renderHeader(layout, experiment, progress, analysis) {
      view.experiment = experiment;
      setCrumbs([
        { text: "Experiments", href: "/" },
        { text: experiment.project || "no project" },
        { text: experiment.name },
      ]);
      layout.name.textContent = experiment.name;
      clear(layout.meta);
      // "active" is the stored state until archived; what a reader wants is whether it still runs.
      var spent = progress.observation_budget !== null && progress.observation_count >= progress.observation_budget;
      var shown = experiment.state !== "active" ? experiment.state : spent && !progress.active_run_count ? "done" : "running";
      append(layout.meta,
        el("span", { class: "pill state-" + (shown === "done" ? "completed" : experiment.state), text: shown }),
        el("span", { text: "#" + experiment.id }),
        experiment.project ? el("span", { text: "project " + experiment.project }) : null,
        el("span", { text: { offline: "Bayesian optimizer", random: "random search", grid: "grid search" }[experiment.type] || experiment.type || "" }),
        el("span", { title: fmtDate(experiment.created), text: "created " + fmtAge(experiment.created) })
      );
      var extra = progress.sigopt_ai || {};
      var text = progress.observation_count + " / " + (progress.observation_budget === null ? "–" : progress.observation_budget) + " observations";
      text += " · " + (extra.failed || 0) + " failed";
      var kinds = kindsText(extra.failed_by_kind);
      if (kinds) text += " (" + kinds + ")";
      text += " · " + progress.active_run_count + " active";
      layout.counts.textContent = text;
      clear(layout.kinds);
      Object.keys(extra.failed_by_kind || {}).sort().forEach(function (kind) {
        append(layout.kinds, kindChip(kind, extra.failed_by_kind[kind]), " ");
      });
      var pct = progress.observation_budget ? Math.min(100, (100 * progress.observation_count) / progress.observation_budget) : 0;
      layout.progressFill.style.width = pct + "%";
      // The best value: the best assignment's value of the optimized metric (single metric), else the front.
      clear(layout.best_value);
      var optimized = analysis.metrics.filter(function (m) { return m.strategy === "optimize"; });
      var bests = analysis.best_assignments || [];
      if (optimized.length === 1) {
        var metric = optimized[0];
        var value = bests.length ? valueOf(bests[0], metric.name) : null;
        layout.best_label.textContent = "best " + metric.name + " (" + metric.objective + ")";
        layout.best_value.textContent = value === null ? "–" : fmt(value);
      } else {
        layout.best_label.textContent = "Pareto front";
        layout.best_value.textContent = bests.length + (bests.length === 1 ? " solution" : " solutions");
      }
    }

    function buildExperimentLayout() {
      var L = {};
      L.name = el("h1", { id: "name" });
      L.meta = el("div", { class: "meta" });
      L.counts = el("p", { id: "counts", class: "counts" });
      L.kinds = el("div", { class: "kinds" });
      L.progressFill = el("span", { class: "fill" });
      L.best_label = el("div", { class: "label" });
      L.best_value = el("div", { id: "best-value", class: "big mono" });
      var summary = el("section", { class: "card summary wide" },
        el("div", { class: "summary-main" }, L.name, L.meta, L.counts, el("div", { class: "bar big-bar" }, L.progressFill), L.kinds),
        el("div", { class: "summary-best" }, L.best_label, L.best_value)
      );
      L.historyCard = card("Best value so far");
      L.history = plotDiv("history");
      L.historyNote = el("p", { class: "note" });
      append(L.historyCard, L.history, L.historyNote);
      L.mapCard = card("Failure map");
      L.mapX = el("select", { id: "failure-map-x", "aria-label": "Failure map x" });
      L.mapY = el("select", { id: "failure-map-y", "aria-label": "Failure map y" });
      append(L.mapCard.head, el("div", { class: "controls" }, el("label", null, "x ", L.mapX), el("label", null, "y ", L.mapY)));
      L.mapBody = el("div", { class: "plot-holder" });
      L.mapNote = el("p", { class: "note" });
      append(L.mapCard, L.mapBody, L.mapNote);
      L.parallelCard = card("Parallel coordinates", "wide");
      L.parallel = plotDiv("parallel");
      append(L.parallelCard, L.parallel);
      L.paretoCard = card("Pareto front");
      L.paretoBody = el("div", { class: "plot-holder" });
      append(L.paretoCard, L.paretoBody);
      L.paretoCard.hidden = true;
      L.bestCard = card("Best assignments");
      L.best = el("div", { id: "best-assignments" });
      append(L.bestCard, L.best);
      L.runsCard = card("Runs", "wide");
      L.runsInfo = el("span", { class: "muted", id: "runs-info" });
      L.runsState = el("select", { id: "runs-state", "aria-label": "State" },
        el("option", { value: "", text: "all states" }), el("option", { value: "active", text: "active" }),
        el("option", { value: "completed", text: "completed" }), el("option", { value: "failed", text: "failed" }));
      L.runsPrev = el("button", { id: "runs-prev", type: "button", text: "‹ Prev" });
      L.runsNext = el("button", { id: "runs-next", type: "button", text: "Next ›" });
      append(L.runsCard.head, el("div", { class: "controls" }, L.runsState, L.runsInfo, L.runsPrev, L.runsNext));
      L.runsBody = el("div", { class: "table-wrap" });
      L.runsNote = el("p", { class: "note" });
      append(L.runsCard, L.runsBody, L.runsNote);
      L.ymlCard = card("experiment.yml");
      L.yml = el("pre", { id: "experiment-yml", class: "code" });
      append(L.ymlCard, L.yml);
      append(main, el("div", { class: "grid" }, summary, L.historyCard, L.mapCard, L.parallelCard, L.paretoCard, L.bestCard, L.ymlCard, L.runsCard));
      return L;
    }
  }

  function valueOf(obj, name) {
    var values = obj.values || [];
    for (var i = 0; i < values.length; i++) if (values[i].name === name) return values[i].value;
    return null;
  }

  function failureMapPath(axes) {
    var base = "/v1/experiments/" + enc(document.body.dataset.id) + "/sigopt_ai/failure_map";
    return base + (axes ? query({ x: axes[0], y: axes[1] }) : "");
  }

  function runsPath(view) {
    var r = view.runs;
    return view.base + "/sigopt_ai/runs" + query({ offset: r.offset, limit: r.limit, sort: r.sort, order: r.order, state: r.state });
  }

  // ------------------------------------------------------------------------------------------- history
  function renderHistory(div, analysis) {
    var h = analysis.history;
    var points = analysis.points || [];
    var byIndex = {};
    points.forEach(function (p) { byIndex[p.index] = p; });
    var ok = [], failedByKind = {};
    for (var i = 0; i < h.x.length; i++) {
      if (h.failed[i]) {
        var kind = h.kind[i] || "other";
        (failedByKind[kind] = failedByKind[kind] || []).push([h.x[i], kind]);
      } else if (h.value[i] !== null) ok.push([h.x[i], h.value[i]]);
    }
    var kinds = Object.keys(failedByKind).sort();
    var count = analysis.count || 1;
    var log = logScaled(ok.map(function (p) { return p[1]; }));
    var laneHeight = kinds.length ? 16 + 16 * kinds.length : 0;
    // Both grids share the x positions: the left margin fits the longest lane label.
    var left = Math.max(64, 14 + 6 * Math.max.apply(null, kinds.map(function (k) { return k.length; }).concat([0])));
    var grids = [{ left: left, right: 20, top: 16, bottom: 34 + laneHeight + (kinds.length ? 8 : 0), containLabel: false }];
    var xAxes = [valueAxis({ min: 0.5, max: count + 0.5, gridIndex: 0, name: kinds.length ? "" : "observation", nameLocation: "middle", nameGap: 24,
      axisLabel: { show: !kinds.length, color: TEXT_COLOR, formatter: fmt, showMinLabel: false, showMaxLabel: false }, splitLine: { show: false }, minInterval: 1 })];
    var yAxes = [valueAxis({ gridIndex: 0, type: log ? "log" : "value", name: h.metric || "", nameLocation: "middle", nameGap: 48, scale: true })];
    var series = [
      {
        name: "value", type: "scatter", xAxisIndex: 0, yAxisIndex: 0, data: ok, symbolSize: 6,
        itemStyle: { color: SUCCESS_COLOR, opacity: 0.55 },
        tooltip: { formatter: function (p) { return pointTip(p.data[0], byIndex, [h.metric], "value " + fmt(p.data[1])); } },
      },
      {
        name: "best so far", type: "line", step: "end", xAxisIndex: 0, yAxisIndex: 0, symbol: "none",
        data: h.best_x.map(function (x, j) { return [x, h.best[j]]; }),
        lineStyle: { color: BEST_COLOR, width: 2 }, itemStyle: { color: BEST_COLOR }, z: 3, silent: true,
      },
    ];
    if (kinds.length) {
      // Failed observations have no value: one lane per kind under the value plot, on the same x axis.
      grids.push({ left: left, right: 20, height: 16 * kinds.length, bottom: 30 });
      xAxes.push(valueAxis({ gridIndex: 1, min: 0.5, max: count + 0.5, name: "observation", nameLocation: "middle", nameGap: 22, splitLine: { show: false }, minInterval: 1,
        axisLabel: { color: TEXT_COLOR, formatter: fmt, showMinLabel: false, showMaxLabel: false } }));
      yAxes.push({ gridIndex: 1, type: "category", data: kinds, inverse: true, axisTick: { show: false },
        axisLine: { lineStyle: { color: AXIS_COLOR } }, axisLabel: { color: TEXT_COLOR, fontSize: 10 }, splitLine: { show: true, lineStyle: { color: GRID_LINE } } });
      kinds.forEach(function (kind) {
        series.push({
          name: "failed: " + kind, type: "scatter", xAxisIndex: 1, yAxisIndex: 1, data: failedByKind[kind],
          symbol: KIND_SYMBOLS[kindKey(kind)], symbolSize: 8, itemStyle: { color: kindColor(kind) },
          tooltip: { formatter: function (p) { return pointTip(p.data[0], byIndex, [h.metric], "failed: " + kind); } },
        });
      });
    }
    chart(div, {
      grid: grids, xAxis: xAxes, yAxis: yAxes, series: series,
      legend: { show: false },
      tooltip: tooltip(),
    });
    div.title = "";
  }

  function pointTip(index, byIndex, metricNames, headline) {
    var point = byIndex[index];
    if (point) return pointTooltip(point, metricNames);
    return tooltipRows("observation " + index, [[headline, ""]]);
  }

  // ------------------------------------------------------------------------------- parallel coordinates
  function renderParallel(div, analysis) {
    var params = analysis.parameters;
    var metric = analysis.history.metric;
    // SVG draws one element per line: past MAX_LINES the lines are an even sample, plus every best step.
    var all = analysis.points || [];
    var points = thin(all, MAX_LINES, analysis.history.best_x);
    var note = div.parentNode.querySelector(".note") || append(div.parentNode, el("p", { class: "note" })).lastChild;
    note.textContent = points.length < all.length ? points.length + " of " + all.length + " points drawn (an even sample and every best-so-far step)." : "";
    var axes = params.map(function (p, i) {
      var axis = { dim: i, name: p.name, nameTextStyle: { color: TEXT_COLOR }, axisLine: { lineStyle: { color: AXIS_COLOR } }, axisLabel: { color: TEXT_COLOR, formatter: fmt, hideOverlap: true } };
      if (p.type === "categorical") {
        axis.type = "category";
        axis.data = (p.categorical_values || []).map(String);
        axis.axisLabel = { color: TEXT_COLOR };
      } else {
        axis.type = p.transformation === "log" && p.bounds && p.bounds.min > 0 ? "log" : "value";
        if (p.bounds) { axis.min = p.bounds.min; axis.max = p.bounds.max; boundLabels(axis.axisLabel, axis.min, axis.max); }
        if (p.type === "int") axis.minInterval = 1;
      }
      return axis;
    });
    var metricDim = params.length;
    var okValues = [];
    function row(p) {
      var r = params.map(function (param) {
        var v = p.assignments[param.name];
        if (v === undefined || v === null) return "-";
        return param.type === "categorical" ? String(v) : v;
      });
      if (metric) r.push(p.failed || p.values[metric] === null || p.values[metric] === undefined ? "-" : p.values[metric]);
      return r;
    }
    var ok = [], failedByKind = {};
    points.forEach(function (p) {
      if (p.failed) (failedByKind[p.kind || "other"] = failedByKind[p.kind || "other"] || []).push(row(p));
      else {
        ok.push(row(p));
        if (metric && p.values[metric] !== null && p.values[metric] !== undefined) okValues.push(p.values[metric]);
      }
    });
    var logMetric = logScaled(okValues);
    if (metric) axes.push({ dim: metricDim, name: metric, type: logMetric ? "log" : "value", scale: true, nameTextStyle: { color: TEXT_COLOR, fontWeight: "bold" },
      axisLine: { lineStyle: { color: TEXT_COLOR } }, axisLabel: { color: TEXT_COLOR, formatter: fmt } });
    var lo = Math.min.apply(null, okValues.length ? okValues : [0]);
    var hi = Math.max.apply(null, okValues.length ? okValues : [1]);
    var minimize = analysis.history.objective === "minimize";
    var series = [{
      name: "value", type: "parallel", data: ok, z: 2, lineStyle: { width: 1.2, opacity: 0.6 },
      emphasis: { lineStyle: { width: 2.5, opacity: 1 } }, inactiveOpacity: 0.05, activeOpacity: 0.8, silent: false,
    }];
    Object.keys(failedByKind).sort().forEach(function (kind) {
      // Above the successes, thin: where failures cluster is the point of the plot.
      series.push({ name: "failed: " + kind, type: "parallel", data: failedByKind[kind], z: 3,
        lineStyle: { width: 1, opacity: 0.6, color: kindColor(kind), type: "dashed" }, inactiveOpacity: 0.05, activeOpacity: 0.8 });
    });
    var option = {
      parallel: { left: 56, right: metric ? 110 : 56, top: 40, bottom: 24, parallelAxisDefault: { nameLocation: "start", nameGap: 14, nameTextStyle: { fontSize: 12 } } },
      parallelAxis: axes,
      series: series,
      legend: { show: true, bottom: 0, left: "center", itemWidth: 14, itemHeight: 8, textStyle: { color: TEXT_COLOR, fontSize: 11 },
        data: series.map(function (s) { return s.name; }) },
    };
    option.parallel.bottom = 44;
    option.parallel.nameLocation = "start";
    option.parallelAxis.forEach(function (a) {
      a.nameLocation = "end";
      a.nameGap = 12;
      // Labels over a thicket of lines: on a light plate.
      a.axisLabel = Object.assign(a.axisLabel || {}, { backgroundColor: "rgba(255,255,255,0.8)", padding: [1, 3], borderRadius: 2 });
    });
    if (metric && okValues.length) {
      option.visualMap = {
        type: "continuous", dimension: metricDim, seriesIndex: 0, min: lo, max: hi === lo ? lo + 1 : hi, calculable: false,
        inRange: { color: minimize ? VALUE_COLORS.slice().reverse() : VALUE_COLORS },
        right: 8, top: "middle", itemHeight: 120, itemWidth: 10, text: [fmt(hi), fmt(lo)], textStyle: { color: TEXT_COLOR, fontSize: 10 },
        formatter: fmt,
      };
    } else {
      series[0].lineStyle.color = SUCCESS_COLOR;
    }
    chart(div, option);
  }

  // ---------------------------------------------------------------------------------------- failure map
  function renderFailureMap(layout, view, analysis, map) {
    var numeric = analysis.parameters.filter(isNumeric);
    var body = layout.mapBody;
    layout.mapNote.textContent = "";
    var selects = [layout.mapX, layout.mapY];
    var absent = numeric.length < 2 || !!map.none;
    // No map without two numeric parameters: the history takes the row.
    layout.mapCard.hidden = absent;
    layout.historyCard.classList.toggle("wide", absent);
    if (absent) {
      clear(body);
      return;
    }
    if (map.error) {
      showError(clear(body), map.error);
      return;
    }
    var current = [map.x.name, map.y.name];
    view.mapAxes = view.mapAxes || null;
    selects.forEach(function (select, axisIndex) {
      clear(select);
      numeric.forEach(function (p) { append(select, el("option", { value: p.name, text: p.name, selected: p.name === current[axisIndex] })); });
      select.value = current[axisIndex];
      select.disabled = !!REPORT;
      if (!select.dataset.bound) {
        select.dataset.bound = "1";
        select.addEventListener("change", function () {
          var axes = [layout.mapX.value, layout.mapY.value];
          view.mapAxes = axes;
          api(failureMapPath(axes)).then(
            function (m) { renderFailureMap(layout, view, view.analysis, m); },
            function (error) { clear(layout.mapBody); showError(layout.mapBody, error); }
          );
        });
      }
    });
    drawFailureMap(ownPlot(body, "failure-map"), map, analysis);
    var notes = [];
    if (analysis.separating_pair && current[0] === analysis.separating_pair[0] && current[1] === analysis.separating_pair[1]) {
      notes.push("The pair that separates failures from successes best.");
    }
    var sp = map.success_probability;
    if (sp) {
      var sliced = Object.keys(sp.sliced_at || {}).map(function (k) { return k + " = " + fmt(sp.sliced_at[k]); });
      notes.push("Shading: the optimizer's learned P(success)" + (sliced.length ? ", other parameters at the best assignment (" + sliced.join(", ") + ")." : "."));
    } else {
      notes.push("No P(success) shading: the optimizer has no failure model yet (it needs failures and successes).");
    }
    layout.mapNote.textContent = notes.join(" ");
  }

  function drawFailureMap(div, map, analysis) {
    function isInt(name) {
      return analysis.parameters.some(function (p) { return p.name === name && p.type === "int"; });
    }
    var metric = analysis.history.metric;
    var minimize = analysis.history.objective === "minimize";
    var ok = [], failedByKind = {}, okValues = [];
    map.points.forEach(function (p) {
      if (p.failed) (failedByKind[p.kind || "other"] = failedByKind[p.kind || "other"] || []).push([p.x, p.y, p.kind, p.run]);
      else {
        ok.push([p.x, p.y, p.value === null ? "-" : p.value, p.run]);
        if (p.value !== null) okValues.push(p.value);
      }
    });
    function axis(a, name) {
      return valueAxis({ type: a.log && a.min > 0 ? "log" : "value", min: a.min, max: a.max, scale: false, name: a.name,
        nameLocation: "middle", nameGap: name === "x" ? 26 : 46, splitLine: { show: false },
        minInterval: isInt(a.name) ? 1 : 0, axisLabel: boundLabels({ color: TEXT_COLOR, formatter: fmt }, a.min, a.max) });
    }
    var series = [], visualMaps = [];
    var sp = map.success_probability;
    if (sp) {
      // The grid as rectangles between the midpoints of neighbouring grid values (geometric on a log axis).
      var xe = edges(sp.xs, map.x.log), ye = edges(sp.ys, map.y.log);
      // Neighbouring cells of a row in the same band are one rectangle: a few dozen SVG elements, not 625.
      var cells = [];
      for (var j = 0; j < sp.ys.length; j++) {
        var start = 0;
        for (var i = 1; i <= sp.xs.length; i++) {
          if (i < sp.xs.length && band(sp.grid[j][i]) === band(sp.grid[j][start])) continue;
          var pv = sp.grid[j][start];
          if (pv !== null && pv !== undefined) cells.push([xe[start], xe[i], ye[j], ye[j + 1], pv]);
          start = i;
        }
      }
      series.push({
        name: "P(success)", type: "custom", silent: true, z: 1, data: cells, clip: true,
        encode: { x: [0, 1], y: [2, 3] },
        renderItem: function (params, api) {
          var a = api.coord([api.value(0), api.value(3)]);
          var b = api.coord([api.value(1), api.value(2)]);
          return { type: "rect", shape: { x: a[0], y: a[1], width: b[0] - a[0] + 0.5, height: b[1] - a[1] + 0.5 }, style: { fill: api.visual("color") } };
        },
      });
      visualMaps.push({ type: "piecewise", seriesIndex: 0, dimension: 4, pieces: PSUCCESS_PIECES, orient: "horizontal", left: "center", bottom: 0,
        itemWidth: 12, itemHeight: 10, itemGap: 6, text: ["P(success) high", "low"], textStyle: { color: TEXT_COLOR, fontSize: 10 }, selectedMode: false });
    }
    var okTip = { formatter: function (p) { return tooltipRows("run " + (p.data[3] || "–"), [[map.x.name, fmt(p.data[0])], [map.y.name, fmt(p.data[1])], [metric || "value", fmt(p.data[2])]]); } };
    var lo = Math.min.apply(null, okValues.length ? okValues : [0]), hi = Math.max.apply(null, okValues.length ? okValues : [1]);
    var colors = minimize ? VALUE_COLORS.slice().reverse() : VALUE_COLORS;
    if (ok.length > LARGE && metric && okValues.length) {
      // Many points: one single-path series per value band (SVG elements per point cost too much).
      var bands = colors.map(function () { return []; });
      ok.forEach(function (d) {
        var v = d[2] === "-" ? lo : d[2];
        var k = hi === lo ? 0 : Math.min(colors.length - 1, Math.floor(((v - lo) / (hi - lo)) * colors.length));
        bands[k].push(d);
      });
      bands.forEach(function (data, k) {
        series.push({ name: "value", type: "scatter", data: data, symbolSize: 5, z: 3, large: true, largeThreshold: 0,
          itemStyle: { color: colors[k] }, tooltip: okTip });
      });
    } else {
      var okIndex = series.length;
      series.push({ name: "value", type: "scatter", data: ok, symbolSize: 7, z: 3, byValue: true,
        itemStyle: { color: SUCCESS_COLOR, borderColor: "#fff", borderWidth: 0.6 }, tooltip: okTip });
      if (metric && okValues.length) {
        visualMaps.push({ type: "continuous", seriesIndex: okIndex, dimension: 2, min: lo, max: hi === lo ? lo + 1 : hi, show: false,
          inRange: { color: colors } });
      }
    }
    Object.keys(failedByKind).sort().forEach(function (kind) {
      series.push({
        name: "failed: " + kind, type: "scatter", data: failedByKind[kind], symbol: KIND_SYMBOLS[kindKey(kind)], symbolSize: 9, z: 4,
        itemStyle: { color: kindColor(kind), borderColor: "#fff", borderWidth: 0.6 },
        tooltip: { formatter: function (p) { return tooltipRows("run " + (p.data[3] || "–"), [["failed", kind], [map.x.name, fmt(p.data[0])], [map.y.name, fmt(p.data[1])]]); } },
      });
    });
    chart(div, {
      grid: { left: 64, right: 16, top: 12, bottom: sp ? 64 : 44 },
      xAxis: axis(map.x, "x"), yAxis: axis(map.y, "y"),
      series: series, visualMap: visualMaps, tooltip: tooltip(),
    });
  }

  /** The PSUCCESS_PIECES band of a probability, -1 for none. */
  function band(p) {
    if (p === null || p === undefined) return -1;
    for (var i = 0; i < PSUCCESS_PIECES.length - 1; i++) if (p < PSUCCESS_PIECES[i].lt) return i;
    return PSUCCESS_PIECES.length - 1;
  }

  function edges(values, log) {
    var out = [];
    var tr = log ? Math.log : function (v) { return v; };
    var inv = log ? Math.exp : function (v) { return v; };
    var t = values.map(tr);
    for (var i = 0; i <= t.length; i++) {
      var lo = i === 0 ? t[0] - (t.length > 1 ? (t[1] - t[0]) / 2 : 0.5) : null;
      if (i === 0) out.push(inv(lo));
      else if (i === t.length) out.push(inv(t[i - 1] + (t.length > 1 ? (t[i - 1] - t[i - 2]) / 2 : 0.5)));
      else out.push(inv((t[i - 1] + t[i]) / 2));
    }
    return out;
  }

  // --------------------------------------------------------------------------------------------- pareto
  function renderPareto(layout, analysis) {
    var pareto = analysis.pareto;
    layout.paretoCard.hidden = !pareto;
    if (!pareto) clear(layout.paretoBody);
    layout.ymlCard.classList.toggle("wide", !!pareto); // beside the best assignments when there is no Pareto plot
    if (!pareto) return;
    var m1 = pareto.metrics[0], m2 = pareto.metrics[1];
    var front = {};
    pareto.front.forEach(function (i) { front[i] = true; });
    var constraints = analysis.constraints || [];
    function feasible(p) {
      return constraints.every(function (c) {
        var v = p.values[c.metric];
        if (v === null || v === undefined || c.threshold === null) return true;
        var metric = analysis.metrics.filter(function (m) { return m.name === c.metric; })[0];
        return metric && metric.objective === "minimize" ? v <= c.threshold : v >= c.threshold;
      });
    }
    var ok = [], infeasible = [], frontPts = [];
    (analysis.points || []).forEach(function (p) {
      if (p.failed) return;
      var x = p.values[m1], y = p.values[m2];
      if (x === null || x === undefined || y === null || y === undefined) return;
      var datum = [x, y, p.index, p.run];
      if (front[p.index]) frontPts.push(datum);
      else if (feasible(p)) ok.push(datum);
      else infeasible.push(datum);
    });
    frontPts.sort(function (a, b) { return a[0] - b[0]; });
    var lines = { x: [], y: [] };
    constraints.forEach(function (c) {
      if (c.threshold === null) return;
      var label = { formatter: c.metric + " ≤≥ " + fmt(c.threshold), color: TEXT_COLOR, fontSize: 10 };
      var metric = analysis.metrics.filter(function (m) { return m.name === c.metric; })[0];
      label.formatter = c.metric + (metric && metric.objective === "maximize" ? " ≥ " : " ≤ ") + fmt(c.threshold);
      if (c.metric === m1) lines.x.push({ xAxis: c.threshold, label: label });
      else if (c.metric === m2) lines.y.push({ yAxis: c.threshold, label: label });
    });
    function tip(p) {
      return tooltipRows("observation " + p.data[2], [[m1, fmt(p.data[0])], [m2, fmt(p.data[1])], ["run", p.data[3] || "–"]]);
    }
    var markLine = {
      silent: true, symbol: "none", lineStyle: { color: "#e03131", type: "dashed", width: 1.2 },
      label: { position: "insideEndTop" }, data: lines.x.concat(lines.y),
    };
    var series = [
      { name: "value", type: "scatter", data: ok, symbolSize: 6, itemStyle: { color: SUCCESS_COLOR, opacity: 0.5 }, tooltip: { formatter: tip }, markLine: markLine },
      { name: "Pareto front", type: "line", data: frontPts, symbolSize: 8, symbol: "circle", step: false, lineStyle: { color: BEST_COLOR, width: 2 }, itemStyle: { color: BEST_COLOR }, tooltip: { formatter: tip }, z: 3 },
    ];
    if (infeasible.length) series.push({ name: "violates a constraint", type: "scatter", data: infeasible, symbolSize: 6, itemStyle: { color: "#fff", borderColor: "#868e96", borderWidth: 1 }, tooltip: { formatter: tip } });
    var notes = constraints.filter(function (c) { return c.metric !== m1 && c.metric !== m2 && c.threshold !== null; });
    var div = ownPlot(layout.paretoBody, "pareto");
    if (notes.length) {
      append(layout.paretoBody, el("p", { class: "note", text: "Constraints on other metrics: " + notes.map(function (c) { return c.metric + " (threshold " + fmt(c.threshold) + ")"; }).join(", ") + "; points that violate one are hollow." }));
    }
    chart(div, {
      grid: { left: 64, right: 24, top: 30, bottom: 44 },
      xAxis: valueAxis({ name: m1, nameLocation: "middle", nameGap: 26 }),
      yAxis: valueAxis({ name: m2, nameLocation: "middle", nameGap: 46 }),
      legend: { top: 0, left: 60, itemWidth: 12, itemHeight: 8, textStyle: { color: TEXT_COLOR, fontSize: 11 } },
      series: series, tooltip: tooltip(),
    });
  }

  // ------------------------------------------------------------------------------------ best assignments
  function renderBest(holder, analysis) {
    clear(holder);
    var bests = analysis.best_assignments || [];
    if (!bests.length) { message(holder, "No successful observation yet."); return; }
    var metrics = analysis.metrics.map(function (m) { return m.name; });
    var params = analysis.parameters.map(function (p) { return p.name; });
    var head = el("tr", null, el("th", { text: "Observation" }));
    metrics.forEach(function (m) { append(head, el("th", { class: "num metric-col", text: m })); });
    params.forEach(function (p) { append(head, el("th", { class: "num", text: p })); });
    var tbody = el("tbody");
    bests.forEach(function (b) {
      var run = b.sigopt_ai && b.sigopt_ai.run;
      var first = el("td", null, link(run ? "/runs/" + enc(run) : null, "#" + b.id));
      var tr = el("tr", { "data-observation": b.id }, first);
      metrics.forEach(function (m) { append(tr, el("td", { class: "num mono metric-col", text: fmt(valueOf(b, m)) })); });
      params.forEach(function (p) { append(tr, el("td", { class: "num mono", text: fmt(b.assignments[p]) })); });
      append(tbody, tr);
    });
    append(holder, el("div", { class: "table-wrap" }, el("table", { class: "table compact" }, el("thead", null, head), tbody)));
  }

  // ------------------------------------------------------------------------------------------ runs table
  function renderRuns(layout, view, analysis, page) {
    var holder = clear(layout.runsBody);
    layout.runsNote.textContent = "";
    if (page.error) {
      if (page.error.status === 0) layout.runsNote.textContent = page.error.message;
      else showError(holder, page.error);
      if (view.lastRuns) page = view.lastRuns;
      else return;
    }
    view.lastRuns = page;
    var metrics = analysis.metrics.map(function (m) { return m.name; });
    var params = analysis.parameters.map(function (p) { return p.name; });
    var r = view.runs;
    var head = el("tr");
    function th(key, text, cls) {
      var node = el("th", { class: cls || "", text: text });
      if (key) {
        node.dataset.sort = key;
        if (!REPORT) node.tabIndex = 0;
        if (r.sort === key) {
          node.classList.add("sorted");
          node.setAttribute("aria-sort", r.order === "asc" ? "ascending" : "descending");
        }
        if (r.sort === key && r.order === "asc") node.classList.add("asc");
      }
      return node;
    }
    append(head, th("name", "Run"), th("state", "State"), th("kind", "Failure"));
    // The server sorts "value" by the plotted metric (the first optimized one).
    metrics.forEach(function (m) { append(head, th(m === analysis.history.metric ? "value" : null, m, "num metric-col")); });
    params.forEach(function (p) { append(head, th(null, p, "num")); });
    append(head, th("duration", "Duration", "num"), th("created", "Created", "num"));
    var tbody = el("tbody");
    page.data.forEach(function (run) {
      var failure = el("td", { class: "failure-cell" });
      if (run.failure) {
        append(failure, kindChip(run.failure.kind), " ", el("span", { class: "message", title: run.failure.message || "", text: run.failure.message || "" }));
      }
      var tr = el("tr", { "data-run": run.id, "data-kind": run.failure ? run.failure.kind : null },
        el("td", null, link("/runs/" + enc(run.id), run.name)),
        el("td", null, el("span", { class: "pill state-" + run.state, text: run.state })),
        failure);
      metrics.forEach(function (m) { append(tr, el("td", { class: "num mono metric-col", text: fmt(run.values ? run.values[m] : null) })); });
      params.forEach(function (p) { append(tr, el("td", { class: "num mono", text: fmt(run.assignments ? run.assignments[p] : null) })); });
      append(tr, el("td", { class: "num", text: fmtDuration(run.duration) }), el("td", { class: "num", title: fmtDate(run.created), text: fmtDate(run.created) }));
      append(tbody, tr);
    });
    var table = el("table", { id: "runs", class: "table" }, el("thead", null, head), tbody);
    append(holder, table);
    var end = Math.min(page.count, page.offset + page.data.length);
    layout.runsInfo.textContent = page.count ? page.offset + 1 + "–" + end + " of " + page.count : "no runs";
    if (REPORT && end < page.count) layout.runsNote.textContent = "The report holds the first " + page.data.length + " runs; the dashboard pages through all of them.";
    table.classList.toggle("static", !!REPORT);
    layout.runsPrev.disabled = !!REPORT || page.offset <= 0;
    layout.runsNext.disabled = !!REPORT || end >= page.count;
    layout.runsState.disabled = !!REPORT;
    if (!layout.runsBound) {
      layout.runsBound = true;
      function reload() {
        api(runsPath(view)).then(
          function (p) { renderRuns(layout, view, view.analysis, p); },
          function (error) { renderRuns(layout, view, view.analysis, { error: error }); }
        );
      }
      layout.runsPrev.addEventListener("click", function () { r.offset = Math.max(0, r.offset - r.limit); reload(); });
      layout.runsNext.addEventListener("click", function () { r.offset += r.limit; reload(); });
      layout.runsState.addEventListener("change", function () { r.state = layout.runsState.value; r.offset = 0; reload(); });
      layout.runsBody.addEventListener("click", function (event) {
        var cell = event.target.closest("th[data-sort]");
        if (!cell || REPORT) return;
        var key = cell.dataset.sort;
        if (r.sort === key) r.order = r.order === "asc" ? "desc" : "asc";
        else { r.sort = key; r.order = key === "name" || key === "state" || key === "kind" ? "asc" : key === "value" ? (analysis.history.objective === "minimize" ? "asc" : "desc") : "desc"; }
        r.offset = 0;
        reload();
      });
    }
  }

  function renderYml(pre, yml) {
    if (yml && yml.error) { clear(pre); showError(pre.parentNode, yml.error); return; }
    pre.textContent = yml;
  }

  // ======================================================================================== run page
  function runPage(id) {
    var path = "/v1/training_runs/" + enc(id);
    setCrumbs([{ text: "Experiments", href: "/" }, { text: "Run " + id }]);
    clear(main);
    var L = buildRunLayout();
    var filesLoaded = false;

    function load() {
      return api(path).then(function (run) {
        var extra = [filesLoaded ? Promise.resolve(null) : api(path + "/files").catch(function (e) { return { error: e }; })];
        extra.push(run.experiment ? api("/v1/experiments/" + enc(run.experiment)).catch(function () { return null; }) : Promise.resolve(null));
        return Promise.all(extra).then(function (r) {
          var files = r[0], experiment = r[1];
          renderRun(L, run, experiment);
          if (files === null) return run;
          return renderFiles(L, files, run).then(function () {
            filesLoaded = run.state !== "active"; // an active run's output comes when it ends
            return run;
          });
        });
      });
    }

    load()
      .then(function (run) {
        ready();
        if (run.state === "active") {
          startPolling(function () {
            return load().then(function (r) { refreshed(); return r.state === "active"; });
          });
        }
      })
      .catch(function (error) { clear(main); showError(main, error); ready(); });
  }

  function buildRunLayout() {
    var L = {};
    L.name = el("h1", { id: "name" });
    L.state = el("span", { id: "state", class: "pill" });
    L.meta = el("div", { class: "meta" });
    L.links = el("div", { class: "links" });
    L.failure = el("div", { id: "failure" });
    L.failureCard = card("Failure", "wide failure-card");
    append(L.failureCard, L.failure);
    var summary = el("section", { class: "card summary wide" }, el("div", { class: "summary-main" }, el("div", { class: "title-row" }, L.name, L.state), L.meta, L.links));
    L.params = el("table", { id: "params", class: "table kv" });
    L.metrics = el("table", { id: "metrics", class: "table kv" });
    var paramsCard = card("Parameters");
    append(paramsCard, L.params);
    var metricsCard = card("Metrics");
    append(metricsCard, L.metrics);
    L.checkpointsCard = card("Checkpoints", "wide");
    L.checkpointsBody = el("div", { class: "plot-holder" });
    append(L.checkpointsCard, L.checkpointsBody);
    L.metadata = el("table", { id: "metadata", class: "table kv" });
    L.system = el("table", { id: "system", class: "table kv" });
    var metadataCard = card("Metadata");
    append(metadataCard, L.metadata);
    var systemCard = card("System");
    append(systemCard, L.system);
    L.stdout = el("pre", { id: "stdout", class: "code log" });
    L.stderr = el("pre", { id: "stderr", class: "code log" });
    L.outputCard = card("Output", "wide");
    append(L.outputCard, el("h3", { text: "stdout" }), L.stdout, el("h3", { text: "stderr" }), L.stderr);
    L.outputCard.hidden = true;
    append(main, el("div", { class: "grid" }, summary, L.failureCard, paramsCard, metricsCard, L.checkpointsCard, metadataCard, systemCard, L.outputCard));
    return L;
  }

  function kvRows(table, entries, emptyText) {
    clear(table);
    var tbody = el("tbody");
    if (!entries.length) append(tbody, el("tr", null, el("td", { class: "muted", colspan: 2, text: emptyText })));
    entries.forEach(function (entry) {
      var value = entry[1];
      var cell = el("td", { class: entry[2] || "mono" });
      if (value && typeof value === "object" && value.nodeType) append(cell, value);
      else cell.textContent = typeof value === "object" && value !== null ? JSON.stringify(value) : fmt(value);
      append(tbody, el("tr", { "data-key": entry[0] }, el("th", { text: entry[0] }), cell));
    });
    append(table, tbody);
  }

  function renderRun(L, run, experiment) {
    var extra = run.sigopt_ai || {};
    var crumbs = [{ text: "Experiments", href: "/" }];
    if (run.experiment) crumbs.push({ text: experiment ? experiment.name : "Experiment " + run.experiment, href: "/experiments/" + enc(run.experiment) });
    else if (run.project) crumbs.push({ text: run.project });
    crumbs.push({ text: run.name || run.id });
    setCrumbs(crumbs);
    L.name.textContent = run.name || run.id;
    L.state.textContent = run.state + (extra.lost ? " (lost)" : "");
    L.state.className = "pill state-" + run.state;
    var sys = run.sys_metadata || {};
    clear(L.meta);
    append(L.meta,
      el("span", { text: "#" + run.id }),
      run.project ? el("span", { text: "project " + run.project }) : null,
      el("span", { title: fmtDate(extra.created || run.created), text: "created " + fmtDate(extra.created || run.created) }),
      sys.duration_seconds !== undefined ? el("span", { text: "duration " + fmtDuration(sys.duration_seconds) }) : null);
    clear(L.links);
    if (run.experiment) {
      append(L.links, el("a", { id: "experiment-link", href: "/experiments/" + enc(run.experiment), text: "Experiment " + (experiment ? experiment.name : run.experiment) }));
    }
    if (run.suggestion) {
      var href = run.experiment ? "/v1/experiments/" + enc(run.experiment) + "/suggestions/" + enc(run.suggestion) : null;
      append(L.links, href ? el("a", { id: "suggestion", href: href, text: "Suggestion " + run.suggestion }) : el("span", { id: "suggestion", text: "Suggestion " + run.suggestion }));
    }
    // Failure
    var failure = extra.failure;
    L.failureCard.hidden = !failure;
    clear(L.failure);
    if (failure) {
      append(L.failure,
        el("div", { class: "failure-head" }, kindChip(failure.kind), failure.type ? el("span", { class: "mono type", text: failure.type }) : null),
        el("p", { class: "failure-message", text: failure.message || "" }),
        failure.traceback ? el("pre", { class: "code traceback", text: failure.traceback }) : null);
    }
    // Params and metrics
    kvRows(L.params, Object.keys(run.assignments || {}).sort().map(function (k) { return [k, run.assignments[k]]; }), "No parameters.");
    var values = run.values || {};
    kvRows(L.metrics, Object.keys(values).sort().map(function (k) {
      var v = values[k];
      var text = fmt(v.value) + (v.value_stddev !== null && v.value_stddev !== undefined ? " ± " + fmt(v.value_stddev) : "");
      return [k, el("span", { text: text })];
    }), "No metrics.");
    kvRows(L.metadata, Object.keys(run.metadata || {}).sort().map(function (k) { return [k, run.metadata[k]]; }), "No metadata.");
    kvRows(L.system, systemEntries(sys), "No system facts.");
    renderCheckpoints(L, extra.checkpoints || []);
  }

  function systemEntries(sys) {
    var entries = [];
    var known = {
      host: function (v) { return v; },
      gpus: function (v) { return v && v.length ? v.map(function (g) { return typeof g === "object" ? (g.name || JSON.stringify(g)) + (g.memory_total_bytes ? " (" + fmtBytes(g.memory_total_bytes) + ")" : "") : g; }).join(", ") : "none"; },
      peak_rss_bytes: fmtBytes,
      peak_gpu_memory_bytes: fmtBytes,
      memory_total_bytes: fmtBytes,
      duration_seconds: fmtDuration,
      git: function (v) { return typeof v === "object" ? Object.keys(v).map(function (k) { return k + " " + v[k]; }).join(", ") : v; },
      argv: function (v) { return Array.isArray(v) ? v.join(" ") : v; },
    };
    var order = ["host", "gpus", "peak_rss_bytes", "peak_gpu_memory_bytes", "memory_total_bytes", "cpu_count", "git", "python", "os", "argv", "pid", "duration_seconds"];
    var keys = Object.keys(sys);
    function rank(key) {
      var i = order.indexOf(key.indexOf("git") === 0 ? "git" : key);
      return i < 0 ? 99 : i;
    }
    keys.sort(function (a, b) {
      var ia = rank(a), ib = rank(b);
      return ia - ib || (a < b ? -1 : 1);
    });
    keys.forEach(function (k) {
      var v = sys[k];
      var shown = known[k] ? known[k](v) : v;
      var label = { peak_rss_bytes: "peak memory (RSS)", peak_gpu_memory_bytes: "peak GPU memory", memory_total_bytes: "memory", duration_seconds: "duration", cpu_count: "CPUs", gpus: "GPUs" }[k] || k.replace(/_/g, " ");
      entries.push([label, el("span", { text: typeof shown === "object" && shown !== null ? JSON.stringify(shown) : String(shown) })]);
    });
    return entries;
  }

  function renderCheckpoints(L, checkpoints) {
    var holder = L.checkpointsBody;
    var series = {};
    checkpoints.forEach(function (c, i) {
      var step = c.sigopt_ai && c.sigopt_ai.step !== undefined ? c.sigopt_ai.step : i;
      (c.values || []).forEach(function (v) { (series[v.name] = series[v.name] || []).push([step, v.value]); });
    });
    var names = Object.keys(series).sort();
    L.checkpointsCard.hidden = !names.length;
    if (!names.length) { clear(holder); return; }
    // One small plot per metric, side by side: metrics have their own scales.
    var div = ownPlot(holder, "checkpoints");
    var cols = Math.min(names.length, 3);
    var rows = Math.ceil(names.length / cols);
    div.style.height = 220 * rows + "px";
    var grids = [], xs = [], ys = [], ss = [], titles = [];
    var palette = ["#1c7ed6", "#2b8a3e", "#f08c00", "#0c8599", "#5f3dc4", "#a61e4d"];
    names.forEach(function (name, i) {
      var c = i % cols, r = Math.floor(i / cols);
      var w = 100 / cols;
      grids.push({ left: c * w + 6 + "%", width: w - 9 + "%", top: r * 220 + 34, height: 150, containLabel: false });
      titles.push({ text: name, left: c * w + 6 + "%", top: r * 220 + 6, textStyle: { fontSize: 12, fontWeight: 600, color: TEXT_COLOR } });
      xs.push(valueAxis({ gridIndex: i, name: "step", nameLocation: "middle", nameGap: 22, minInterval: 1, splitLine: { show: false } }));
      ys.push(valueAxis({ gridIndex: i, type: logScaled(series[name].map(function (p) { return p[1]; })) ? "log" : "value" }));
      ss.push({ name: name, type: "line", xAxisIndex: i, yAxisIndex: i, data: series[name], showSymbol: series[name].length <= 50, symbolSize: 4,
        lineStyle: { width: 1.8, color: palette[i % palette.length] }, itemStyle: { color: palette[i % palette.length] } });
    });
    chart(div, { title: titles, grid: grids, xAxis: xs, yAxis: ys, series: ss,
      tooltip: { trigger: "axis", confine: true, className: "tt-box", transitionDuration: 0,
        formatter: function (ps) {
          return tooltipRows("step " + fmt(ps[0].data[0]), ps.map(function (p) { return [p.seriesName, fmt(p.data[1])]; }));
        } } });
  }

  function renderFiles(L, files, run) {
    if (files && files.error) { L.outputCard.hidden = false; showError(L.outputCard, files.error); return Promise.resolve(); }
    var wanted = { stdout: L.stdout, stderr: L.stderr };
    var found = (files.data || []).filter(function (f) { return Object.prototype.hasOwnProperty.call(wanted, f.name); });
    var others = (files.data || []).filter(function (f) { return !Object.prototype.hasOwnProperty.call(wanted, f.name); });
    L.outputCard.hidden = !found.length && !others.length;
    L.stdout.textContent = "";
    L.stderr.textContent = "";
    L.stdout.classList.add("empty");
    L.stderr.classList.add("empty");
    if (others.length && !L.otherFiles) {
      L.otherFiles = el("ul", { class: "files" });
      others.forEach(function (f) {
        append(L.otherFiles, el("li", null, el("a", { href: "/v1/files/" + enc(f.id) + "/sigopt_ai/data", text: f.name }), el("span", { class: "muted", text: " " + fmtBytes(f.content_length) })));
      });
      append(L.outputCard, el("h3", { text: "files" }), L.otherFiles);
    }
    return Promise.all(found.map(function (f) {
      return api("/v1/files/" + enc(f.id) + "/sigopt_ai/data", true).then(
        function (text) { wanted[f.name].textContent = text; wanted[f.name].classList.remove("empty"); },
        function (error) { wanted[f.name].textContent = "(" + error.message + ")"; }
      );
    })).then(function () {
      [L.stdout, L.stderr].forEach(function (pre) {
        if (pre.classList.contains("empty")) pre.textContent = run.state === "active" ? "(stored when the run ends)" : "(nothing captured)";
      });
    });
  }

  // ============================================================================================ start
  function start() {
    if (!window.echarts) {
      showError(clear(main), new Error("The chart library did not load."));
      ready();
      return;
    }
    var page = body.dataset.page;
    var id = body.dataset.id;
    if (REPORT) {
      var brand = document.querySelector(".brand");
      if (brand) brand.removeAttribute("href");
    }
    // Only a logged-in client of the server has a session to end (POST /logout forgets the cookie).
    var logout = document.getElementById("logout");
    if (logout && !REPORT && body.dataset.mode === "server") logout.hidden = false;
    if (page === "experiment") experimentPage(id);
    else if (page === "run") runPage(id);
    else experimentsPage();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
