// The site's pre-chat form in the start view: its fields and the department choice, as the
// server rendered them into the frame (data-form), checked here first and again by the server
// against the form as it is then. Each field's error is its own role=alert element, named by
// the field's aria-describedby.

import { $ } from "./config.js";
import { t } from "./i18n.js";
import { setError, EMAIL_RE } from "./views.js";

const KINDS = ["text", "email", "phone", "number", "select", "checkbox", "textarea"];

function readForm() {
  try {
    const f = JSON.parse(document.body.dataset.form || "{}");
    return {
      fields: Array.isArray(f.fields) ? f.fields.filter((x) => x && KINDS.includes(x.kind) && /^[a-z0-9_]{1,40}$/.test(x.name)) : [],
      departments: Array.isArray(f.departments) ? f.departments.filter((d) => d && Number.isInteger(d.id)) : [],
    };
  } catch {
    return { fields: [], departments: [] };
  }
}

const form = readForm();

// The department the page asked for (`kontor('department', name)`), by name, lower case.
let wanted = "";

/** Preselects the offered department of this name (case does not matter); others: no change. */
export function preselectDepartment(name) {
  wanted = name.trim().toLowerCase();
  applyWanted();
}

function applyWanted() {
  const sel = $("pf-department");
  const d = wanted && form.departments.find((x) => String(x.name).trim().toLowerCase() === wanted);
  if (sel && d) sel.value = String(d.id);
}

const idOf = (name) => "pf-" + name;
const errOf = (name) => "pf-" + name + "-error";

function labelFor(id, text, required) {
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = text;
  if (required) {
    const mark = document.createElement("span");
    mark.className = "required";
    mark.textContent = " *";
    mark.setAttribute("aria-hidden", "true");
    const sr = document.createElement("span");
    sr.className = "sr";
    sr.textContent = " " + t("widget.form_required");
    label.append(mark, sr);
  }
  return label;
}

function errorFor(name) {
  const p = document.createElement("p");
  p.id = errOf(name);
  p.className = "error";
  p.setAttribute("role", "alert");
  return p;
}

function control(f) {
  let el;
  if (f.kind === "select") {
    el = document.createElement("select");
    const none = document.createElement("option");
    none.value = "";
    none.textContent = t("widget.form_choose");
    el.append(none);
    for (const o of f.options || []) {
      const opt = document.createElement("option");
      opt.value = String(o.value);
      opt.textContent = String(o.label);
      el.append(opt);
    }
  } else if (f.kind === "textarea") {
    el = document.createElement("textarea");
    el.rows = 3;
  } else {
    el = document.createElement("input");
    el.type = { email: "email", phone: "tel", number: "number", checkbox: "checkbox" }[f.kind] || "text";
    if (f.kind === "number") {
      if (Number.isFinite(f.min)) el.min = String(f.min);
      if (Number.isFinite(f.max)) el.max = String(f.max);
    }
  }
  if (f.kind !== "number" && f.kind !== "checkbox" && Number.isFinite(f.max)) el.maxLength = f.max;
  el.id = idOf(f.name);
  el.name = f.name;
  if (f.required) el.setAttribute("aria-required", "true");
  el.setAttribute("aria-describedby", errOf(f.name));
  return el;
}

/** Builds the form's fields and the department choice into the start form. */
export function renderPrechat() {
  const box = $("prechat");
  if (!box) return;
  const parts = [];
  for (const f of form.fields) {
    const el = control(f);
    if (f.kind === "checkbox") {
      const row = document.createElement("div");
      row.className = "check";
      row.append(el, labelFor(el.id, f.label, f.required));
      parts.push(row, errorFor(f.name));
    } else {
      parts.push(labelFor(el.id, f.label, f.required), el, errorFor(f.name));
    }
    el.addEventListener("input", () => setError(errOf(f.name), "", el));
  }
  if (form.departments.length) {
    const sel = document.createElement("select");
    sel.id = "pf-department";
    sel.setAttribute("aria-describedby", "pf-department-error");
    const any = document.createElement("option");
    any.value = "";
    any.textContent = t("widget.form_any_department");
    sel.append(any);
    for (const d of form.departments) {
      const opt = document.createElement("option");
      opt.value = String(d.id);
      opt.textContent = t(d.open ? "widget.department_open" : "widget.department_closed", { name: String(d.name) });
      sel.append(opt);
    }
    parts.push(labelFor("pf-department", t("widget.form_department"), false), sel, errorFor("department"));
  }
  box.replaceChildren(...parts);
  applyWanted();
}

function localError(f, el) {
  const v = f.kind === "checkbox" ? (el.checked ? "yes" : "") : el.value.trim();
  if (!v) return f.required ? t("widget.form_field_required") : "";
  if (f.kind === "email" && !EMAIL_RE.test(v)) return t("widget.email_invalid");
  if (f.kind === "number") {
    const n = Number(v);
    if (!Number.isFinite(n) || (Number.isFinite(f.min) && n < f.min) || (Number.isFinite(f.max) && n > f.max)) {
      return t("widget.form_field_invalid");
    }
  } else if (f.kind !== "checkbox" && f.kind !== "select") {
    if (Number.isFinite(f.min) && [...v].length < f.min) return t("widget.form_too_short", { n: f.min });
  }
  return "";
}

/**
 * The values to send, or null after showing each field's error (the first invalid field gets
 * the focus).
 */
export function collectPrechat() {
  const fields = {};
  let first = null;
  for (const f of form.fields) {
    const el = $(idOf(f.name));
    if (!el) continue;
    const err = localError(f, el);
    setError(errOf(f.name), err, el);
    if (err) {
      first = first || el;
      continue;
    }
    if (f.kind === "checkbox") {
      if (el.checked) fields[f.name] = true;
    } else if (el.value.trim()) {
      fields[f.name] = el.value.trim();
    }
  }
  if (first) {
    first.focus();
    return null;
  }
  const sel = $("pf-department");
  const department = sel && sel.value ? Number(sel.value) : null;
  return { fields, department };
}

/** The server refused values (`invalid_form`): each named field shows why. */
export function showPrechatErrors(errors) {
  let first = null;
  for (const name of Object.keys(errors || {})) {
    const el = $(idOf(name));
    if (!el) continue;
    setError(errOf(name), t("widget.form_field_invalid"), el);
    first = first || el;
  }
  first?.focus();
  return !!first;
}

/** The server refused the department: the choice shows why. */
export function showDepartmentError() {
  const sel = $("pf-department");
  if (!sel) return false;
  setError("pf-department-error", t("widget.form_department_invalid"), sel);
  sel.focus();
  return true;
}
