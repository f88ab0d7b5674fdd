/** A plain inline-SVG line chart: one or more series over a shared numeric x axis. */

export type Series = { name: string; points: { x: number; y: number }[] };

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2"];

export function LineChart({ title, series, xLabel, width = 420, height = 200 }: { title: string; series: Series[]; xLabel: string; width?: number; height?: number }) {
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (all.length === 0) {
    return (
      <figure className="chart">
        <figcaption>{title}</figcaption>
        <p className="muted">No data yet.</p>
      </figure>
    );
  }
  const pad = { left: 44, right: 10, top: 10, bottom: 28 };
  const xs = all.map((p) => p.x);
  const ys = all.map((p) => p.y);
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const sx = (x: number) => pad.left + ((x - x0) / (x1 - x0)) * (width - pad.left - pad.right);
  const sy = (y: number) => height - pad.bottom - ((y - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);
  const fmt = (v: number) => (Number.isInteger(v) || Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2));
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${title}: ${series.map((s) => s.name).join(", ")} over ${xLabel}`}>
        <line x1={pad.left} y1={height - pad.bottom} x2={width - pad.right} y2={height - pad.bottom} stroke="#888" />
        <line x1={pad.left} y1={pad.top} x2={pad.left} y2={height - pad.bottom} stroke="#888" />
        <text x={4} y={pad.top + 8} fontSize="10">{fmt(y1)}</text>
        <text x={4} y={height - pad.bottom} fontSize="10">{fmt(y0)}</text>
        <text x={pad.left} y={height - 8} fontSize="10">{fmt(x0)}</text>
        <text x={width - pad.right} y={height - 8} fontSize="10" textAnchor="end">{fmt(x1)}</text>
        <text x={(width + pad.left) / 2} y={height - 8} fontSize="10" textAnchor="middle">{xLabel}</text>
        {series.map((s, i) => {
          const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
          const color = COLORS[i % COLORS.length];
          return (
            <g key={s.name}>
              <polyline fill="none" stroke={color} strokeWidth={2} points={pts.map((p) => `${sx(p.x)},${sy(p.y)}`).join(" ")} />
              {pts.map((p) => (
                <circle key={`${p.x}`} cx={sx(p.x)} cy={sy(p.y)} r={2.5} fill={color} />
              ))}
            </g>
          );
        })}
      </svg>
      <ul className="legend">
        {series.map((s, i) => (
          <li key={s.name}>
            <span className="swatch" style={{ background: COLORS[i % COLORS.length] }} aria-hidden="true" /> {s.name}
          </li>
        ))}
      </ul>
    </figure>
  );
}
