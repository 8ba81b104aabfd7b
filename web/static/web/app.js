// The version-history page: screens for signing in, objects, an object's
// timeline (compare, revert, restore), the audit log and changesets. Every
// value shown comes from the GraphQL API at /graphql/.
import { ApiError, gql, unwrap } from "./api.js";
import { FIELD_CHANGE, FIELD_CHANGE_FLAT, el, renderChanges } from "./diff.js";

const PAGE = 10;
const main = document.getElementById("main");
const statusBox = document.getElementById("status");
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "long" });
// The root connection of each tracked model's live objects.
const LIVE_FIELD = { PRODUCT: "products", CATEGORY: "categories" };
const TYPE_LABEL = { CREATED: "Created", UPDATED: "Updated", DELETED: "Deleted" };
let viewer = null;
let models = null;
// Each navigation gets a number; a screen still loading for an earlier one
// must not draw over the current one.
let navigation = 0;

function current() {
  const mine = navigation;
  return () => mine === navigation;
}

const VERSION = `id historyId historyDate historyType historyChangeReason
  historyUser { id username } revertedFrom { id historyId historyDate }
  objectId object { id } changeset { id }
  changes { ${FIELD_CHANGE} }
  ... on HistoricalProduct { name }
  ... on HistoricalCategory { name }`;

function when(iso) {
  return el("time", { datetime: iso }, dateFormat.format(new Date(iso)));
}

function modelOf(typename) {
  return (typename || "").replace(/^Historical/, "");
}

function say(text) {
  statusBox.textContent = text;
}

// An error from the API, shown plainly; PERMISSION_DENIED gets its own words.
function problem(error) {
  const code = error instanceof ApiError ? error.code : null;
  let text = error.message;
  if (code === "PERMISSION_DENIED") {
    text = `You are signed in as ${viewer ? viewer.username : "someone"} but may not do this: ${error.message} Ask an administrator for the permission.`;
  } else if (code === "STALE") {
    text = `Someone changed this since you loaded it, so nothing was written. Reload and try again. (${error.message})`;
  } else if (code === "INVALID_CREDENTIALS") {
    text = "Wrong username or password.";
  } else if (code === "TOO_MANY_ATTEMPTS") {
    text = "Too many failed sign-ins: wait a while before trying again.";
  }
  return el("p", { class: "error", role: "alert", "data-code": code }, code ? el("strong", {}, `${code}: `) : null, text);
}

function screen(title, ...children) {
  const heading = el("h1", {}, title);
  document.title = `${title} · Version history`;
  main.replaceChildren(heading, ...children);
  main.focus();
  return heading;
}

function showSignedIn(signedIn) {
  for (const node of document.querySelectorAll("[data-signed-in]")) node.hidden = !signedIn;
  document.getElementById("whoami").textContent = signedIn ? `Signed in as ${viewer.username}` : "";
}

// A write shown first as a dry run: the form's submit (reason required) shows
// what would change, and `confirm` performs it.
function previewThenConfirm({ form, reason, preview, confirm, hint, showPreview, perform }) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    confirm.hidden = true;
    if (!reason.value.trim()) {
      preview.replaceChildren(el("p", { class: "error", role: "alert" }, hint));
      reason.focus();
      return;
    }
    try {
      preview.replaceChildren(el("h3", {}, "Preview"), ...(await showPreview()));
      confirm.hidden = false;
    } catch (error) {
      preview.replaceChildren(problem(error));
    }
  });
  confirm.addEventListener("click", async () => {
    try {
      await perform();
    } catch (error) {
      preview.replaceChildren(problem(error));
      confirm.hidden = true;
    }
  });
}

// ---- Signing in and out ------------------------------------------------

