// Render every tinyreport chart (<div class="tr-chart" data-figure="...">) with Plotly.
// Material's instant navigation swaps page content without a reload, so rendering hangs off
// its document$ observable, which fires on the first load and after every navigation.
(function () {
  "use strict";

  function themeLayout() {
    var style = getComputedStyle(document.body);
    var fg = style.getPropertyValue("--md-default-fg-color").trim() || "#333";
    var grid = style.getPropertyValue("--md-default-fg-color--lightest").trim() || "#ddd";
    return {
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { color: fg },
      "xaxis.gridcolor": grid,
      "yaxis.gridcolor": grid,
    };
  }

  function render(el) {
    var figure = JSON.parse(el.getAttribute("data-figure"));
    var layout = Object.assign({}, figure.layout, {
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      autosize: true,
    });
    Plotly.newPlot(el, figure.data, layout, { responsive: true, displaylogo: false }).then(
      function () { Plotly.relayout(el, themeLayout()); }
    );
  }

  function renderAll() {
    document.querySelectorAll(".tr-chart").forEach(render);
  }

  function restyleAll() {
    document.querySelectorAll(".tr-chart.js-plotly-plot").forEach(function (el) {
      Plotly.relayout(el, themeLayout());
    });
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(renderAll);
  } else {
    document.addEventListener("DOMContentLoaded", renderAll);
  }
  // Light/dark switch: Material sets data-md-color-scheme on <body>.
  new MutationObserver(restyleAll).observe(document.body, {
    attributes: true,
    attributeFilter: ["data-md-color-scheme"],
  });
})();
