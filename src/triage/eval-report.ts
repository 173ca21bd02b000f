import type { EvalResult, Score } from './evaluate';

/** The evaluation as the plain-text tables `npm run eval` prints. */

function pct(x: number): string {
  return x.toFixed(3);
}

function table(title: string, rows: Score[]): string[] {
  const w = Math.max(12, ...rows.map((r) => r.name.length));
  const out = [title, `${'field'.padEnd(w)}  precision  recall   tp   fp   fn  n`];
  for (const r of rows) {
    out.push(`${r.name.padEnd(w)}  ${pct(r.precision).padStart(9)}  ${pct(r.recall).padStart(6)}  ${String(r.tp).padStart(3)}  ${String(r.fp).padStart(3)}  ${String(r.fn).padStart(3)}  ${r.support}`);
  }
  return out;
}

export function formatEval(r: EvalResult, opts: { mismatches?: boolean } = {}): string {
  const out: string[] = [`Triage evaluation over ${r.messages} labelled messages`, ''];
  out.push(...table('Fields (reports; lists micro-averaged over items; evidence: present = positive)', r.fields), '');
  out.push(...table('Kinds', r.kinds).map((l) => l.replace(/^field/, 'kind ')), '');
  const names = [...new Set([...Object.keys(r.confusion), ...Object.values(r.confusion).flatMap((row) => Object.keys(row))])].sort();
  const w = Math.max(10, ...names.map((n) => n.length));
  out.push('Confusion of kinds (rows: expected, columns: predicted)');
  out.push(`${''.padEnd(w)}  ${names.map((n) => n.padStart(w)).join('  ')}`);
  for (const gold of names) {
    const row = r.confusion[gold] ?? {};
    if (Object.keys(row).length === 0) continue;
    out.push(`${gold.padEnd(w)}  ${names.map((p) => String(row[p] ?? 0).padStart(w)).join('  ')}`);
  }
  out.push('');
  out.push(`Reports classified as support or spam (the costly error): ${r.costly.length}`);
  for (const c of r.costly) out.push(`  ${c.file}: ${c.predicted} (${c.reason})`);
  const t = r.throughput;
  out.push('', `Throughput: ${Math.round(t.perSecond)} messages/s triaged (${t.messages} triages in ${t.seconds.toFixed(3)} s, ${t.repetitions} repetitions); parse: ${Math.round(t.parsePerSecond)} messages/s`);
  if (opts.mismatches && r.mismatches.length > 0) {
    out.push('', `Mismatches (${r.mismatches.length}):`);
    for (const m of r.mismatches) out.push(`  ${m.file} ${m.field}: expected ${JSON.stringify(m.expected)}, got ${JSON.stringify(m.got)}`);
  }
  return out.join('\n');
}
