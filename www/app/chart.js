// The live training chart: loss (left) and accuracy (right) per epoch, train and validation,
// drawn on a canvas that follows the page's colours; its label says the latest values.

const SERIES = [
  { key: "loss", panel: 0, label: "loss", dash: [] },
  { key: "valLoss", panel: 0, label: "validation loss", dash: [5, 4] },
  { key: "accuracy", panel: 1, label: "accuracy", dash: [] },
  { key: "valAccuracy", panel: 1, label: "validation accuracy", dash: [5, 4] },
];

/** Draws `history` (epoch reports) on `canvas`. */
export function drawChart(canvas, history, epochs) {
  const ratio = devicePixelRatio || 1;
  const width = canvas.clientWidth || 300;
  const height = canvas.clientHeight || 140;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  const style = getComputedStyle(canvas);
  const ink = style.color;
  const colors = [style.getPropertyValue("--accent").trim() || "#2b6cb0", style.getPropertyValue("--accent-2").trim() || "#dd6b20"];
  ctx.font = "11px system-ui, sans-serif";
  const panelWidth = width / 2;
  const maxLoss = Math.max(0.1, ...history.flatMap((r) => [r.loss, r.valLoss ?? 0]));
  for (const panel of [0, 1]) {
    const x0 = panel * panelWidth + 28;
    const w = panelWidth - 36;
    const y0 = 14;
    const h = height - 30;
    ctx.strokeStyle = ink;
    ctx.globalAlpha = 0.3;
    ctx.strokeRect(x0, y0, w, h);
    ctx.globalAlpha = 1;
    ctx.fillStyle = ink;
    ctx.fillText(panel === 0 ? "loss" : "accuracy", x0, 10);
    ctx.fillText(panel === 0 ? maxLoss.toFixed(1) : "1", x0 - 24, y0 + 8);
    ctx.fillText("0", x0 - 12, y0 + h);
    ctx.fillText(`epoch ${history.length}/${epochs}`, x0 + w - 70, height - 4);
    SERIES.filter((s) => s.panel === panel).forEach((series, i) => {
      const points = history.map((r, e) => [e, r[series.key]]).filter(([, v]) => v !== null && v !== undefined);
      if (!points.length) return;
      ctx.strokeStyle = colors[i];
      ctx.setLineDash(series.dash);
      ctx.lineWidth = 2;
      ctx.beginPath();
      points.forEach(([e, v], j) => {
        const x = x0 + (epochs > 1 ? (e / (epochs - 1)) * w : 0);
        const y = y0 + h - (panel === 0 ? v / maxLoss : v) * h;
        j === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y);
      });
      ctx.stroke();
      ctx.setLineDash([]);
    });
  }
  const last = history.at(-1);
  canvas.setAttribute("aria-label", last
    ? `Epoch ${history.length} of ${epochs}: loss ${last.loss.toFixed(3)}, accuracy ${(last.accuracy * 100).toFixed(0)} %` +
      (last.valAccuracy != null ? `, validation accuracy ${(last.valAccuracy * 100).toFixed(0)} %` : "")
    : "No training yet");
}
