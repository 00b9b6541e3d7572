// Interactive charts for the portal, drawn by ECharts (static/vendor/echarts, Apache-2.0) from JSON
// specs the server writes beside each chart (templates/charts/_chart.html, services/reports/charts.py
// `echart`). Tooltips, a legend, zoom on time axes, buttons for the last N days, and a click on a
// bar opens the rows behind it. The figures also stand in a table under each chart; `CityCharts.update`
// redraws chart and table from a new spec (the live situation view calls it).
(() => {
  const charts = new Map();
  const dark = () => document.body.classList.contains("theme-dark");

  function fmt(value, spec) {
    if (value === null || value === undefined) return "—";
    if (spec.percent) return `${(value * 100).toFixed(1)}%`;
    return Number(value).toLocaleString(undefined, { maximumFractionDigits: 1 });
  }

  function option(spec) {
    const ink = dark() ? "#dce6f2" : "#1c2733";
    const grid = dark() ? "#2c3a4d" : "#dde3ea";
    const axis = { axisLabel: { color: ink }, axisLine: { lineStyle: { color: grid } }, splitLine: { lineStyle: { color: grid } } };
    const base = {
      animation: false, backgroundColor: "transparent", textStyle: { color: ink },
      tooltip: { trigger: spec.kind === "pie" ? "item" : "axis", confine: true, valueFormatter: (v) => fmt(v, spec) },
      legend: { type: "scroll", top: 0, textStyle: { color: ink } },
    };
    if (spec.kind === "pie") {
      const s = spec.series[0] || { data: [] };
      return { ...base, series: [{ type: "pie", name: s.name, radius: ["38%", "68%"], top: 28,
        label: { color: ink, formatter: "{b}: {d}%" },
        data: spec.x.map((name, i) => ({ name, value: s.data[i], itemStyle: s.colors ? { color: s.colors[i] } : undefined })) }] };
    }
    const horizontal = spec.kind === "hbar";
    const category = { type: "category", data: spec.x, ...axis, axisLabel: { color: ink, width: 150, overflow: "truncate" } };
    const value = { type: "value", name: spec.unit || "", nameTextStyle: { color: ink }, ...axis,
      axisLabel: { color: ink, formatter: spec.percent ? (v) => `${Math.round(v * 100)}%` : undefined } };
    return {
      ...base,
      grid: { left: 12, right: 24, top: 36, bottom: spec.zoom ? 48 : 12, containLabel: true },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? { ...category, inverse: true } : value,
      dataZoom: spec.zoom ? [{ type: "inside" }, { type: "slider", height: 18, bottom: 6 }] : [],
      series: spec.series.map((s) => ({
        name: s.name, type: spec.kind === "line" ? "line" : "bar", stack: s.stack || undefined, data: s.data,
        itemStyle: { color: s.color }, lineStyle: { color: s.color }, emphasis: { focus: "series" },
        cursor: s.links ? "pointer" : "default", barMaxWidth: 28,
      })),
    };
  }

  function renderTable(figure, spec) {
    const table = figure.querySelector(".chart-data table");
    if (!table || !spec.table) return;
    const head = document.createElement("tr");
    spec.table.head.forEach((h, i) => {
      const th = document.createElement("th"); th.scope = "col"; th.textContent = h;
      if (i) th.className = "right"; head.append(th);
    });
    table.tHead.replaceChildren(head);
    const rows = spec.table.rows.map((row) => {
      const tr = document.createElement("tr");
      row.forEach((v, i) => {
        const cell = document.createElement(i ? "td" : "th");
        if (i) cell.className = "right nowrap"; else cell.scope = "row";
        cell.textContent = v; tr.append(cell);
      });
      return tr;
    });
    table.tBodies[0].replaceChildren(...rows);
  }

  function zoomTo(entry, days) {
    const n = entry.spec.x.length;
    if (!n) return;
    const end = Number.isInteger(entry.spec.window_end) ? entry.spec.window_end : n - 1;
    const whole = days >= n;
    entry.chart.dispatchAction({ type: "dataZoom", startValue: whole ? 0 : Math.max(0, end - days + 1), endValue: whole ? n - 1 : end });
    entry.figure.querySelectorAll("[data-chart-window]").forEach((b) => {
      b.setAttribute("aria-pressed", String(Number(b.dataset.chartWindow) === days));
    });
  }

  function draw(figure, spec) {
    const canvas = figure.querySelector(".chart-canvas");
    if (!window.echarts || !canvas) return null;
    const chart = window.echarts.init(canvas, dark() ? "dark" : null, { renderer: "canvas" });
    const entry = { chart, spec, figure, days: null };
    chart.setOption(option(spec));
    chart.on("click", (p) => {
      const s = entry.spec.series[p.seriesIndex];
      const link = s && s.links && s.links[p.dataIndex];
      if (link) window.location.href = link;
    });
    figure.querySelectorAll("[data-chart-window]").forEach((button) => {
      button.addEventListener("click", () => { entry.days = Number(button.dataset.chartWindow); zoomTo(entry, entry.days); });
    });
    const first = figure.querySelector("[data-chart-window]");
    if (first) { entry.days = Number(first.dataset.chartWindow); zoomTo(entry, entry.days); }
    figure.dataset.ready = "true";
    charts.set(figure.dataset.chart, entry);
    return entry;
  }

  function update(id, spec) {
    const entry = charts.get(id);
    if (!entry) return;
    entry.spec = spec;
    entry.chart.setOption(option(spec), { notMerge: true });
    if (entry.days) zoomTo(entry, entry.days);
    renderTable(entry.figure, spec);
  }

  function init() {
    document.querySelectorAll("figure[data-chart]").forEach((figure) => {
      const data = document.getElementById(figure.dataset.chart);
      if (data) draw(figure, JSON.parse(data.textContent));
    });
    window.addEventListener("resize", () => charts.forEach((e) => e.chart.resize()));
  }

  window.CityCharts = { update, charts };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
