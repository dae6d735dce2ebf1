// The Slack playground page: renders what the bot posted (Block Kit) and sends what a person does
// to the playground's API, which signs it and forwards it to the bot. Every string from the bot
// or a person goes into the page as text (textContent), never as HTML.
"use strict";

(() => {
  const EMOJI = {
    warning: "⚠️", no_entry: "⛔", hourglass: "⌛", hourglass_flowing_sand: "⏳", x: "❌",
    white_circle: "⚪", wastebasket: "🗑️", large_yellow_circle: "🟡", large_green_circle: "🟢",
    red_circle: "🔴", checkered_flag: "🏁", white_check_mark: "✅", lock: "🔒",
    grey_question: "❔", drift: "↔️", rocket: "🚀", tada: "🎉", information_source: "ℹ️",
    arrow_forward: "▶️", double_vertical_bar: "⏸️", stop_button: "⏹️", heavy_check_mark: "✔️",
  };
  const $ = (id) => document.getElementById(id);
  const timeline = $("timeline");
  const who = $("who");
  const modal = $("modal");
  const confirmDialog = $("confirm");
  let state = null;
  let me = sessionStorage.getItem("playground-user") || "";
  const rendered = new Map(); // timeline key -> {node, sig}
  const dismissed = new Set();
  const localBanners = [];
  let shownView = ""; // "<user>/<view id>/<hash>" of the modal on screen
  let pendingUploads = new Map(); // file input id -> promise

  // -- talking to the playground --------------------------------------------------------------

  async function api(path, body) {
    try {
      const answer = await fetch("/playground/api/" + path, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Playground": "1" },
        body: JSON.stringify({ user: me, ...body }),
      });
      const result = await answer.json().catch(() => ({ ok: false, error: "HTTP " + answer.status }));
      if (!result.ok) banner(result.error || "The request failed.");
      return result;
    } catch (error) {
      banner("The playground did not answer: " + error);
      return { ok: false };
    }
  }

  function connect() {
    const events = new EventSource("/playground/api/events");
    events.onopen = () => { $("connection").textContent = "Live"; };
    events.onmessage = (event) => { apply(JSON.parse(event.data)); };
    events.onerror = () => { $("connection").textContent = "Reconnecting…"; };
  }

  // -- text: mrkdwn and plain_text ----------------------------------------------------------

  function decode(text) {
    return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  }

  function emojify(text) {
    return text.replace(/:([a-z0-9_+-]+):/g, (all, name) => EMOJI[name] || all);
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function nameOf(id) {
    return (state && state.names[id]) || id;
  }

  function special(inside, parent) {
    const [target, label] = splitOnce(inside, "|");
    if (target.startsWith("@")) {
      parent.append(el("span", "mention", "@" + (nameOf(target.slice(1)) || label)));
    } else if (target.startsWith("#")) {
      const id = target.slice(1);
      parent.append(el("span", "mention", "#" + (label || (state && state.channels[id]) || id)));
    } else if (target.startsWith("!subteam^")) {
      parent.append(el("span", "mention", label || "@" + target.slice(9)));
    } else if (target.startsWith("!date^")) {
      parent.append(document.createTextNode(decode(label || "")));
    } else if (target.startsWith("!")) {
      parent.append(el("span", "mention", "@" + target.slice(1)));
    } else if (/^(https?:\/\/|mailto:)/i.test(target)) {
      const link = el("a", "", decode(label || target));
      link.href = decode(target);
      link.rel = "noopener noreferrer";
      link.target = "_blank";
      parent.append(link);
    } else {
      parent.append(document.createTextNode(decode(label || target)));
    }
  }

  function splitOnce(text, separator) {
    const at = text.indexOf(separator);
    return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + 1)];
  }

  const FORMATS = { "*": "strong", _: "em", "~": "s" };

  function mrkdwn(text, parent) {
    let buffer = "";
    const flush = () => {
      if (buffer) parent.append(document.createTextNode(emojify(decode(buffer))));
      buffer = "";
    };
    let i = 0;
    while (i < text.length) {
      const c = text[i];
      if (text.startsWith("```", i)) {
        const end = text.indexOf("```", i + 3);
        if (end > i) {
          flush();
          const pre = el("pre");
          pre.append(el("code", "", decode(text.slice(i + 3, end))));
          parent.append(pre);
          i = end + 3;
          continue;
        }
      }
      if (c === "`") {
        const end = text.indexOf("`", i + 1);
        if (end > i + 1 && !text.slice(i + 1, end).includes("\n")) {
          flush();
          parent.append(el("code", "", decode(text.slice(i + 1, end))));
          i = end + 1;
          continue;
        }
      }
      if (c === "<") {
        const end = text.indexOf(">", i + 1);
        if (end > i + 1) {
          flush();
          special(text.slice(i + 1, end), parent);
          i = end + 1;
          continue;
        }
      }
      if (FORMATS[c] && (i === 0 || !/[\w]/.test(text[i - 1]))) {
        const end = text.indexOf(c, i + 1);
        const inner = end > i + 1 ? text.slice(i + 1, end) : "";
        if (inner && !inner.includes("\n") && inner.trim() === inner
            && (end + 1 >= text.length || !/[\w]/.test(text[end + 1]))) {
          flush();
          const node = el(FORMATS[c]);
          mrkdwn(inner, node);
          parent.append(node);
          i = end + 1;
          continue;
        }
      }
      buffer += c;
      i += 1;
    }
    flush();
    return parent;
  }

  function textObject(object, tag = "span", className = "") {
    const node = el(tag, className);
    if (!object) return node;
    if (object.type === "mrkdwn") mrkdwn(object.text || "", node);
    else node.textContent = object.emoji === false ? object.text : emojify(object.text || "");
    return node;
  }

  function plainText(object) {
    return object ? emojify(object.text || "") : "";
  }

  // -- blocks -------------------------------------------------------------------------------

  function renderBlocks(blocks, where, parent) {
    for (const block of blocks) parent.append(renderBlock(block, where));
    return parent;
  }

  function renderBlock(block, where) {
    switch (block.type) {
      case "section": {
        const node = el("div", "section");
        node.dataset.blockId = block.block_id || "";
        const body = el("div", "text-wrap");
        if (block.text) body.append(textObject(block.text, "div", "text"));
        if (block.fields) {
          const fields = el("div", "fields");
          for (const field of block.fields) fields.append(textObject(field, "div", "text"));
          body.append(fields);
        }
        node.append(body);
        if (block.accessory) node.append(renderElement(block.accessory, block, where));
        return node;
      }
      case "context": {
        const node = el("div", "context");
        for (const item of block.elements || []) {
          if (item.type === "image") node.append(el("span", "", "[" + (item.alt_text || "image") + "]"));
          else node.append(textObject(item));
        }
        return node;
      }
      case "divider":
        return el("hr", "divider");
      case "header":
        return el("h3", "header", plainText(block.text));
      case "actions": {
        const node = el("div", "actions");
        node.setAttribute("role", "group");
        for (const element of block.elements || []) node.append(renderElement(element, block, where));
        return node;
      }
      case "input":
        return renderInput(block);
      case "image":
        return el("p", "unsupported", "[image: " + (block.alt_text || "") + "]");
      default:
        return el("p", "unsupported", "[a " + block.type + " block, not shown in the playground]");
    }
  }

  function renderElement(element, block, where) {
    if (element.type === "button") {
      const button = el("button", "btn", plainText(element.text));
      button.type = "button";
      if (element.style === "primary") button.classList.add("btn-primary");
      if (element.style === "danger") button.classList.add("btn-danger");
      button.dataset.actionId = element.action_id || "";
      if (element.url) {
        const link = el("a", "btn", plainText(element.text));
        if (/^https?:\/\//i.test(element.url)) link.href = element.url;
        link.rel = "noopener noreferrer";
        link.target = "_blank";
        return link;
      }
      button.addEventListener("click", async () => {
        if (element.confirm && !(await confirmFirst(element.confirm))) return;
        const action = {
          type: "button", action_id: element.action_id, value: element.value,
          text: element.text, style: element.style,
        };
        await click(where, block, action);
      });
      return button;
    }
    if (element.type === "static_select" || element.type === "overflow") {
      const label = el("label", "visually-hidden", plainText(element.placeholder) || "Choose");
      const select = el("select");
      const id = "sel-" + Math.random().toString(36).slice(2);
      select.id = id;
      label.htmlFor = id;
      select.append(el("option", "", plainText(element.placeholder) || "Choose…"));
      for (const option of allOptions(element)) {
        const item = el("option", "", plainText(option.text));
        item.value = option.value;
        select.append(item);
      }
      select.addEventListener("change", () => {
        const option = allOptions(element).find((o) => o.value === select.value);
        if (option) click(where, block, { type: element.type, action_id: element.action_id, selected_option: option });
      });
      const wrap = el("span");
      wrap.append(label, select);
      return wrap;
    }
    return el("span", "unsupported", "[" + element.type + "]");
  }

  function allOptions(element) {
    const groups = element.option_groups || [];
    return [...(element.options || []), ...groups.flatMap((g) => g.options || [])];
  }

  async function click(where, block, action) {
    const body = { source: where, block_id: block.block_id || "", action };
    if (where.kind === "view") body.values = collectValues(false).values;
    await api("action", body);
  }

  // -- confirm dialogs ------------------------------------------------------------------------

  function confirmFirst(confirm) {
    return new Promise((resolve) => {
      confirmDialog.replaceChildren();
      const form = el("form");
      form.method = "dialog";
      const title = el("h2", "", plainText(confirm.title) || "Are you sure?");
      title.id = "confirm-title";
      const body = el("div", "body");
      body.append(textObject(confirm.text, "p"));
      const footer = el("div", "footer");
      const deny = el("button", "btn", plainText(confirm.deny) || "Cancel");
      deny.value = "deny";
      const yes = el("button", "btn " + (confirm.style === "danger" ? "btn-danger" : "btn-primary"),
        plainText(confirm.confirm) || "Yes");
      yes.value = "confirm";
      footer.append(deny, yes);
      form.append(title, body, footer);
      confirmDialog.append(form);
      confirmDialog.returnValue = "";
      confirmDialog.addEventListener("close", () => resolve(confirmDialog.returnValue === "confirm"), { once: true });
      confirmDialog.showModal();
      deny.focus();
    });
  }

  // -- modals -------------------------------------------------------------------------------

  function fieldId(blockId) {
    return "field-" + blockId.replace(/[^A-Za-z0-9_-]/g, "_");
  }

  function renderInput(block) {
    const element = block.element || {};
    const id = fieldId(block.block_id);
    const wrap = el("div", "field");
    wrap.dataset.blockId = block.block_id;
    wrap.dataset.actionId = element.action_id || block.block_id;
    wrap.dataset.type = element.type;
    wrap.dataset.optional = block.optional ? "1" : "";
    const label = el("label", "", plainText(block.label));
    if (block.optional) label.append(" ", el("span", "optional", "(optional)"));
    const hint = block.hint ? el("p", "hint", plainText(block.hint)) : null;
    if (hint) hint.id = id + "-hint";
    const error = el("p", "error");
    error.id = id + "-error";
    error.hidden = true;
    const describedBy = [hint ? hint.id : "", error.id].filter(Boolean).join(" ");
    let control;
    switch (element.type) {
      case "plain_text_input": {
        control = el(element.multiline ? "textarea" : "input");
        if (!element.multiline) control.type = "text";
        if (element.initial_value) control.value = element.initial_value;
        if (element.max_length) control.maxLength = element.max_length;
        if (element.placeholder) control.placeholder = plainText(element.placeholder);
        break;
      }
      case "number_input": {
        control = el("input");
        control.type = "number";
        control.step = element.is_decimal_allowed ? "any" : "1";
        if (element.min_value !== undefined) control.min = element.min_value;
        if (element.max_value !== undefined) control.max = element.max_value;
        if (element.initial_value !== undefined) control.value = element.initial_value;
        break;
      }
      case "static_select":
      case "multi_static_select":
      case "multi_users_select":
      case "users_select": {
        control = el("select");
        const multi = element.type.startsWith("multi_");
        control.multiple = multi;
        if (!multi) control.append(el("option", "", plainText(element.placeholder) || "Choose…"));
        const users = element.type.endsWith("users_select");
        const options = users
          ? state.people.map((p) => ({ text: { type: "plain_text", text: p.name }, value: p.id }))
          : allOptions(element);
        const initial = new Set([
          ...(element.initial_users || []), element.initial_user,
          ...(element.initial_options || []).map((o) => o.value),
          element.initial_option && element.initial_option.value,
        ].filter(Boolean));
        for (const option of options) {
          const item = el("option", "", plainText(option.text));
          item.value = option.value;
          item.selected = initial.has(option.value);
          control.append(item);
        }
        break;
      }
      case "radio_buttons":
      case "checkboxes": {
        const set = el("fieldset");
        const legend = el("legend", "", plainText(block.label));
        if (block.optional) legend.append(" ", el("span", "optional", "(optional)"));
        set.append(legend);
        set.setAttribute("aria-describedby", describedBy);
        const initial = new Set([
          element.initial_option && element.initial_option.value,
          ...(element.initial_options || []).map((o) => o.value),
        ].filter(Boolean));
        (element.options || []).forEach((option, index) => {
          const row = el("div", "choice");
          const input = el("input");
          input.type = element.type === "radio_buttons" ? "radio" : "checkbox";
          input.name = id;
          input.id = id + "-" + index;
          input.value = option.value;
          input.checked = initial.has(option.value);
          const text = el("label", "", plainText(option.text));
          text.htmlFor = input.id;
          if (option.description) text.append(el("span", "description", plainText(option.description)));
          row.append(input, text);
          set.append(row);
        });
        wrap.append(set);
        if (hint) wrap.append(hint);
        wrap.append(error);
        return wrap;
      }
      case "file_input": {
        control = el("input");
        control.type = "file";
        const types = element.filetypes || [];
        if (types.length) control.accept = types.map((t) => "." + t).join(",");
        const status = el("p", "upload-status");
        status.id = id + "-status";
        status.setAttribute("aria-live", "polite");
        control.addEventListener("change", () => {
          const file = control.files[0];
          control.dataset.files = "[]";
          if (!file) { status.textContent = ""; return; }
          status.textContent = "Uploading " + file.name + "…";
          const upload = fetch("/playground/api/files?name=" + encodeURIComponent(file.name), {
            method: "POST",
            headers: { "X-Playground": "1", "Content-Type": "application/octet-stream" },
            body: file,
          }).then((r) => r.json()).then((answer) => {
            if (!answer.ok) { status.textContent = "Not uploaded: " + answer.error; return; }
            control.dataset.files = JSON.stringify([answer.file]);
            status.textContent = "Uploaded " + answer.file.name + " (" + file.size + " bytes).";
          }).catch((e) => { status.textContent = "Not uploaded: " + e; });
          pendingUploads.set(id, upload);
        });
        wrap.append(label, control, status);
        control.id = id;
        label.htmlFor = id;
        control.setAttribute("aria-describedby", describedBy + " " + status.id);
        if (hint) wrap.append(hint);
        wrap.append(error);
        return wrap;
      }
      default:
        wrap.append(el("p", "unsupported", "[" + element.type + " input, not shown in the playground]"));
        return wrap;
    }
    control.id = id;
    control.name = block.block_id;
    label.htmlFor = id;
    control.setAttribute("aria-describedby", describedBy);
    wrap.append(label, control);
    if (hint) wrap.append(hint);
    wrap.append(error);
    return wrap;
  }

  function optionOf(view, blockId, value) {
    for (const block of view.blocks || []) {
      if (block.block_id === blockId && block.element) {
        return allOptions(block.element).find((o) => o.value === value) || null;
      }
    }
    return null;
  }

  // Slack's view.state.values, and the required fields left empty (Slack's own check).
  function collectValues(check) {
    const view = currentView();
    const values = {};
    const missing = [];
    for (const field of modal.querySelectorAll(".field")) {
      const blockId = field.dataset.blockId;
      const actionId = field.dataset.actionId;
      const type = field.dataset.type;
      let value;
      let empty = false;
      if (type === "plain_text_input" || type === "number_input") {
        const input = field.querySelector("input, textarea");
        value = { type, value: input.value === "" ? null : input.value };
        empty = input.value.trim() === "";
      } else if (type === "radio_buttons") {
        const picked = field.querySelector("input:checked");
        value = { type, selected_option: picked ? optionOf(view, blockId, picked.value) : null };
        empty = !picked;
      } else if (type === "checkboxes") {
        const picked = [...field.querySelectorAll("input:checked")];
        value = { type, selected_options: picked.map((p) => optionOf(view, blockId, p.value)) };
        empty = picked.length === 0;
      } else if (type === "static_select") {
        const select = field.querySelector("select");
        const option = optionOf(view, blockId, select.value);
        value = { type, selected_option: option };
        empty = !option;
      } else if (type === "multi_static_select") {
        const chosen = [...field.querySelector("select").selectedOptions].map((o) => o.value);
        value = { type, selected_options: chosen.map((v) => optionOf(view, blockId, v)).filter(Boolean) };
        empty = value.selected_options.length === 0;
      } else if (type === "multi_users_select") {
        const chosen = [...field.querySelector("select").selectedOptions].map((o) => o.value);
        value = { type, selected_users: chosen };
        empty = chosen.length === 0;
      } else if (type === "users_select") {
        const chosen = field.querySelector("select").value;
        value = { type, selected_user: chosen || null };
        empty = !chosen;
      } else if (type === "file_input") {
        const files = JSON.parse(field.querySelector("input").dataset.files || "[]");
        value = { type, files };
        empty = files.length === 0;
      } else {
        continue;
      }
      values[blockId] = { [actionId]: value };
      if (check && empty && !field.dataset.optional) missing.push(blockId);
    }
    return { values, missing };
  }

  function showErrors(errors) {
    let first = null;
    for (const field of modal.querySelectorAll(".field")) {
      const message = errors[field.dataset.blockId];
      const error = field.querySelector(".error");
      const control = field.querySelector("input, textarea, select, fieldset");
      error.hidden = !message;
      error.textContent = message || "";
      if (control) {
        if (message) control.setAttribute("aria-invalid", "true");
        else control.removeAttribute("aria-invalid");
      }
      if (message && !first) first = control;
    }
    if (first) first.focus();
  }

  function currentView() {
    const stack = (state && state.views[me]) || [];
    return stack.length ? stack[stack.length - 1] : null;
  }

  function renderModal() {
    const view = currentView();
    const key = view ? me + "/" + view.id + "/" + view.hash : "";
    if (key === shownView) return;
    shownView = key;
    if (!view) {
      if (modal.open) modal.close();
      modal.replaceChildren();
      return;
    }
    pendingUploads = new Map();
    const form = el("form");
    form.noValidate = true;
    const title = el("h2", "", plainText(view.title));
    title.id = "modal-title";
    const body = el("div", "body");
    renderBlocks(view.blocks || [], { kind: "view", view_id: view.id }, body);
    const footer = el("div", "footer");
    const close = el("button", "btn", plainText(view.close) || "Cancel");
    close.type = "button";
    close.addEventListener("click", () => closeView(view));
    footer.append(close);
    if (view.submit) {
      const submit = el("button", "btn btn-primary", plainText(view.submit));
      submit.type = "submit";
      footer.append(submit);
    }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      await Promise.all(pendingUploads.values());
      const { values, missing } = collectValues(true);
      if (missing.length) {
        showErrors(Object.fromEntries(missing.map((b) => [b, "Please complete this required field."])));
        return;
      }
      showErrors({});
      const answer = await api("submit", { view_id: view.id, values });
      if (answer.ok && answer.errors) showErrors(answer.errors);
    });
    form.append(title, body, footer);
    modal.replaceChildren(form);
    if (!modal.open) modal.showModal();
    const first = body.querySelector("input, textarea, select, button");
    if (first) first.focus();
  }

  async function closeView(view) {
    shownView = "";
    modal.close();
    await api("close", { view_id: view.id });
  }

  modal.addEventListener("cancel", (event) => {
    event.preventDefault(); // Esc: close through the playground, so the stack stays right
    const view = currentView();
    if (view) closeView(view);
  });

  // -- the channel ----------------------------------------------------------------------------

  function clock(ts) {
    return new Date(parseFloat(ts) * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function renderEntry(entry, node, place) {
    node.replaceChildren();
    node.className = "msg" + (entry.kind === "ephemeral" ? " ephemeral" : "");
    node.dataset.ts = entry.ts;
    node.dataset.key = entry.key;
    node.dataset.kind = entry.kind;
    node.dataset.edits = String(entry.edits || 0);
    const meta = el("div", "meta");
    const isBot = entry.kind === "ephemeral" || entry.user === state.bot;
    meta.append(el("span", "author", isBot ? "campaign-bot" : nameOf(entry.user)));
    if (isBot) meta.append(el("span", "app-tag", "APP"));
    const time = el("time", "", clock(entry.ts));
    time.dateTime = new Date(parseFloat(entry.ts) * 1000).toISOString();
    meta.append(time);
    if (entry.edits) meta.append(el("span", "edited", "(edited)"));
    node.append(meta);
    if (entry.kind === "ephemeral") node.append(el("p", "only-you", "Only visible to you"));
    const where = place || (entry.kind === "ephemeral"
      ? { kind: "ephemeral", ref: entry.key }
      : { kind: "message", ref: entry.ts });
    const content = el("div", "content");
    if (entry.blocks && entry.blocks.length) renderBlocks(entry.blocks, where, content);
    else content.append(mrkdwn(entry.text || "", el("div", "plain text")));
    for (const file of entry.files || []) {
      content.append(el("div", "file", "📄 " + file.name + " · " + file.size + " bytes"));
    }
    node.append(content);
    if (entry.kind === "message" && entry.user !== state.bot && (entry.files || []).length) {
      node.append(moreMenu(entry));
    }
  }

  function moreMenu(entry) {
    const details = el("details", "more");
    const summary = el("summary", "", "⋯");
    summary.setAttribute("aria-label", "More actions");
    const list = el("ul");
    for (const shortcut of state.shortcuts) {
      const item = el("li");
      const button = el("button", "btn", shortcut.name);
      button.type = "button";
      button.addEventListener("click", async () => {
        details.open = false;
        await api("shortcut", { ts: entry.ts, callback_id: shortcut.callback_id });
      });
      item.append(button);
      list.append(item);
    }
    details.append(summary, list);
    return details;
  }

  function renderTimeline() {
    const nearBottom = timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < 80;
    const seen = new Set();
    let previous = null;
    for (const entry of state.timeline) {
      if (entry.kind === "ephemeral" && entry.user !== me) continue;
      const sig = JSON.stringify(entry);
      let item = rendered.get(entry.key);
      if (!item) {
        item = { node: el("li"), sig: "" };
        rendered.set(entry.key, item);
      }
      if (item.sig !== sig) {
        renderEntry(entry, item.node); // the same element: updated in place
        item.sig = sig;
      }
      const expected = previous ? previous.nextSibling : timeline.firstChild;
      if (expected !== item.node) timeline.insertBefore(item.node, expected);
      previous = item.node;
      seen.add(entry.key);
    }
    for (const [key, item] of rendered) {
      if (!seen.has(key)) {
        item.node.remove();
        rendered.delete(key);
      }
    }
    if (nearBottom) timeline.scrollTop = timeline.scrollHeight;
  }

  // -- the dialer panel -----------------------------------------------------------------------

  function renderDialer() {
    const panel = $("dialer");
    const dialer = state.dialer;
    const parts = [];
    if (!dialer.shown) {
      parts.push(el("p", "", "The dialer is " + dialer.name + "; this panel shows the simulator only."));
      panel.replaceChildren(...parts);
      return;
    }
    if (dialer.error) parts.push(el("p", "error", "The simulator did not answer: " + dialer.error));
    parts.push(el("h3", "", "Campaigns on the dialer"));
    if (!dialer.campaigns.length) {
      parts.push(el("p", "hint", "None yet. Try /campaign new."));
    } else {
      const table = el("table");
      const head = el("tr");
      for (const title of ["Ref", "Name", "Status", "Aggr.", "Contacts", "Calls now", "Done"]) {
        const th = el("th", "", title);
        th.scope = "col";
        head.append(th);
      }
      const thead = el("thead");
      thead.append(head);
      const tbody = el("tbody");
      for (const c of dialer.campaigns) {
        const row = el("tr");
        row.dataset.ref = c.ref || "";
        const counters = c.counters || {};
        row.append(
          el("td", "", c.ref || c.dialer_id), el("td", "", c.name),
          el("td", "status-" + c.status, c.status), el("td", "", String(c.aggression ?? "")),
          el("td", "", String(counters.uploaded ?? 0)), el("td", "calls", String(counters.active ?? 0)),
          el("td", "", String(counters.completed ?? 0)),
        );
        tbody.append(row);
      }
      table.append(thead, tbody);
      const wrap = el("div", "table-wrap");
      wrap.append(table);
      parts.push(wrap);
    }
    parts.push(el("h3", "", "Notifications sent to the bot"));
    const list = el("ol", "notifications");
    list.setAttribute("aria-label", "Dialer notifications, newest first");
    for (const n of dialer.notifications || []) {
      const what = n.kind === "status" ? "status → " + n.status : n.kind;
      list.append(el("li", "", n.at + "  " + (n.ref || "") + "  " + what));
    }
    if (!(dialer.notifications || []).length) list.append(el("li", "hint", "None yet."));
    parts.push(list);
    panel.replaceChildren(...parts);
  }

  // -- banners --------------------------------------------------------------------------------

  function banner(text) {
    localBanners.push({ id: "local-" + Date.now() + "-" + localBanners.length, text });
    renderBanners();
  }

  function renderBanners() {
    const area = $("banners");
    const items = [];
    const refused = (state ? state.refused : []).map((r) => ({
      id: "refused-" + r.id,
      text: "Slack refused " + r.method + ": " + r.error + (r.messages.length ? "\n" + r.messages.join("\n") : ""),
    }));
    for (const item of [...refused, ...localBanners]) {
      if (dismissed.has(item.id)) continue;
      const node = el("div", "banner");
      node.setAttribute("role", "alert");
      node.dataset.id = item.id;
      node.append(el("p", "", item.text));
      const close = el("button", "btn", "Dismiss");
      close.type = "button";
      close.addEventListener("click", () => { dismissed.add(item.id); renderBanners(); });
      node.append(close);
      items.push(node);
    }
    const now = items.map((n) => n.dataset.id).join(",");
    if (area.dataset.ids !== now) {
      area.replaceChildren(...items);
      area.dataset.ids = now;
    }
  }

  // -- people ---------------------------------------------------------------------------------

  function renderPeople() {
    const ids = state.people.map((p) => p.id).join(",");
    if (who.dataset.ids !== ids) {
      who.replaceChildren(...state.people.map((p) => {
        const option = el("option", "", p.name + (p.lead ? " (lead)" : " (not a lead)"));
        option.value = p.id;
        return option;
      }));
      who.dataset.ids = ids;
    }
    if (!state.people.some((p) => p.id === me)) me = state.people[0].id;
    who.value = me;
    const person = state.people.find((p) => p.id === me);
    $("who-role").textContent = person.lead ? "may change campaigns" : "may look, not change";
  }

  who.addEventListener("change", () => {
    me = who.value;
    sessionStorage.setItem("playground-user", me);
    render();
    if (onHome) api("home", {});
  });

  // -- the message box ------------------------------------------------------------------------

  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = $("message");
    const attach = $("attach");
    const text = box.value.trim();
    const file = attach.files[0];
    if (text.startsWith("/") && !file) {
      if (!/^\/campaign(\s|$)/.test(text)) {
        banner(text.split(/\s/)[0] + " is not a command here; this workspace has /campaign.");
        return;
      }
      box.value = "";
      await api("command", { text });
      return;
    }
    if (!text && !file) return;
    let fileId = "";
    if (file) {
      const upload = await fetch("/playground/api/files?name=" + encodeURIComponent(file.name), {
        method: "POST",
        headers: { "X-Playground": "1", "Content-Type": "application/octet-stream" },
        body: file,
      }).then((r) => r.json());
      if (!upload.ok) { banner(upload.error); return; }
      fileId = upload.file.id;
    }
    const answer = await api("post", { text, file_id: fileId });
    if (answer.ok) { box.value = ""; attach.value = ""; }
  });

  // -- everything -----------------------------------------------------------------------------

  // -- the Home tab and direct messages --------------------------------------------------------

  let onHome = false;
  let homeShown = "";
  const directRendered = new Map();

  function renderHome() {
    const home = state.home[me];
    const key = home ? me + "/" + home.hash : me + "/none";
    if (key !== homeShown) {
      homeShown = key;
      const area = $("home");
      if (home) area.replaceChildren(renderBlocks(home.blocks || [], { kind: "home" }, el("div")));
      else area.replaceChildren(el("p", "hint", "Opening the Home tab…"));
    }
    const list = $("direct");
    const messages = state.direct[me] || [];
    const seen = new Set();
    for (const entry of messages) {
      const sig = JSON.stringify(entry);
      let item = directRendered.get(entry.key);
      if (!item) {
        item = { node: el("li"), sig: "" };
        directRendered.set(entry.key, item);
        list.append(item.node);
      }
      if (item.sig !== sig) {
        renderEntry(entry, item.node, { kind: "dm", ref: entry.ts });
        item.sig = sig;
      }
      seen.add(entry.key);
    }
    for (const [key, item] of directRendered) {
      if (!seen.has(key)) { item.node.remove(); directRendered.delete(key); }
    }
    if (!messages.length && !list.querySelector(".hint")) list.append(el("li", "hint", "None."));
    if (messages.length) list.querySelectorAll(".hint").forEach((n) => n.remove());
  }

  function showTab(home) {
    onHome = home;
    $("channel-title").setAttribute("aria-selected", String(!home));
    $("home-tab").setAttribute("aria-selected", String(home));
    $("channel-title").tabIndex = home ? -1 : 0;
    $("home-tab").tabIndex = home ? 0 : -1;
    $("panel-channel").hidden = home;
    $("panel-home").hidden = !home;
    if (home) api("home", {}); // Slack tells the app each time the tab is opened
  }

  $("channel-title").addEventListener("click", () => showTab(false));
  $("home-tab").addEventListener("click", () => showTab(true));
  for (const tab of [$("channel-title"), $("home-tab")]) {
    tab.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
      const other = tab.id === "home-tab" ? $("channel-title") : $("home-tab");
      other.focus();
      showTab(other.id === "home-tab");
    });
  }

  function render() {
    renderPeople();
    renderTimeline();
    renderHome();
    renderModal();
    renderDialer();
    renderBanners();
  }

  function apply(next) {
    state = next;
    $("channel-title").textContent = "# " + state.channel.name;
    $("panel-channel").querySelector("label[for=message]").textContent = "Message #" + state.channel.name;
    render();
    document.body.dataset.ready = "1";
  }

  fetch("/playground/api/state").then((r) => r.json()).then(apply).then(connect);
})();
