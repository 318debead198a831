// Render every tinyreport chart (<div class="tr-chart" data-figure="...">) with the site's own
// plotly.js. Material's instant navigation swaps page content without a reload and does not
// re-run scripts from extra_javascript, so rendering hangs off its document$ observable, which
// emits on the first load and after every navigation. Charts follow the light/dark palette and
// are resized when they become visible (content tabs, <details>) or the window changes.
//
// plotly.js (the copy of the installed plotly package, served by the site) is loaded on the
// first page that has a chart, not on every page: it weighs megabytes.
(function () {
  "use strict";

  var AXIS = /^[xy]axis\d*$/;
  var PLOTLY_SRC = new URL("../vendor/plotly.min.js", document.currentScript.src).href;
  var loading = null;

  function loadPlotly() {
    if (window.Plotly) return Promise.resolve(window.Plotly);
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = PLOTLY_SRC;
        script.onload = function () { resolve(window.Plotly); };
        script.onerror = function () {
          loading = null;
          reject(new Error("tinyreport: could not load " + PLOTLY_SRC));
        };
        document.head.appendChild(script);
      });
    }
    return loading;
  }

  function themeUpdate(el) {
    var style = getComputedStyle(document.body);
    var fg = style.getPropertyValue("--md-default-fg-color").trim() || "#333";
    var grid = style.getPropertyValue("--md-default-fg-color--lightest").trim() || "#ddd";
    var update = {
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      "font.color": fg,
      "legend.font.color": fg,
    };
    var layout = (el && el._fullLayout) || {};
    Object.keys(layout).forEach(function (key) {
      if (AXIS.test(key)) {
        update[key + ".gridcolor"] = grid;
        update[key + ".zerolinecolor"] = grid;
        update[key + ".linecolor"] = grid;
      }
    });
    return update;
  }

  var observer =
    typeof ResizeObserver === "undefined"
      ? null
      : new ResizeObserver(function (entries) {
          entries.forEach(function (entry) {
            var el = entry.target;
            var width = Math.round(entry.contentRect.width);
            // Hidden charts measure 0; resize once they are shown and on every real change.
            if (width > 0 && width !== el._trWidth && el.classList.contains("js-plotly-plot")) {
              el._trWidth = width;
              window.Plotly.Plots.resize(el);
            }
          });
        });

  // Phones: titles wrap instead of being cut, smaller fonts and margins, legends below.
  function wrap(text, width) {
    var lines = [], line = "";
    String(text).split(" ").forEach(function (word) {
      if (line && (line + " " + word).length > width) { lines.push(line); line = word; }
      else line = line ? line + " " + word : word;
    });
    if (line) lines.push(line);
    return lines.join("<br>");
  }

  function narrow(layout) {
    var title = layout.title || {};
    if (title.text) {
      layout.title = Object.assign({}, title, {
        text: wrap(title.text, 38), font: { size: 13 }, x: 0.02, xanchor: "left",
      });
      var n = layout.title.text.split("<br>").length;
      layout.margin = Object.assign({}, layout.margin, { t: 24 + 18 * n, r: 8, l: 8 });
    }
    layout.font = Object.assign({}, layout.font, { size: 11 });
    if (layout.legend) layout.legend = Object.assign({}, layout.legend, { orientation: "h" });
  }

  function render(el) {
    if (el.getAttribute("data-rendered") === "1") return;
    el.setAttribute("data-rendered", "1");
    var figure;
    try {
      figure = JSON.parse(el.getAttribute("data-figure"));
    } catch (err) {
      el.textContent = "This chart's data could not be read.";
      console.error("tinyreport: bad chart data", err);
      return;
    }
    var layout = Object.assign({}, figure.layout, {
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      autosize: true,
    });
    if (el.getBoundingClientRect().width < 600) narrow(layout);
    window.Plotly.newPlot(el, figure.data, layout, {
      responsive: true,
      displaylogo: false,
      displayModeBar: false,
    }).then(function () {
      el._trWidth = Math.round(el.getBoundingClientRect().width);
      if (observer) observer.observe(el);
      return window.Plotly.relayout(el, themeUpdate(el));
    }).catch(function (err) {
      console.error("tinyreport: chart failed", err);
    });
  }

  function renderAll() {
    var charts = document.querySelectorAll(".tr-chart");
    if (!charts.length) return;
    loadPlotly().then(
      function () { charts.forEach(render); },
      function (err) { console.error(err.message); }
    );
  }

  function restyleAll() {
    document.querySelectorAll(".tr-chart.js-plotly-plot").forEach(function (el) {
      window.Plotly.relayout(el, themeUpdate(el));
    });
  }

  if (typeof window.document$ !== "undefined") {
    window.document$.subscribe(renderAll);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", renderAll);
  } else {
    renderAll();
  }

  // Light/dark switch: Material sets data-md-color-scheme on <body>.
  new MutationObserver(restyleAll).observe(document.body, {
    attributes: true,
    attributeFilter: ["data-md-color-scheme"],
  });

  // Without ResizeObserver: resize the charts of a content tab when it is selected.
  if (!observer) {
    document.addEventListener("change", function (event) {
      if (!event.target.closest || !event.target.closest(".tabbed-set")) return;
      document.querySelectorAll(".tr-chart.js-plotly-plot").forEach(function (el) {
        if (el.offsetWidth > 0) window.Plotly.Plots.resize(el);
      });
    });
  }
})();
