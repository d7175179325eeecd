// What the statistics page's views share (statistics.js, worktime.js): durations as a clock
// and in words, and the plain data table every chart and list comes with.

import { h } from './dom.js';
import { t, lang, numberFormat } from './i18n.js';
import { captionedTable } from './tables.js';

const pad = (n) => String(n).padStart(2, '0');

/** "02:35", or "1:02:35" from an hour on. */
export function clockText(seconds) {
  const sec = Math.max(0, Math.round(seconds));
  const hours = Math.floor(sec / 3600);
  const mins = Math.floor((sec % 3600) / 60);
  return hours ? `${hours}:${pad(mins)}:${pad(sec % 60)}` : `${pad(mins)}:${pad(sec % 60)}`;
}

/** The same duration in words for screen readers: "2 minutes, 35 seconds". */
export function durationWords(seconds) {
  const sec = Math.max(0, Math.round(seconds));
  const parts = [
    [Math.floor(sec / 3600), 'hour'],
    [Math.floor((sec % 3600) / 60), 'minute'],
    [sec % 60, 'second'],
  ]
    .filter(([v], i, all) => v > 0 || (i === 2 && all.every(([x]) => x === 0)))
    .map(([v, unit]) => numberFormat({ style: 'unit', unit, unitDisplay: 'long' }).format(v));
  try {
    return new Intl.ListFormat(lang, { style: 'long', type: 'unit' }).format(parts);
  } catch {
    return parts.join(', ');
  }
}

/** A plain table: the first column heads each row; without rows, one row says so. */
export function dataTable(key, caption, columns, rows) {
  const none = h('tr', { class: 'stat-none' }, h('td', { colspan: columns.length, class: 'empty', text: t('dashboard.stats.table_empty') }));
  return captionedTable(
    { class: 'data-table stat-table', 'data-table': key },
    caption,
    columns,
    h(
      'tbody',
      {},
      rows.length ? null : none,
      rows.map((r) =>
        h(
          'tr',
          {},
          columns.map((c, i) =>
            i === 0
              ? h('th', { scope: 'row', 'data-col': c.key }, c.cell(r))
              : h('td', { class: c.num ? 'num' : null, 'data-col': c.key }, c.cell(r)),
          ),
        ),
      ),
    ),
  );
}