function signIn() {
  const errors = el("div");
  const form = el(
    "form",
    { class: "card narrow", "aria-describedby": "signin-help" },
    el("p", { id: "signin-help" }, "Sign in to read and revert versions."),
    el("label", { for: "username" }, "Username"),
    el("input", { id: "username", name: "username", autocomplete: "username", required: true }),
    el("label", { for: "password" }, "Password"),
    el("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true }),
    errors,
    el("button", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    try {
      const data = await gql(
        "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { id username } }",
        { u: form.username.value, p: form.password.value },
      );
      viewer = data.login;
      showSignedIn(true);
      say(`Signed in as ${viewer.username}.`);
      route();
    } catch (error) {
      errors.replaceChildren(problem(error));
    }
  });
  screen("Sign in", form);
  form.username.focus();
}

document.getElementById("logout").addEventListener("click", async () => {
  try {
    await gql("mutation { logout }");
  } finally {
    viewer = null;
    showSignedIn(false);
    say("Signed out.");
    location.hash = "#/";
    signIn();
  }
});

// ---- Objects ----------------------------------------------------------

async function trackedModels() {
  if (!models) {
    const data = await gql('{ __type(name: "TrackedModel") { enumValues { name } } }');
    models = data.__type.enumValues.map((value) => value.name);
  }
  return models;
}

function label(model) {
  return model.charAt(0) + model.slice(1).toLowerCase();
}

async function objects(params) {
  const alive = current();
  const all = await trackedModels();
  if (!alive()) return;
  const model = all.includes(params.get("model")) ? params.get("model") : all.includes("PRODUCT") ? "PRODUCT" : all[0];
  const tab = params.get("tab") === "deleted" ? "deleted" : "live";
  const q = params.get("q") || "";
  const form = el(
    "form",
    { class: "filters", role: "search" },
    el("label", { for: "model" }, "Model"),
    el("select", { id: "model", name: "model" }, all.map((name) => el("option", { value: name, selected: name === model }, label(name)))),
    el("label", { for: "q" }, "Name contains"),
    el("input", { id: "q", name: "q", type: "search", value: q }),
    el("fieldset", { class: "tabs" },
      el("legend", {}, "Show"),
      el("label", {}, el("input", { type: "radio", name: "tab", value: "live", checked: tab === "live" }), " Existing"),
      el("label", {}, el("input", { type: "radio", name: "tab", value: "deleted", checked: tab === "deleted" }), " Deleted"),
    ),
    el("button", { type: "submit" }, "Search"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams({ model: form.model.value, q: form.q.value, tab: form.tab.value });
    location.hash = `#/objects?${next}`;
  });
  const results = el("div", { "aria-live": "polite" }, el("p", {}, "Loading…"));
  screen("Objects", form, results);
  try {
    const list = el("ul", { class: "objects" });
    if (tab === "live") {
      const field = LIVE_FIELD[model] || `${model.toLowerCase()}s`;
      const data = await gql(
        `query($q: String!) { items: ${field}(filters: { name: { iContains: $q } }, first: 50) {
          totalCount edges { node { id name } } } }`,
        { q },
      );
      for (const { node } of data.items.edges) {
        list.append(el("li", {}, el("a", { href: `#/object/${encodeURIComponent(node.id)}` }, node.name)));
      }
      results.replaceChildren(el("p", { class: "muted" }, `${data.items.totalCount} found.`), list);
    } else {
      const data = await gql(
        `query($m: [TrackedModel!], $q: String) { auditLog(filters: { model: $m, historyType: DELETED, search: $q }, first: 50) {
          totalCount edges { node { ${VERSION} } } } }`,
        { m: [model], q: q || null },
      );
      for (const { node } of data.auditLog.edges) {
        list.append(
          el("li", {},
            el("a", { href: `#/object/${encodeURIComponent(node.objectId)}` }, node.name || node.objectId),
            " ", el("span", { class: "muted" }, "deleted ", when(node.historyDate), node.historyUser ? ` by ${node.historyUser.username}` : ""),
            node.object ? el("span", { class: "badge" }, "restored since") : null,
          ),
        );
      }
      results.replaceChildren(el("p", { class: "muted" }, `${data.auditLog.totalCount} deletions.`), list);
    }
    if (!list.children.length) results.append(el("p", {}, "Nothing matches."));
  } catch (error) {
    results.replaceChildren(problem(error));
  }
}

// ---- One version -------------------------------------------------------

function versionCard(version, { onRevert, select } = {}) {
  const who = version.historyUser ? version.historyUser.username : "a background job";
  const badge = el("span", { class: `badge ${version.historyType.toLowerCase()}` }, TYPE_LABEL[version.historyType]);
  const header = el(
    "header", {},
    el("h3", {}, badge, ` Version ${version.historyId}`, version.name ? ` · ${version.name}` : ""),
    el("p", { class: "meta" },
      el("span", {}, "By ", el("strong", {}, who)), " · ", when(version.historyDate),
      " · ", el("a", { href: `#/changeset/${encodeURIComponent(version.changeset.id)}` }, "changeset"),
    ),
    el("p", { class: "why" }, version.historyChangeReason ? `Why: ${version.historyChangeReason}` : el("span", { class: "muted" }, "No reason given.")),
    version.revertedFrom
      ? el("p", { class: "reverted" }, `↺ Reverted to version ${version.revertedFrom.historyId} of `, when(version.revertedFrom.historyDate))
      : null,
  );
  const actions = el("div", { class: "actions" });
  if (select) {
    const id = `pick-${version.historyId}`;
    actions.append(el("span", { class: "pick" },
      el("input", { type: "checkbox", id, value: version.id, onchange: select }),
      el("label", { for: id }, `Compare version ${version.historyId}`)));
  }
  if (onRevert && version.historyType !== "DELETED") {
    actions.append(el("button", { type: "button", onclick: () => onRevert(version) }, `Revert to version ${version.historyId}…`));
  }
  return el(
    "article", { class: "version", "data-history-id": version.historyId },
    header,
    version.historyType === "CREATED" ? el("p", { class: "muted" }, "Created.") : renderChanges(version.changes),
    actions,
  );
}

// ---- Timeline ----------------------------------------------------------

async function timeline(objectId) {
  const heading = el("p", { class: "muted" }, "Loading…");
  const compareBox = el("section", { class: "panel", hidden: true, "aria-labelledby": "compare-title" });
  const revertBox = el("section", { class: "panel", hidden: true, "aria-labelledby": "revert-title" });
  const list = el("ol", { class: "timeline", reversed: true });
  const more = el("button", { type: "button", hidden: true }, "Load more");
  const compareButton = el("button", { type: "button", disabled: true }, "Compare selected versions");
  const errors = el("div");
  const title = screen("Timeline", heading, errors, el("div", { class: "actions" }, compareButton), compareBox, revertBox, list, more);
  const versions = [];
  let cursor = null;

  const picked = () => [...list.querySelectorAll("input[type=checkbox]:checked")].map((box) => box.value);
  const select = () => {
    compareButton.disabled = picked().length !== 2;
  };

  async function load() {
    more.disabled = true;
    try {
      const data = await gql(
        `query($o: ID!, $n: Int!, $a: String) { auditLog(filters: { object: $o }, first: $n, after: $a) {
          totalCount pageInfo { hasNextPage endCursor } edges { node { __typename ${VERSION} } } } }`,
        { o: objectId, n: PAGE, a: cursor },
      );
      const page = data.auditLog;
      for (const { node } of page.edges) {
        versions.push(node);
        list.append(el("li", {}, versionCard(node, { onRevert: revert, select })));
      }
      cursor = page.pageInfo.endCursor;
      more.hidden = !page.pageInfo.hasNextPage;
      more.disabled = false;
      const newest = versions[0];
      if (!newest) {
        heading.replaceChildren("No versions of this object can be read.");
        return;
      }
      const name = `${label(modelOf(newest.__typename))}: ${versions.find((v) => v.name)?.name || objectId}`;
      title.textContent = name;
      if (title.isConnected) document.title = `${name} · Version history`;
      heading.replaceChildren(
        `${page.totalCount} versions, newest first. `,
        newest.object ? "" : el("strong", { class: "badge deleted" }, "Deleted"),
        newest.object ? "" : " Revert to an earlier version to restore it.",
      );
    } catch (error) {
      errors.replaceChildren(problem(error));
    }
  }

  compareButton.addEventListener("click", async () => {
    const ids = picked();
    const chosen = versions.filter((v) => ids.includes(v.id)).sort((a, b) => a.historyId - b.historyId);
    const [older, newer] = chosen;
    compareBox.hidden = false;
    compareBox.replaceChildren(el("h2", { id: "compare-title" }, `Version ${older.historyId} → version ${newer.historyId}`), el("p", {}, "Loading…"));
    try {
      const data = await gql(
        `query($id: ID!, $against: ID!) { node(id: $id) { ... on Version { diff(against: $against) { ${FIELD_CHANGE} } } } }`,
        { id: newer.id, against: older.id },
      );
      compareBox.replaceChildren(
        compareBox.firstChild,
        el("p", { class: "meta" }, "From ", when(older.historyDate), " to ", when(newer.historyDate)),
        renderChanges(data.node.diff, "The two versions are the same."),
      );
    } catch (error) {
      compareBox.replaceChildren(compareBox.firstChild, problem(error));
    }
    compareBox.querySelector("h2").tabIndex = -1;
    compareBox.querySelector("h2").focus();
  });

  async function revert(target) {
    const newest = versions[0];
    revertBox.hidden = false;
    const fieldChoice = el("fieldset", {}, el("legend", {}, "Fields to revert"));
    const reason = el("textarea", { id: "revert-reason", required: true, rows: 2 });
    const preview = el("div", { "aria-live": "polite" });
    const confirm = el("button", { type: "button", hidden: true, class: "primary" }, "Confirm revert");
    const form = el("form", { novalidate: true },
      fieldChoice,
      el("label", { for: "revert-reason" }, "Reason (required)"), reason,
      el("div", { class: "actions" },
        el("button", { type: "submit" }, "Preview"),
        confirm,
        el("button", { type: "button", onclick: () => { revertBox.hidden = true; } }, "Cancel"),
      ),
      preview,
    );
    const restoring = !newest.object;
    revertBox.replaceChildren(
      el("h2", { id: "revert-title", tabindex: "-1" }, `${restoring ? "Restore from" : "Revert to"} version ${target.historyId}`),
      el("p", { class: "muted" }, "Nothing is written until you confirm; the preview shows what would change."),
      form,
    );
    revertBox.querySelector("h2").focus();
    const input = (dryRun) => {
      const boxes = [...form.querySelectorAll("input[name=fields]")];
      const checked = boxes.filter((box) => box.checked).map((box) => box.value);
      return {
        record: target.id,
        reason: reason.value,
        fields: boxes.length && checked.length < boxes.length ? checked : null,
        expectedLatest: newest.id,
        dryRun,
      };
    };
    const run = async (dryRun) => {
      const data = await gql(
        `mutation($input: RevertInput!) { revert(input: $input) { __typename
          ... on RevertResult { record { id historyId } changes { ${FIELD_CHANGE} } }
          ... on OperationInfo { messages { kind message field code } } } }`,
        { input: input(dryRun) },
      );
      return unwrap(data.revert);
    };
    previewThenConfirm({
      form, reason, preview, confirm,
      hint: "Give a reason: it is stored with the new version.",
      showPreview: async () => [renderChanges((await run(true)).changes, "Nothing would change.")],
      perform: async () => {
        const result = await run(false);
        await timeline(objectId);
        say(`Reverted: version ${result.record ? result.record.historyId : ""} written.`);
      },
    });
    // The fields that differ from the newest version can be chosen one by one.
    try {
      const data = await gql(
        `query($id: ID!, $against: ID!) { node(id: $id) { ... on Version { diff(against: $against) { field label } } } }`,
        { id: target.id, against: newest.id },
      );
      const differing = data.node.diff;
      fieldChoice.append(...(differing.length
        ? differing.map((change) => el("label", { class: "check" },
            el("input", { type: "checkbox", name: "fields", value: change.field, checked: true }), ` ${change.label}`))
        : [el("p", { class: "muted" }, "All fields.")]));
    } catch (error) {
      fieldChoice.append(problem(error));
    }
  }

  more.addEventListener("click", load);
  await load();
}

// ---- Audit log ---------------------------------------------------------

function isoFromDate(value, addDays = 0) {
  if (!value) return null;
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d + addDays).toISOString();
}

