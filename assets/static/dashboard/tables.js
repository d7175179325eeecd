// The dashboard's data tables: a caption that only screen readers see, then a row of column
// heads.

import { h } from './dom.js';

/**
 * A column head: a label, or {label, num, hidden, key}: `num` for a column of figures, `hidden`
 * for a label only screen readers need (a column of buttons), `key` the column's `data-col`.
 */
function columnHead(c) {
  const col = typeof c === 'string' ? { label: c } : c;
  const props = { scope: 'col', class: col.num ? 'num' : null, 'data-col': col.key };
  return col.hidden ? h('th', props, h('span', { class: 'vh', text: col.label })) : h('th', { ...props, text: col.label });
}

/** The head row of a table with these columns. */
export function tableHead(columns) {
  return h('thead', {}, h('tr', {}, columns.map(columnHead)));
}

/** A table (`props` on the table element) with a caption for screen readers, its heads and `body`. */
export function captionedTable(props, caption, columns, body) {
  return h('table', props, h('caption', { class: 'vh', text: caption }), tableHead(columns), body);
}

/**
 * The box a wide table scrolls in: a tab stop named `label`, so keyboard users can scroll it
 * (its cells hold nothing focusable) and screen readers announce what it holds (a group, not
 * a landmark: the section around it is the region of that name).
 */
export function scrollBox(label, table) {
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'group', 'aria-label': label }, table);
}
