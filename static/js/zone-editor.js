// The zone editor of a source's page. Managers click on the last frame (or a blank 16:9 frame) to
// place the corners of a polygon, name it and close it; the zones travel as JSON in a hidden field of
// an ordinary form, so saving is a normal POST and the server validates everything. Coordinates are
// normalised to 0..1 from the top left, which is what the scenarios' zone parameter takes.
// Loaded as a static file: the Content-Security-Policy (script-src 'self') allows no inline script.
(() => {
  "use strict";
  const root = document.querySelector("[data-zone-editor]");
  if (!root) return;
  const stage = root.querySelector(".zone-stage");
  const svg = stage.querySelector("svg.zone-layer");
  const labels = stage.querySelector(".zone-labels");
  const list = root.querySelector(".zone-list");
  const field = document.getElementById("zones-field");
  const nameInput = document.getElementById("zone-name");
  const status = document.getElementById("zone-status");
  const editable = root.dataset.editable === "true" && field !== null;
  const msg = root.dataset;
  const SVG_NS = "http://www.w3.org/2000/svg";

  let zones = [];
  try {
    zones = JSON.parse(field ? field.value : "[]");
    if (!Array.isArray(zones)) zones = [];
  } catch (error) {
    zones = [];
  }
  let draft = [];

  const round = (value) => Math.round(Math.min(1, Math.max(0, value)) * 10000) / 10000;
  const pointsAttr = (polygon) => polygon.map(([x, y]) => `${x},${y}`).join(" ");
  const centre = (polygon) => [
    polygon.reduce((sum, p) => sum + p[0], 0) / polygon.length,
    polygon.reduce((sum, p) => sum + p[1], 0) / polygon.length,
  ];

  function say(text) {
    if (status) status.textContent = text;
  }

  function render() {
    svg.replaceChildren();
    labels.replaceChildren();
    zones.forEach((zone) => {
      const shape = document.createElementNS(SVG_NS, "polygon");
      shape.setAttribute("points", pointsAttr(zone.polygon));
      svg.appendChild(shape);
      const [x, y] = centre(zone.polygon);
      const label = document.createElement("span");
      label.className = "zone-label";
      label.textContent = zone.name;
      label.style.left = `${x * 100}%`;
      label.style.top = `${y * 100}%`;
      labels.appendChild(label);
    });
    if (draft.length) {
      const line = document.createElementNS(SVG_NS, "polyline");
      line.setAttribute("class", "zone-draft");
      line.setAttribute("points", pointsAttr(draft));
      svg.appendChild(line);
      draft.forEach(([x, y]) => {
        const dot = document.createElement("span");
        dot.className = "zone-vertex";
        dot.style.left = `${x * 100}%`;
        dot.style.top = `${y * 100}%`;
        labels.appendChild(dot);
      });
    }
    renderList();
  }

  function renderList() {
    list.replaceChildren();
    if (!zones.length) {
      const empty = document.createElement("li");
      empty.className = "muted";
      empty.textContent = msg.msgEmpty;
      list.appendChild(empty);
    }
    zones.forEach((zone, index) => {
      const item = document.createElement("li");
      item.dataset.zone = zone.name;
      item.append(`${zone.name} `);
      const count = document.createElement("span");
      count.className = "muted small";
      count.textContent = `(${zone.polygon.length} ${msg.msgPoints})`;
      item.append(count);
      if (editable) {
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "btn-danger btn-small";
        remove.dataset.zoneDelete = String(index);
        remove.textContent = msg.msgDelete;
        remove.setAttribute("aria-label", `${msg.msgDelete} ${zone.name}`);
        item.append(" ", remove);
      }
      list.appendChild(item);
    });
  }

  function changed() {
    field.value = JSON.stringify(zones);
    say(msg.msgUnsaved);
    render();
  }

  if (!editable) {
    render();
    return;
  }

  stage.addEventListener("click", (event) => {
    const box = stage.getBoundingClientRect();
    if (!box.width || !box.height) return;
    draft.push([round((event.clientX - box.left) / box.width), round((event.clientY - box.top) / box.height)]);
    say(`${msg.msgDrawing}: ${draft.length}`);
    render();
  });

  function closePolygon() {
    const name = nameInput.value.trim();
    if (draft.length < 3) {
      say(msg.msgFew);
      return;
    }
    if (!name || zones.some((zone) => zone.name === name)) {
      say(msg.msgName);
      nameInput.focus();
      return;
    }
    zones.push({ name, polygon: draft });
    draft = [];
    nameInput.value = "";
    changed();
  }

  root.addEventListener("click", (event) => {
    const action = event.target.closest("[data-zone-action]");
    if (action) {
      const what = action.dataset.zoneAction;
      if (what === "close") closePolygon();
      if (what === "undo") { draft.pop(); say(`${msg.msgDrawing}: ${draft.length}`); render(); }
      if (what === "cancel") { draft = []; say(""); render(); }
      return;
    }
    const remove = event.target.closest("[data-zone-delete]");
    if (remove) {
      zones.splice(Number(remove.dataset.zoneDelete), 1);
      changed();
    }
  });

  // Enter in the name field closes the polygon instead of submitting the form half-drawn.
  nameInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      closePolygon();
    }
  });

  render();
})();