async function auditLog(params) {
  const alive = current();
  const all = await trackedModels();
  if (!alive()) return;
  const users = new Map();
  if (params.get("userId")) users.set(params.get("userId"), params.get("user") || "the chosen user");
  if (viewer) users.set(viewer.id, `${viewer.username} (me)`);
  const form = el(
    "form", { class: "filters", role: "search" },
    el("label", { for: "log-model" }, "Model"),
    el("select", { id: "log-model", name: "model" }, el("option", { value: "" }, "All models"),
      all.map((name) => el("option", { value: name, selected: params.get("model") === name }, label(name)))),
    el("label", { for: "log-user" }, "Who"),
    el("select", { id: "log-user", name: "userId" }, el("option", { value: "" }, "Anyone"),
      [...users].map(([id, name]) => el("option", { value: id, selected: params.get("userId") === id }, name))),
    el("label", { for: "log-search" }, "Text"),
    el("input", { id: "log-search", name: "search", type: "search", value: params.get("search") || "" }),
    el("label", { for: "log-from" }, "From"),
    el("input", { id: "log-from", name: "from", type: "date", value: params.get("from") || "" }),
    el("label", { for: "log-to" }, "Until (inclusive)"),
    el("input", { id: "log-to", name: "to", type: "date", value: params.get("to") || "" }),
    el("button", { type: "submit" }, "Filter"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const key of ["model", "userId", "search", "from", "to"]) if (form[key].value) next.set(key, form[key].value);
    if (form.userId.value) next.set("user", users.get(form.userId.value) || "");
    location.hash = `#/log?${next}`;
  });
  const body = el("tbody");
  const table = el("table", { class: "log" },
    el("caption", { class: "muted" }, "Newest first"),
    el("thead", {}, el("tr", {}, ["When", "Who", "Object", "Change", "Why", "Changeset"].map((h) => el("th", { scope: "col" }, h)))),
    body);
  const more = el("button", { type: "button", hidden: true }, "Load more");
  const errors = el("div");
  screen("Audit log", form, errors, table, more);
  const filters = {
    model: params.get("model") ? [params.get("model")] : null,
    historyUser: params.get("userId") || null,
    search: params.get("search") || null,
  };
  const gte = isoFromDate(params.get("from"));
  const lt = isoFromDate(params.get("to"), 1);
  if (gte || lt) filters.historyDate = { ...(gte ? { gte } : {}), ...(lt ? { lt } : {}) };
  let cursor = null;
  async function load() {
    try {
      const data = await gql(
        `query($f: AuditLogFilter, $n: Int!, $a: String) { auditLog(filters: $f, first: $n, after: $a) {
          pageInfo { hasNextPage endCursor } edges { node { __typename ${VERSION} } } } }`,
        { f: filters, n: PAGE, a: cursor },
      );
      for (const { node } of data.auditLog.edges) {
        const who = node.historyUser
          ? el("a", { href: `#/log?${new URLSearchParams({ userId: node.historyUser.id, user: node.historyUser.username })}`, title: `Only changes by ${node.historyUser.username}` }, node.historyUser.username)
          : el("span", { class: "muted" }, "background job");
        body.append(el("tr", {},
          el("td", {}, when(node.historyDate)),
          el("td", {}, who),
          el("td", {}, `${label(modelOf(node.__typename))}: `, el("a", { href: `#/object/${encodeURIComponent(node.objectId)}` }, node.name || node.objectId)),
          el("td", {}, el("span", { class: `badge ${node.historyType.toLowerCase()}` }, TYPE_LABEL[node.historyType]),
            node.revertedFrom ? el("span", { class: "reverted" }, ` ↺ revert to v${node.revertedFrom.historyId}`) : null,
            node.historyType === "UPDATED" ? el("span", { class: "muted" }, ` ${node.changes.map((c) => c.label).join(", ")}`) : null),
          el("td", {}, node.historyChangeReason || ""),
          el("td", {}, el("a", { href: `#/changeset/${encodeURIComponent(node.changeset.id)}` }, "open")),
        ));
      }
      cursor = data.auditLog.pageInfo.endCursor;
      more.hidden = !data.auditLog.pageInfo.hasNextPage;
      if (!body.children.length) errors.replaceChildren(el("p", {}, "No versions match."));
    } catch (error) {
      errors.replaceChildren(problem(error));
    }
  }
  more.addEventListener("click", load);
  await load();
}

