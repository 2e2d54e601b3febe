// tlsdeck console: every page works without this script; it only helps.
"use strict";

// The name follows the title, the way the API derives it, until the user edits the name.
function nameFromTitle(title) {
  return title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "")
    .slice(0, 63).replace(/-+$/, "");
}

function wireNameFill(box) {
  const title = document.getElementById(box.dataset.nameFrom);
  const name = box.querySelector("input");
  if (!title || !name) return;
  let follows = name.value === "" || name.value === nameFromTitle(title.value);
  title.addEventListener("input", () => {
    if (follows) name.value = nameFromTitle(title.value);
  });
  name.addEventListener("input", () => {
    follows = name.value === "";
  });
}

// A search box shows only the table rows that contain its words.
function wireFilter(input) {
  input.closest(".filter").hidden = false;
  const tables = document.querySelectorAll(input.dataset.filter);
  input.addEventListener("input", () => {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const table of tables) {
      for (const row of table.tBodies[0].rows) {
        const text = row.textContent.toLowerCase();
        row.hidden = !words.every((w) => text.includes(w));
      }
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-name-from]").forEach(wireNameFill);
  document.querySelectorAll("input[data-filter]").forEach(wireFilter);
});
