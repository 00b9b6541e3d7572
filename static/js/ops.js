// The live situation view (/ops/ and /ops/wall/): polls the JSON endpoint every few seconds and
// redraws counters, charts, tables and — when what it shows has changed — the map. A dropped
// connection keeps the last figures on screen, says so, and retries with a growing pause (up to a
// minute); the first answer after that puts everything right again.
(() => {
  const root = document.querySelector("[data-ops-poll]");
  if (!root) return;
  const every = Math.max(1, Number(root.dataset.opsEvery || 5)) * 1000;
  const status = document.getElementById("ops-connection");
  const live = root.querySelector(".ops-live");
  const updated = document.getElementById("ops-updated");
  const lang = document.documentElement.lang || "zh-Hans";
  let failures = 0;
  let timer = null;
  let known = new Set(Array.from(document.querySelectorAll("#ops-recent tr[data-event]")).map((r) => r.dataset.event));

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs).forEach(([k, v]) => { if (v !== null && v !== undefined) node.setAttribute(k, v); });
    children.forEach((c) => node.append(c));
    return node;
  }
  const link = (href, text, attrs = {}) => el("a", { href, ...attrs }, String(text));
  const emptyRow = (cols, text) => el("tr", { class: "empty-row" }, el("td", { colspan: cols, class: "muted" }, text));

  function setState(state) {
    live.dataset.connection = state;
    status.textContent = status.dataset[state] || state;
  }

  function counters(data) {
    data.counters.forEach((c) => {
      document.querySelectorAll(`[data-counter="${c.key}"]`).forEach((card) => {
        const value = card.querySelector("[data-value]");
        if (value.textContent !== c.display) {
          value.textContent = c.display;
          card.classList.remove("bump"); void card.offsetWidth; card.classList.add("bump");
        }
        card.querySelector("[data-note]").textContent = c.note;
        card.href = c.url;
      });
    });
  }

  function recent(data) {
    const body = document.getElementById("ops-recent");
    if (!body) return;
    const empty = body.querySelector(".empty-row td");
    const rows = data.recent_alerts.map((e) => {
      const dot = el("span", { class: "domain-dot", style: `background: ${e.color}` });
      const row = el("tr", { "data-event": e.id, class: known.has(e.id) ? null : "is-new" },
        el("td", { class: "nowrap small" }, e.last_seen_display),
        el("td", {}, dot, link(e.url, e.scenario_name)),
        el("td", {}, el("span", { class: `badge sev-badge sev-${e.severity}` }, e.severity_label)),
        el("td", { class: "small" }, e.status_label),
        el("td", { class: "small" }, e.bureau_name));
      return row;
    });
    known = new Set(data.recent_alerts.map((e) => e.id));
    body.replaceChildren(...(rows.length ? rows : [emptyRow(5, empty ? empty.textContent : "—")]));
  }

  function bureaus(data) {
    const body = document.getElementById("ops-bureaus");
    if (!body) return;
    const rows = data.bureaus.map((b) => el("tr", { "data-bureau": b.slug },
      el("th", { scope: "row" }, b.name),
      el("td", { class: "right" }, link(b.urls.awaiting_review, b.awaiting_review)),
      el("td", { class: "right" }, link(b.urls.open_work_orders, b.open_work_orders)),
      el("td", { class: "right" }, link(b.urls.overdue, b.overdue, b.overdue ? { class: "overdue" } : {})),
      el("td", { class: "right" }, link(b.urls.sla, b.sla_display), " ", el("span", { class: "muted small" }, `${b.on_time}/${b.resolved}`)),
      el("td", { class: "right" }, link(b.urls.compute, b.compute_share_display))));
    body.replaceChildren(...(rows.length ? rows : [emptyRow(6, "—")]));
  }

  function precision(data) {
    const body = document.getElementById("ops-precision");
    if (!body) return;
    const empty = body.querySelector(".empty-row td");
    const rows = data.lowest_precision.map((p) => el("tr", { "data-scenario": p.slug },
      el("th", { scope: "row" }, p.name),
      el("td", { class: "right" }, link(p.url, p.precision_display)),
      el("td", { class: "right small" }, `${p.confirmed} / ${p.reviewed}`)));
    body.replaceChildren(...(rows.length ? rows : [emptyRow(3, empty ? empty.textContent : "—")]));
  }

  async function map(data) {
    const box = document.getElementById("ops-map");
    if (!box || box.dataset.key === data.map.key) return;
    const response = await fetch(root.dataset.opsMap, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) throw new Error(`map ${response.status}`);
    box.innerHTML = await response.text();
    box.dataset.key = data.map.key;
  }

  function stamp(data) {
    const at = new Date(data.generated_at);
    updated.dateTime = data.generated_at;
    updated.textContent = at.toLocaleTimeString(lang, { hour12: false });
  }

  async function tick() {
    timer = null;
    try {
      const response = await fetch(root.dataset.opsPoll, {
        credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" },
      });
      if (response.status === 401 || response.status === 403) { setState("denied"); failures = 6; return schedule(); }
      if (!response.ok) throw new Error(String(response.status));
      const data = await response.json();
      counters(data);
      recent(data);
      bureaus(data);
      precision(data);
      if (window.CityCharts) {
        Object.entries(data.charts).forEach(([name, spec]) => window.CityCharts.update(`ops-chart-${name}`, spec));
      }
      await map(data);
      stamp(data);
      failures = 0;
      setState("live");
    } catch (error) {
      failures += 1;
      setState("offline");
    }
    schedule();
  }

  function schedule() {
    if (timer) clearTimeout(timer);
    const pause = failures ? Math.min(every * 2 ** Math.min(failures, 6), 60000) : every;
    timer = setTimeout(tick, pause);
  }

  // Back on the network or back in view: ask at once rather than waiting out the pause.
  window.addEventListener("online", () => { failures = 0; schedule(); tick(); });
  document.addEventListener("visibilitychange", () => { if (!document.hidden && failures) tick(); });
  schedule();
})();
