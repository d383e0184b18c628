// Plain-text tables in the style of the original tool:
//   Num | Username
//   --- + --------------------------------

/** Column alignment. */
export type Align = 'left' | 'right';

/** Formats rows under a header, columns joined by ' | ', the rule by ' + '; trailing spaces trimmed. */
export function formatTable(header: string[], rows: string[][], align: Align[] = []): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (align[i] === 'right' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join(' | ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join(' + '), ...rows.map(line)];
}
