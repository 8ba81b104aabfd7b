// Field changes as people read them: old -> new, numeric deltas, word-level
// highlights, items added and removed.

// Without word segments: for lists of lists (a changeset revert's changes per
// object), where segments would take the request over the API's cost limit.
export const FIELD_CHANGE_FLAT = "field label oldValue newValue delta added removed";
export const FIELD_CHANGE = `${FIELD_CHANGE_FLAT} segments { op text }`;

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function value(text) {
  return text === null || text === undefined || text === ""
    ? el("span", { class: "empty" }, "(empty)")
    : el("span", { class: "value" }, text);
}

function items(kind, list) {
  const Tag = kind === "added" ? "ins" : "del";
  return el(
    "span",
    { class: "items" },
    `${kind === "added" ? "Added" : "Removed"}: `,
    list.map((item) => el(Tag, { class: "chip" }, item)),
  );
}

function changeValue(change) {
  if (change.added || change.removed) {
    const parts = [];
    if (change.added && change.added.length) parts.push(items("added", change.added));
    if (change.removed && change.removed.length) parts.push(items("removed", change.removed));
    return parts.length ? parts : [value(change.newValue)];
  }
  // A word-level diff helps where some words stay; a value replaced whole
  // reads better as old -> new.
  const kept = (change.segments || []).some((segment) => segment.op === "EQUAL" && segment.text.trim());
  if (kept) {
    return [
      el(
        "span",
        { class: "segments" },
        change.segments.map((segment) =>
          segment.op === "INSERT"
            ? el("ins", {}, segment.text)
            : segment.op === "DELETE"
              ? el("del", {}, segment.text)
              : segment.text,
        ),
      ),
    ];
  }
  const parts = [value(change.oldValue), el("span", { class: "arrow", "aria-label": "changed to" }, " → "), value(change.newValue)];
  if (change.delta) {
    const sign = change.delta.startsWith("-") ? "" : "+";
    const kind = change.delta.startsWith("-") ? "down" : "up";
    parts.push(" ", el("span", { class: `delta ${kind}` }, `(${sign}${change.delta})`));
  }
  return parts;
}

// A <dl> of the changes, or a short note when there are none.
export function renderChanges(changes, emptyText = "No field changed.") {
  if (!changes || !changes.length) return el("p", { class: "muted" }, emptyText);
  return el(
    "dl",
    { class: "changes" },
    changes.map((change) => [
      el("dt", {}, change.label),
      el("dd", { "data-field": change.field }, changeValue(change)),
    ]),
  );
}
