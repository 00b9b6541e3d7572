// Fast review (events/review.html): one card per alert; the keyboard moves between cards and decides.
// J/↓ next, K/↑ previous, C confirm, D (or X) dismiss, R write a reason, O or Enter open the event.
// A decision is posted to the JSON API (the same service as the forms, which work without script);
// on success the card is marked and the next undecided card comes up.
(() => {
  const list = document.querySelector(".review-list");
  if (!list) return;
  const cards = () => Array.from(list.querySelectorAll(".review-card"));
  const message = document.getElementById("review-message");
  const doneCount = document.getElementById("review-done");
  let current = null;

  function show(card) {
    if (!card) return;
    if (current) current.classList.remove("is-current");
    current = card;
    card.classList.add("is-current");
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "center", behavior: "instant" });
  }

  function step(delta, pendingOnly) {
    const all = cards();
    let i = all.indexOf(current);
    for (;;) {
      i += delta;
      if (i < 0 || i >= all.length) return null;
      if (!pendingOnly || all[i].dataset.state === "pending") return all[i];
    }
  }

  function token() {
    const input = list.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  async function decide(card, decision) {
    if (!card || card.dataset.state !== "pending") return;
    card.dataset.state = "saving";
    const reason = card.querySelector("input[name=reason]").value;
    message.hidden = true;
    try {
      const response = await fetch(card.dataset.reviewUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token(), "Accept": "application/json" },
        body: JSON.stringify({ decision, reason }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error((body.error && body.error.message) || response.statusText);
      card.dataset.state = decision === "confirm" ? "confirmed" : "dismissed";
      card.querySelector("[data-outcome]").textContent = list.dataset[decision === "confirm" ? "confirmed" : "dismissed"] || decision;
      card.querySelectorAll("button, input[name=reason]").forEach((el) => { el.disabled = true; });
      doneCount.textContent = String(cards().filter((c) => c.dataset.state !== "pending").length);
      const next = step(1, true) || cards().find((c) => c.dataset.state === "pending");
      if (next) show(next);
      else document.getElementById("review-finished").hidden = false;
    } catch (error) {
      card.dataset.state = "pending";
      message.textContent = `${list.dataset.failed || "Failed"}: ${error.message}`;
      message.hidden = false;
    }
  }

  list.addEventListener("submit", (event) => {
    event.preventDefault();
    const card = event.target.closest(".review-card");
    const button = event.submitter;
    show(card);
    decide(card, button ? button.value : "confirm");
  });
  list.addEventListener("click", (event) => {
    const card = event.target.closest(".review-card");
    if (card && !event.target.closest("a, button, input")) show(card);
  });

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const typing = event.target.matches("input, textarea, select");
    if (typing) {
      if (event.key === "Escape") { event.target.blur(); show(current); }
      return;
    }
    const key = event.key.toLowerCase();
    const actions = {
      j: () => show(step(1, false)), arrowdown: () => show(step(1, false)),
      k: () => show(step(-1, false)), arrowup: () => show(step(-1, false)),
      c: () => decide(current, "confirm"), d: () => decide(current, "dismiss"), x: () => decide(current, "dismiss"),
      r: () => current && current.querySelector("input[name=reason]").focus(),
      o: () => current && current.querySelector("[data-open]").click(),
      enter: () => current && event.target === current && current.querySelector("[data-open]").click(),
    };
    if (actions[key]) { event.preventDefault(); actions[key](); }
  });

  show(cards().find((c) => c.dataset.state === "pending"));
})();