// ---- Changeset ---------------------------------------------------------

async function changeset(id) {
  const alive = current();
  screen("Changeset", el("p", {}, "Loading…"));
  let data;
  try {
    data = await gql(
      `query($id: ID!) { changeset(id: $id) { id historyDate historyChangeReason historyUser { username }
        versions(first: 50) { totalCount edges { node { __typename ${VERSION} } } } } }`,
      { id },
    );
  } catch (error) {
    if (alive()) screen("Changeset", problem(error));
    return;
  }
  if (!alive()) return;
  const set = data.changeset;
  if (!set) {
    screen("Changeset", el("p", {}, "No such changeset."));
    return;
  }
  const reason = el("textarea", { id: "cs-reason", rows: 2, required: true });
  const preview = el("div", { "aria-live": "polite" });
  const confirm = el("button", { type: "button", hidden: true, class: "primary" }, "Confirm changeset revert");
  const form = el("form", { class: "panel", novalidate: true, "aria-labelledby": "cs-revert-title" },
    el("h2", { id: "cs-revert-title" }, "Revert changeset…"),
    el("p", { class: "muted" }, "Brings every object it changed back to how it was before; nothing is written until you confirm."),
    el("label", { for: "cs-reason" }, "Reason (required)"), reason,
    el("div", { class: "actions" }, el("button", { type: "submit" }, "Preview"), confirm),
    preview);
  const run = async (dryRun) => unwrap((await gql(
    `mutation($input: RevertChangesetInput!) { revertChangeset(input: $input) { __typename
      ... on RevertChangesetResult { changeset { id } changes { objectId changes { ${FIELD_CHANGE_FLAT} } } }
      ... on OperationInfo { messages { kind message field code } } } }`,
    { input: { id: set.id, reason: reason.value, dryRun } },
  )).revertChangeset);
  const names = new Map(set.versions.edges.map(({ node }) => [node.objectId, node.name || node.objectId]));
  previewThenConfirm({
    form, reason, preview, confirm,
    hint: "Give a reason: it is stored with every version the revert writes.",
    showPreview: async () => {
      const result = await run(true);
      return result.changes.length
        ? result.changes.map((item) => el("section", {}, el("h4", {}, names.get(item.objectId) || item.objectId), renderChanges(item.changes)))
        : [el("p", {}, "Nothing would change.")];
    },
    perform: async () => {
      const result = await run(false);
      say("Changeset reverted.");
      location.hash = `#/changeset/${encodeURIComponent(result.changeset.id)}`;
    },
  });
  const list = el("ol", { class: "timeline" });
  for (const { node } of set.versions.edges) {
    list.append(el("li", {},
      el("p", {}, `${label(modelOf(node.__typename))}: `, el("a", { href: `#/object/${encodeURIComponent(node.objectId)}` }, node.name || node.objectId)),
      versionCard(node)));
  }
  screen("Changeset",
    el("p", { class: "meta" }, "By ", el("strong", {}, set.historyUser ? set.historyUser.username : "a background job"), " · ", when(set.historyDate)),
    el("p", { class: "why" }, set.historyChangeReason ? `Why: ${set.historyChangeReason}` : "No reason given."),
    el("h2", {}, `${set.versions.totalCount} ${set.versions.totalCount === 1 ? "version" : "versions"}`), list, form);
}

// ---- Routing -----------------------------------------------------------

async function route() {
  navigation += 1;
  if (!viewer) {
    signIn();
    return;
  }
  const [path, query] = (location.hash.slice(1) || "/objects").split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  try {
    if (parts[0] === "object" && parts[1]) await timeline(decodeURIComponent(parts[1]));
    else if (parts[0] === "log") await auditLog(params);
    else if (parts[0] === "changeset" && parts[1]) await changeset(decodeURIComponent(parts[1]));
    else await objects(params);
  } catch (error) {
    screen("Something went wrong", problem(error));
  }
}

async function start() {
  try {
    viewer = (await gql("{ me { id username } }")).me;
  } catch (error) {
    screen("Version history", problem(error));
    return;
  }
  showSignedIn(Boolean(viewer));
  window.addEventListener("hashchange", route);
  await route();
}

start();
